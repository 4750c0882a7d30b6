"""What a check finds, before it becomes an LSP diagnostic or a line of `check` output.

Config checks and cluster checks both produce :class:`Finding` objects with
offsets into the file as written; `features/diagnostics.py` turns them into
LSP diagnostics and the CLI prints them. No LSP types here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "information", "hint"]

# Every code mirrord-ls can publish, with its meaning (the README table is built from this).
CODES: dict[str, str] = {
    "syntax": "The file cannot be read as JSON, TOML or YAML; mirrord would refuse it.",
    "template": "A Tera template in the file cannot be rendered (mirrord renders before parsing).",
    "unknown-field": "A field mirrord does not know; mirrord rejects unknown fields anywhere.",
    "invalid-value": "A value of the wrong type, outside the allowed values, or malformed.",
    "missing-field": "A field the schema requires is absent.",
    "deprecated": "A field mirrord still reads but has deprecated.",
    "kubeconfig-not-found": "The kubeconfig mirrord would use does not exist.",
    "kubeconfig-invalid": "The kubeconfig cannot be read or is malformed.",
    "context-not-found": "The kube context named does not exist in the kubeconfig.",
    "operator-forbidden": "The operator is installed, but RBAC forbids you to use it.",
    "operator-not-installed": "The mirrord operator is not installed in the cluster.",
    "operator-check-failed": "The operator's API answered with an error: mirrord cannot tell.",
    "cluster-unreachable": "The cluster's API server cannot be reached.",
    "cluster-tls-error": "The TLS connection to the API server failed.",
    "cluster-auth-failed": "The cluster rejected the credentials, or none could be obtained.",
    "target-not-found": "The target does not exist in its namespace (closest names given).",
    "target-container-not-found": "The target has no container of that name.",
    "target-requires-operator": "This kind of target needs the operator, which is off or absent.",
    "target-forbidden": "You may not read the target's workload, so it cannot be checked.",
    "untrusted-credential-plugin": "A workspace kubeconfig names a program mirrord-ls won't run.",
}


@dataclass(slots=True)
class Finding:
    code: str
    severity: Severity
    start: int
    end: int
    message: str
    source: str = "mirrord-ls"
    data: dict[str, Any] = field(default_factory=dict)


def finding_json(lines: Any, finding: Finding) -> dict[str, Any]:
    """The `check --format json` shape: LSP positions (0-based, UTF-16), severity in words.

    `lines` is a `config.document.LineIndex`; no LSP library is needed (keeps `check` fast).
    """
    start = lines.position(finding.start)
    end = lines.position(max(finding.end, finding.start))
    out: dict[str, Any] = {
        "range": {
            "start": {"line": start[0], "character": start[1]},
            "end": {"line": end[0], "character": end[1]},
        },
        "severity": finding.severity,
        "code": finding.code,
        "source": finding.source,
        "message": finding.message,
    }
    if finding.data:  # as the LSP diagnostic carries it (`features/diagnostics.py`)
        out["data"] = finding.data
    return out
