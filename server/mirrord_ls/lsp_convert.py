"""The one conversion from the project's own results to LSP types.

Everything below the server speaks in file offsets (`Finding`, completion
`Item`, quick-fix `Action`, edits as `(start, end, text)`); this module turns
them into LSP positions and LSP objects, through `Positions`: 0-based lines cut
at "\n", "\r\n" and "\r" (the LSP's line breaks, not `str.splitlines`'s), and
characters counted in the position encoding negotiated at `initialize`
(UTF-16 code units unless the client offered UTF-8 or UTF-32). `check --format
json` prints the same shape through `finding_json` (always UTF-16), so the
editor and the terminal agree to the character.

lsprotocol is imported only by the functions that build its types: `check`
never pays for it (it costs about half a second to import).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from mirrord_ls.config.document import LineIndex
from mirrord_ls.findings import Finding

if TYPE_CHECKING:
    from lsprotocol import types

    from mirrord_ls.features.code_actions import Action
    from mirrord_ls.features.completion import Item

Edit = tuple[int, int, str]
LinePosition = tuple[int, int]
Encoding = Literal["utf-16", "utf-8", "utf-32"]
ENCODINGS: tuple[Encoding, ...] = ("utf-16", "utf-8", "utf-32")

# The LSP's line breaks, and only these: `str.splitlines` also breaks on U+2028, U+0085,
# form feed and more, which a client does not count as lines (every later range would move).
_BREAK = re.compile(r"\r\n|\r|\n")


def line_texts(text: str) -> tuple[str, ...]:
    """`text` cut into lines at the LSP's breaks, each keeping its own break."""
    starts = [0, *(m.end() for m in _BREAK.finditer(text))]
    return tuple(text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True))


def encoding_of(name: object) -> Encoding:
    """The negotiated `positionEncoding` as one of ours (UTF-16, the LSP default, otherwise)."""
    return next((e for e in ENCODINGS if e == str(name)), "utf-16")


def _width(char: str, encoding: Encoding) -> int:
    """Code units of one character in `encoding`."""
    if encoding == "utf-32":
        return 1
    code = ord(char)
    if encoding == "utf-16":
        return 2 if code > 0xFFFF else 1
    return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4


def _units(segment: str, encoding: Encoding) -> int:
    if encoding == "utf-32" or segment.isascii():
        return len(segment)
    if encoding == "utf-16":
        return len(segment) + sum(1 for c in segment if ord(c) > 0xFFFF)
    return len(segment.encode("utf-8", "surrogatepass"))


class Positions:
    """String offsets <-> LSP positions of one text in one position encoding."""

    def __init__(self, text: str, encoding: Encoding = "utf-16") -> None:
        self.text = text
        self.encoding: Encoding = encoding
        self._starts = [0, *(m.end() for m in _BREAK.finditer(text))]

    def line_end(self, line: int) -> int:
        """Where the line's text ends (before its break)."""
        if line + 1 < len(self._starts):
            nxt = self._starts[line + 1]
            return nxt - 2 if self.text.startswith("\r\n", nxt - 2) else nxt - 1
        return len(self.text)

    def position(self, offset: int) -> LinePosition:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._starts, offset) - 1
        # An offset inside a line break (between "\r" and "\n") is the end of its line.
        end = min(offset, self.line_end(line))
        return line, _units(self.text[self._starts[line] : end], self.encoding)

    def offset(self, line: int, character: int) -> int:
        """A client's position back to an offset; a character past the line's end (or in
        the middle of a character) is clamped to it, never into the next line."""
        if line < 0:
            return 0
        if line >= len(self._starts):
            return len(self.text)
        i, end = self._starts[line], self.line_end(line)
        units = 0
        while i < end and units < character:
            units += _width(self.text[i], self.encoding)
            i += 1
        return i


@functools.lru_cache(maxsize=64)
def positions_of(text: str, encoding: Encoding = "utf-16") -> Positions:
    """The (cached) `Positions` of a text: a publish, a pull and a code action on the same
    text share one."""
    return Positions(text, encoding)


def _index(lines: Positions | LineIndex) -> Positions:
    return lines if isinstance(lines, Positions) else positions_of(lines.text)


def positions(lines: Positions, start: int, end: int) -> tuple[LinePosition, LinePosition]:
    """Offsets -> (line, character) pairs; an end before the start is the start."""
    return lines.position(start), lines.position(max(end, start))


def offsets(lines: Positions, start: LinePosition, end: LinePosition) -> tuple[int, int]:
    """LSP positions back to offsets (a client's diagnostic range, for code actions)."""
    return lines.offset(*start), lines.offset(*end)


def range_json(lines: Positions | LineIndex, start: int, end: int) -> dict[str, Any]:
    (sl, sc), (el, ec) = positions(_index(lines), start, end)
    return {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}


def finding_json(lines: Positions | LineIndex, finding: Finding) -> dict[str, Any]:
    """The `check --format json` entry: an LSP diagnostic's range (UTF-16, the LSP's
    default), severity in words, and the diagnostic's `data` as the LSP carries it."""
    out: dict[str, Any] = {
        "range": range_json(lines, finding.start, finding.end),
        "severity": finding.severity,
        "code": finding.code,
        "source": finding.source,
        "message": finding.message,
    }
    if finding.data:
        out["data"] = finding.data
    return out


# -- LSP objects ----------------------------------------------------------------------------


def to_position(position: LinePosition) -> types.Position:
    from lsprotocol import types

    return types.Position(line=position[0], character=position[1])


def to_range(lines: Positions, start: int, end: int) -> types.Range:
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


def to_diagnostic(lines: Positions, finding: Finding) -> types.Diagnostic:
    from lsprotocol import types

    return types.Diagnostic(
        range=to_range(lines, finding.start, finding.end),
        message=finding.message,
        severity=_severity(finding.severity),
        code=finding.code,
        source=finding.source,
        data=finding.data or None,
    )


def to_diagnostics(lines: Positions, findings: Iterable[Finding]) -> list[types.Diagnostic]:
    return [to_diagnostic(lines, f) for f in findings]


def to_text_edit(lines: Positions, edit: Edit) -> types.TextEdit:
    from lsprotocol import types

    return types.TextEdit(range=to_range(lines, edit[0], edit[1]), new_text=edit[2])


def to_markdown_hover(markdown: str) -> types.Hover:
    from lsprotocol import types

    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))


def to_completion_list(
    lines: Positions, items: Sequence[Item], cursor: int, incomplete: bool
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
    lines: Positions, uri: str, actions: Iterable[Action]
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
    lines: Positions, uri: str, version: int | None, edits: Iterable[Edit]
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
