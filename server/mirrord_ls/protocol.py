"""mirrord-ls's own protocol, typed once: the custom notifications and the commands.

- `mirrord/status` (server → client): `Status`, the status-bar view of the
  active config. Its first fields follow rust-analyzer's
  `experimental/serverStatus` (`health`, `quiescent`, `message`), which
  several clients already know how to render.
- `mirrord/activeDocument` (client → server): `ActiveDocumentParams`.
- `mirrord/logLevel` (client → server): `LogLevelParams`, so the server's log
  follows the level of the client's log view.
- `workspace/executeCommand` arguments and results of the `mirrord-ls.*`
  commands.

`editors/vscode/src/protocol.ts` mirrors these types; both sides are tested
against one JSON fixture (`tests/fixtures/protocol.json`).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import attrs
import cattrs

STATUS = "mirrord/status"
ACTIVE_DOCUMENT = "mirrord/activeDocument"
LOG_LEVEL = "mirrord/logLevel"
STATUS_CAPABILITY = "mirrordStatus"
"""`experimental.mirrordStatus: true` in the client's capabilities: it renders `Status`."""

RECHECK = "mirrord-ls.recheck"
SHOW_STATUS = "mirrord-ls.showStatus"
SWITCH_CONTEXT = "mirrord-ls.switchContext"
ROLE_BINDING = "mirrord-ls.roleBinding"
AGENT_ROLE = "mirrord-ls.agentRole"

Health = Literal["ok", "warning", "error"]


@attrs.frozen
class Status:
    """Params of `mirrord/status`, and the result of `mirrord-ls.showStatus`."""

    health: Health
    quiescent: bool
    """No check is running or pending (rust-analyzer's `quiescent`)."""
    message: str
    """A few words, e.g. "operator forbidden"."""
    busy: bool
    """A cluster check is running."""
    tooltip: str
    """Markdown."""
    configCount: int
    """mirrord configs the server knows of in the workspace."""
    context: str | None = None
    server: str | None = None
    """The cluster's API URL."""
    operator: str | None = None
    """The verdict kind, e.g. "forbidden"."""
    checkedAt: str | None = None
    """ISO time of the last cluster check."""
    document: str | None = None
    """URI of the config the status is about."""
    contexts: list[str] = attrs.field(factory=list)
    """The contexts of that config's kubeconfig (the context switcher lists them)."""


@attrs.frozen
class ActiveDocumentParams:
    uri: str | None = None


LogLevel = Literal["trace", "debug", "info", "warning", "error", "off"]


@attrs.frozen
class LogLevelParams:
    level: str | None = None
    """One of trace, debug, info, warning, error, off."""


@attrs.frozen
class DocumentArgs:
    """Arguments of `recheck`, `showStatus` and `roleBinding`: which config (default: all,
    or the active one)."""

    uri: str | None = None


@attrs.frozen
class AgentRoleArgs:
    """Arguments of `agentRole` (from an `agent-forbidden` finding's data)."""

    uri: str | None = None
    namespace: str | None = None
    variant: str | None = None
    user: str | None = None


@attrs.frozen
class AgentRoleResult:
    """The result of `agentRole`: the YAML (a Role and its RoleBinding) or why not."""

    yaml: str | None = None
    namespace: str | None = None
    user: str | None = None
    path: str | None = None
    role: dict[str, Any] | None = None
    roleBinding: dict[str, Any] | None = None
    error: str | None = None


@attrs.frozen
class SwitchContextArgs:
    uri: str | None = None
    context: str | None = None


@attrs.frozen
class SwitchContextResult:
    applied: bool
    reason: str | None = None


@attrs.frozen
class RoleBindingResult:
    yaml: str | None = None
    user: str | None = None
    userFrom: str | None = None
    path: str | None = None
    docs: str | None = None
    error: str | None = None


converter = cattrs.Converter(omit_if_default=False, forbid_extra_keys=False)
T = TypeVar("T")


def plain(value: Any) -> Any:
    """pygls hands unknown params over as named tuples: back to JSON-like values."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def parse(raw: Any, cls: type[T]) -> T:
    """Params or a command argument as `cls`: a field of the wrong type is left at its
    default (a client's mistake never fails a command). For classes whose fields all
    have defaults."""
    data = plain(raw)
    if not isinstance(data, dict):
        data = {}
    kept = {
        f.name: data[f.name]
        for f in attrs.fields(cls)  # type: ignore[arg-type]
        if f.name in data and _fits(str(f.type), data[f.name])
    }
    return converter.structure(kept, cls)


def _fits(annotation: str, value: Any) -> bool:
    # cattrs would turn 1 into "1" and "yes" into True; a protocol value must have its type.
    kinds = {part.strip() for part in annotation.split("|")}
    if value is None:
        return "None" in kinds
    if isinstance(value, bool):
        return "bool" in kinds
    if isinstance(value, str):
        return "str" in kinds or "Health" in kinds
    if isinstance(value, int):
        return "int" in kinds
    if isinstance(value, list):
        return any(k.startswith("list") for k in kinds)
    return False


def first_arg(args: tuple[Any, ...], cls: type[T]) -> T:
    """The first `workspace/executeCommand` argument as `cls`."""
    return parse(args[0] if args else None, cls)


def to_json(value: Any) -> Any:
    return converter.unstructure(value)
