"""The `mirrord/status` notification: the editor's status-bar view of the active config.

The shape is `protocol.Status` (documented in the README). Pure: built from the
findings and cluster facts of one document, and whether work is pending.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mirrord_ls.findings import Finding
from mirrord_ls.protocol import Health, Status

if TYPE_CHECKING:
    from mirrord_ls.cluster.service import ClusterFacts

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
    facts: ClusterFacts | None,
    busy: bool,
    config_count: int,
    quiescent: bool | None = None,
) -> Status:
    health: Health = "ok"
    for f in findings:
        level: Health = (
            "error" if f.severity == "error" else ("warning" if f.severity == "warning" else "ok")
        )
        if _RANK[level] > _RANK[health]:
            health = level
    verdict = facts.verdict if facts is not None else None
    context = facts.context if facts is not None else None
    server = facts.server if facts is not None else None
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
    return Status(
        health=health,
        quiescent=not busy if quiescent is None else quiescent,
        message=message,
        busy=busy,
        tooltip="\n\n".join(lines),
        configCount=config_count,
        context=context,
        server=server,
        operator=verdict.kind if verdict is not None else None,
        checkedAt=verdict.checked_at.isoformat(timespec="seconds") if verdict else None,
        document=uri,
        contexts=list(facts.contexts) if facts is not None else [],
    )
