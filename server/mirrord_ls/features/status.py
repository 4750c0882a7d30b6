"""The `mirrord/status` notification: the editor's status-bar view of the active config.

Shape (documented in the README):

    {"health": "ok"|"warning"|"error", "busy": bool, "message": str,
     "context": str|None, "server": str|None, "operator": str|None,
     "checkedAt": str|None, "tooltip": str (markdown), "document": str|None,
     "configCount": int, "contexts": [str]}

Pure: built from the findings and cluster facts of one document.
"""

from __future__ import annotations

from typing import Any

from mirrord_ls.findings import Finding

SHORT = {
    "installed": "operator ready",
    "forbidden": "operator forbidden",
    "not-installed": "no operator",
    "check-failed": "operator check failed",
    "unreachable": "cluster unreachable",
    "tls-error": "cluster TLS error",
    "auth-failed": "cluster auth failed",
    "disabled": "operator off",
}
_RANK = {"ok": 0, "warning": 1, "error": 2}


def build_status(
    *,
    uri: str | None,
    findings: list[Finding],
    facts: Any,
    busy: bool,
    config_count: int,
) -> dict[str, Any]:
    health = "ok"
    for f in findings:
        level = {"error": "error", "warning": "warning"}.get(f.severity, "ok")
        if _RANK[level] > _RANK[health]:
            health = level
    verdict = getattr(facts, "verdict", None)
    context = getattr(facts, "context", None)
    server = getattr(facts, "server", None)
    cluster_codes = [f.code for f in findings if f.source.endswith("(cluster)")]
    if verdict is not None:
        message = SHORT.get(verdict.kind, verdict.kind)
    elif cluster_codes:
        message = cluster_codes[0].replace("-", " ")
    elif uri is None:
        message = "no mirrord config open"
    elif busy:
        message = "checking the cluster"
    else:
        message = "config checked"
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = sum(1 for f in findings if f.severity == "warning")
    lines = ["**mirrord-ls**", ""]
    if context:
        lines.append(f"Context: `{context}`" + (f" ({server})" if server else ""))
    if verdict is not None:
        lines.append(f"Operator: {verdict.detail}")
        if verdict.operator and verdict.operator.version:
            lines.append(f"Operator version: {verdict.operator.version}")
        lines.append(f"Checked: {verdict.checked_at.isoformat(timespec='seconds')}")
    for f in findings:
        if f.source.endswith("(cluster)"):
            lines.append(f"- {f.severity}: {f.message}")
    lines.append(f"Findings in this config: {errors} errors, {warnings} warnings")
    return {
        "health": health,
        "busy": busy,
        "message": message,
        "context": context,
        "server": server,
        "operator": verdict.kind if verdict is not None else None,
        "checkedAt": verdict.checked_at.isoformat(timespec="seconds") if verdict else None,
        "tooltip": "\n\n".join(lines),
        "document": uri,
        "configCount": config_count,
        "contexts": list(getattr(facts, "contexts", ()) or ()),
    }
