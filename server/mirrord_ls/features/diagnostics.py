"""Findings to LSP diagnostics (push and pull), and to `check` output.

Serves `textDocument/publishDiagnostics` payloads and `textDocument/diagnostic`
reports; the CLI uses the same conversion so the editor and `check` agree.
"""

from __future__ import annotations

from lsprotocol import types

from mirrord_ls.config.document import LineIndex
from mirrord_ls.findings import Finding

_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


def finding_range(lines: LineIndex, finding: Finding) -> types.Range:
    start = lines.position(finding.start)
    end = lines.position(max(finding.end, finding.start))
    return types.Range(
        start=types.Position(line=start[0], character=start[1]),
        end=types.Position(line=end[0], character=end[1]),
    )


def to_diagnostic(lines: LineIndex, finding: Finding) -> types.Diagnostic:
    return types.Diagnostic(
        range=finding_range(lines, finding),
        message=finding.message,
        severity=_SEVERITY[finding.severity],
        code=finding.code,
        source=finding.source,
        data=finding.data or None,
    )
