"""The one conversion from the project's own results to LSP types.

Everything below the server speaks in file offsets (`Finding`, completion
`Item`, quick-fix `Action`, edits as `(start, end, text)`); this module turns
them into LSP positions (0-based lines, UTF-16 characters, through
`LineIndex`) and LSP objects. `check --format json` prints the same shape
through `finding_json`, so the editor and the terminal agree to the character.

lsprotocol is imported only by the functions that build its types: `check`
never pays for it (it costs about half a second to import).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mirrord_ls.config.document import LineIndex
from mirrord_ls.findings import Finding

if TYPE_CHECKING:
    from lsprotocol import types

    from mirrord_ls.features.code_actions import Action
    from mirrord_ls.features.completion import Item

Edit = tuple[int, int, str]
LinePosition = tuple[int, int]


def positions(lines: LineIndex, start: int, end: int) -> tuple[LinePosition, LinePosition]:
    """Offsets -> (line, UTF-16 character) pairs; an end before the start is the start."""
    return lines.position(start), lines.position(max(end, start))


def offsets(lines: LineIndex, start: LinePosition, end: LinePosition) -> tuple[int, int]:
    """LSP positions back to offsets (a client's diagnostic range, for code actions)."""
    return lines.offset(*start), lines.offset(*end)


def range_json(lines: LineIndex, start: int, end: int) -> dict[str, Any]:
    (sl, sc), (el, ec) = positions(lines, start, end)
    return {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}


def finding_json(lines: LineIndex, finding: Finding) -> dict[str, Any]:
    """The `check --format json` entry: an LSP diagnostic's range, severity in words."""
    return {
        "range": range_json(lines, finding.start, finding.end),
        "severity": finding.severity,
        "code": finding.code,
        "source": finding.source,
        "message": finding.message,
    }


# -- LSP objects ----------------------------------------------------------------------------


def to_position(position: LinePosition) -> types.Position:
    from lsprotocol import types

    return types.Position(line=position[0], character=position[1])


def to_range(lines: LineIndex, start: int, end: int) -> types.Range:
    from lsprotocol import types

    first, last = positions(lines, start, end)
    return types.Range(start=to_position(first), end=to_position(last))


def _severity(severity: str) -> types.DiagnosticSeverity:
    from lsprotocol import types

    return {
        "error": types.DiagnosticSeverity.Error,
        "warning": types.DiagnosticSeverity.Warning,
        "information": types.DiagnosticSeverity.Information,
        "hint": types.DiagnosticSeverity.Hint,
    }[severity]


def to_diagnostic(lines: LineIndex, finding: Finding) -> types.Diagnostic:
    from lsprotocol import types

    return types.Diagnostic(
        range=to_range(lines, finding.start, finding.end),
        message=finding.message,
        severity=_severity(finding.severity),
        code=finding.code,
        source=finding.source,
        data=finding.data or None,
    )


def to_diagnostics(lines: LineIndex, findings: Iterable[Finding]) -> list[types.Diagnostic]:
    return [to_diagnostic(lines, f) for f in findings]


def to_text_edit(lines: LineIndex, edit: Edit) -> types.TextEdit:
    from lsprotocol import types

    return types.TextEdit(range=to_range(lines, edit[0], edit[1]), new_text=edit[2])


def to_markdown_hover(markdown: str) -> types.Hover:
    from lsprotocol import types

    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))


def to_completion_list(
    lines: LineIndex, items: Sequence[Item], cursor: int, incomplete: bool
) -> types.CompletionList:
    """Each item replaces from where its word starts up to the cursor."""
    from lsprotocol import types

    end = to_position(lines.position(cursor))
    out: list[types.CompletionItem] = []
    for item in items:
        out.append(
            types.CompletionItem(
                label=item.label,
                kind=types.CompletionItemKind.Property
                if item.kind == "field"
                else types.CompletionItemKind.Value,
                detail=item.detail,
                documentation=types.MarkupContent(
                    kind=types.MarkupKind.Markdown, value=item.documentation
                )
                if item.documentation
                else None,
                text_edit=types.TextEdit(
                    range=types.Range(start=to_position(lines.position(item.start)), end=end),
                    new_text=item.insert,
                ),
                filter_text=item.insert.strip('"'),
                sort_text=f"{len(out):04d}",
            )
        )
    return types.CompletionList(is_incomplete=incomplete, items=out)


def to_code_actions(
    lines: LineIndex, uri: str, actions: Iterable[Action]
) -> list[types.CodeAction]:
    from lsprotocol import types

    result = []
    for action in actions:
        edit = None
        if action.edits:
            edit = types.WorkspaceEdit(
                changes={uri: [to_text_edit(lines, e) for e in action.edits]}
            )
        command = None
        if action.command is not None:
            command = types.Command(
                title=action.title, command=action.command[0], arguments=action.command[1]
            )
        result.append(
            types.CodeAction(
                title=action.title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[action.diagnostic] if action.diagnostic is not None else None,
                edit=edit,
                command=command,
                is_preferred=action.preferred or None,
            )
        )
    return result


def to_versioned_edit(
    lines: LineIndex, uri: str, version: int | None, edits: Iterable[Edit]
) -> types.WorkspaceEdit:
    """A workspace edit bound to the document version it was computed on."""
    from lsprotocol import types

    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=uri, version=version
                ),
                edits=[to_text_edit(lines, e) for e in edits],
            )
        ]
    )
