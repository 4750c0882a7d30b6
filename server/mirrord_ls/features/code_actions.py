"""`textDocument/codeAction`: a quick fix for each verdict mirrord-ls can resolve.

Pure: (analysis, the diagnostics in the request, cluster facts) -> actions
as titles with edits or a command. Nothing is written until the user picks
one; the RoleBinding action only shows text for an admin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mirrord_ls.config.analyze import Analysis
from mirrord_ls.features.edits import Edit, remove_field, rename_key, replace_value

MAX_CONTEXTS = 12


@dataclass
class Action:
    title: str
    edits: list[Edit] = field(default_factory=list)
    command: tuple[str, list[Any]] | None = None
    preferred: bool = False
    diagnostic: Any = None


def _code(diagnostic: Any) -> str:
    return str(getattr(diagnostic, "code", "") or "")


def _data(diagnostic: Any) -> dict[str, Any]:
    data = getattr(diagnostic, "data", None)
    if isinstance(data, dict):
        return data
    as_dict = getattr(data, "_asdict", None)
    if callable(as_dict):
        return dict(as_dict())
    return {}


def actions_for(
    analysis: Analysis,
    diagnostics: list[Any],
    facts: Any,
    uri: str,
    diagnostic_offsets: list[tuple[int, int]],
) -> list[Action]:
    out: list[Action] = []
    for diagnostic, (start, end) in zip(diagnostics, diagnostic_offsets, strict=True):
        code = _code(diagnostic)
        data = _data(diagnostic)
        if code == "unknown-field" and data.get("suggestion"):
            out.append(
                Action(
                    f'Rename to "{data["suggestion"]}"',
                    [rename_key(analysis, start, end, str(data["suggestion"]))],
                    preferred=True,
                    diagnostic=diagnostic,
                )
            )
        elif code == "context-not-found" and facts is not None:
            for context in list(getattr(facts, "contexts", ()))[:MAX_CONTEXTS]:
                edit = replace_value(analysis, ("kube_context",), context)
                if edit:
                    out.append(Action(f"Use context {context}", [edit], diagnostic=diagnostic))
        elif code == "operator-not-installed" and analysis.value(("operator",)) is True:
            edit = replace_value(analysis, ("operator",), False)
            if edit:
                out.append(
                    Action("Set operator to false", [edit], preferred=True, diagnostic=diagnostic)
                )
            removal = remove_field(analysis, ("operator",))
            if removal:
                out.append(
                    Action(
                        "Remove operator (try it, run without)", [removal], diagnostic=diagnostic
                    )
                )
        elif code in ("target-not-found", "target-container-not-found"):
            target_path = ("target", "path") if analysis.field(("target", "path")) else ("target",)
            current = analysis.value(target_path)
            if not isinstance(current, str):
                continue
            for suggestion in data.get("suggestions") or []:
                if code == "target-not-found":
                    kind, _, rest = current.partition("/")
                    _, sep, container = rest.partition("/container/")
                    new = f"{kind}/{suggestion}" + (f"/container/{container}" if sep else "")
                else:
                    new = current.rsplit("/container/", 1)[0] + f"/container/{suggestion}"
                edit = replace_value(analysis, target_path, new)
                if edit:
                    out.append(Action(f"Use {new}", [edit], diagnostic=diagnostic))
        elif code in ("operator-forbidden", "certificate-forbidden", "session-forbidden"):
            # The fix for each is the same binding of `mirrord-operator-user` (issue 13).
            out.append(
                Action(
                    "Copy the RoleBinding for your admin",
                    command=("mirrord-ls.roleBinding", [{"uri": uri}]),
                    diagnostic=diagnostic,
                )
            )
        elif code == "agent-forbidden" and data.get("user") and data.get("namespace"):
            # The Role + RoleBinding of cluster/preflight/agent_rbac.role_fix, for one user.
            args = {k: data.get(k) for k in ("namespace", "variant", "user")}
            out.append(
                Action(
                    f"Copy the Role and RoleBinding for {data['namespace']} for your admin",
                    command=("mirrord-ls.agentRole", [{"uri": uri, **args}]),
                    diagnostic=diagnostic,
                )
            )
    return out
