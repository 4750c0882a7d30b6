"""Typed settings (`mirrordLs.*`), read through `workspace/configuration`.

Invalid values never crash the server: each bad field is reported in words
and replaced by its default, the rest of the settings are kept. Each
workspace folder may have its own (`ScopedSettings`: the section is asked once
without a scope and once per folder, with its `scopeUri`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import attrs
import cattrs
import cattrs.errors

JsonSchemaMode = Literal["auto", "on", "off"]


@attrs.frozen
class ClusterSettings:
    enabled: bool = True
    """Ask the cluster about the operator (and later, targets)."""
    timeoutSeconds: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    """Upper bound on one whole cluster check."""
    recheckSeconds: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))
    """Period of the background re-check; 0 turns it off."""


@attrs.frozen
class SchemaDiagnostics:
    json: JsonSchemaMode = "auto"
    """'auto' drops schema findings on JSON files when the official mirrord extension
    (which validates `*mirrord.json` itself) is installed."""


@attrs.frozen
class Settings:
    schema: str = ""
    """Path or URL of the schema to use instead of mirrord's published one."""
    cluster: ClusterSettings = ClusterSettings()
    trustWorkspaceKubeconfigs: bool = False
    """Run exec credential plugins from kubeconfigs inside the workspace."""
    schemaDiagnostics: SchemaDiagnostics = SchemaDiagnostics()
    officialExtensionInstalled: bool | None = None
    """Not a user setting: the VS Code client adds it to the section it answers, and
    updates it live (None: not said; the initialization option then counts)."""


_converter = cattrs.Converter(forbid_extra_keys=False)
for _cls in (ClusterSettings, SchemaDiagnostics, Settings):
    attrs.resolve_types(_cls, globals(), locals())


def _structure_strict(value: Any, cls: type) -> Any:
    # cattrs would happily turn "yes" into True via bool(); settings deserve better.
    fields = attrs.fields(cls)
    kwargs: dict[str, Any] = {}
    problems: list[str] = []
    if not isinstance(value, dict):
        return cls(), [f"expected an object, found {type(value).__name__}"]
    for f in fields:
        if f.name not in value or value[f.name] is None:
            continue
        raw = value[f.name]
        if isinstance(f.type, type) and attrs.has(f.type):
            sub, sub_problems = _structure_strict(raw, f.type)
            kwargs[f.name] = sub
            problems += [f"{f.name}.{p}" for p in sub_problems]
            continue
        try:
            if f.type in (bool, bool | None) and not isinstance(raw, bool):
                raise TypeError("expected true or false")
            if f.type is float and (isinstance(raw, bool) or not isinstance(raw, int | float)):
                raise TypeError("expected a number")
            if f.type is str and not isinstance(raw, str):
                raise TypeError("expected a string")
            candidate = _converter.structure(raw, f.type)
            attrs.evolve(cls(), **{f.name: candidate})  # runs the field's validator
            kwargs[f.name] = candidate
        except (TypeError, ValueError, cattrs.errors.CattrsError) as exc:
            problems.append(f"{f.name}: {raw!r} is not valid ({exc}); using {f.default!r}")
    return cls(**kwargs), problems


def parse_settings(raw: Any) -> tuple[Settings, list[str]]:
    """Settings from the client's `mirrordLs` section, and the problems found in it."""
    if raw is None:
        return Settings(), []
    settings, problems = _structure_strict(raw, Settings)
    return settings, [f"mirrordLs.{p}" for p in problems]


class ScopedSettings:
    """The settings of the workspace, and of each folder that has its own."""

    def __init__(self, default: Settings | None = None) -> None:
        self.default = default or Settings()
        self.folders: dict[Path, Settings] = {}

    def for_path(self, path: Path | None) -> Settings:
        """The settings of the innermost folder holding `path`, else the workspace's."""
        best: Path | None = None
        if path is not None:
            for folder in self.folders:
                if path.is_relative_to(folder) and (
                    best is None or len(folder.parts) > len(best.parts)
                ):
                    best = folder
        return self.folders[best] if best is not None else self.default
