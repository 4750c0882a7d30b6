"""Position encodings and line breaks, end to end over stdio (issue 16, "LSP protocol").

Each test negotiates an encoding at `initialize`, then checks every direction a position
travels on a line with non-ASCII text (emoji, CJK, a combining mark): the diagnostic's range
(server -> client), a hover at a cursor (client -> server), the "Rename" quick fix applied
here, client-side, as an editor would (both ways), and an incremental didChange whose range
is in the negotiated unit. The client-side arithmetic below is written independently of the
server's (it encodes each line with Python's codecs).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_session import SERVER_COMMAND, wait_for_diagnostics

CODECS = {"utf-8": ("utf-8", 1), "utf-16": ("utf-16-le", 2), "utf-32": ("utf-32-le", 4)}


def line_starts(text: str) -> list[int]:
    starts = [0]
    for m in re.finditer(r"\r\n|\r|\n", text):
        starts.append(m.end())
    return starts


def units(s: str, encoding: str) -> int:
    codec, width = CODECS[encoding]
    return len(s.encode(codec)) // width


def position(text: str, offset: int, encoding: str) -> types.Position:
    starts = line_starts(text)
    line = max(i for i, s in enumerate(starts) if s <= offset)
    return types.Position(line=line, character=units(text[starts[line] : offset], encoding))


def offset(text: str, pos: types.Position, encoding: str) -> int:
    start = line_starts(text)[pos.line]
    i, counted = start, 0
    while counted < pos.character:
        counted += units(text[i], encoding)
        i += 1
    assert counted == pos.character, "a position in the middle of a character"
    return i


def apply(text: str, edits: Sequence[types.TextEdit], encoding: str) -> str:
    spans = sorted(
        ((offset(text, e.range.start, encoding), offset(text, e.range.end, encoding), e.new_text))
        for e in edits
    )
    for start, end, new in reversed(spans):
        text = text[:start] + new + text[end:]
    return text


@contextlib.asynccontextmanager
async def session(
    offered: list[str] | None, settings: dict[str, Any]
) -> AsyncIterator[tuple[LanguageClient, types.InitializeResult]]:
    lsp = await ClientServerConfig(server_command=SERVER_COMMAND).start()
    assert isinstance(lsp, LanguageClient)
    lsp.set_configuration(settings, section="mirrordLs")
    caps = client_capabilities("visual-studio-code")
    caps.general = types.GeneralClientCapabilities(position_encodings=offered)
    result = await lsp.initialize_session(types.InitializeParams(capabilities=caps))
    try:
        yield lsp, result
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(lsp.shutdown_session(), 10)
        await lsp.stop()


def offline(schema: Path) -> dict[str, Any]:
    return {"cluster": {"enabled": False}, "schema": str(schema)}


def open_text(lsp: LanguageClient, uri: str, text: str) -> None:
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="json", version=1, text=text)
        )
    )


def incremental(
    lsp: LanguageClient, uri: str, version: int, edits: Sequence[types.TextEdit]
) -> None:
    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(range=e.range, text=e.new_text)
                for e in edits
            ],
        )
    )


# Emoji (outside the BMP), CJK, and "e" + a combining acute accent, before everything else.
NON_ASCII = "🙂🙂🙂🙂🙂🙂中e\u0301"
CONFIG = (
    '{"agent": {"labels": {"a": "' + NON_ASCII + '"}, "namespce": "x"},'
    ' "feature": {"network": {}}}\n'
)


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["utf-8", "utf-16"], "utf-8"),
        (["utf-32", "utf-8", "utf-16"], "utf-32"),
        (["utf-16"], "utf-16"),
        (None, "utf-16"),  # nothing offered: the LSP's default
        (["utf-7", "utf-8"], "utf-8"),  # an unknown one is skipped
    ],
    ids=["utf8-first", "utf32-first", "utf16-only", "none-offered", "unknown-then-utf8"],
)
async def test_every_position_in_the_negotiated_encoding(
    tmp_path: Path, reference_schema: Path, offered: list[str] | None, chosen: str
) -> None:
    async with session(offered, offline(reference_schema)) as (lsp, init):
        assert init.capabilities.position_encoding == chosen
        uri = (tmp_path / "mirrord.json").as_uri()
        open_text(lsp, uri, CONFIG)
        diags = await wait_for_diagnostics(
            lsp, uri, lambda d: any(x.code == "unknown-field" for x in d)
        )
        (diag,) = [d for d in diags if d.code == "unknown-field"]
        key = CONFIG.index('"namespce"')
        assert diag.range.start == position(CONFIG, key, chosen)
        assert diag.range.end == position(CONFIG, key + len('"namespce"'), chosen)

        # A cursor from the client: on the first letter of "feature", after the emoji.
        cursor = position(CONFIG, CONFIG.index('"feature"') + 1, chosen)
        hover = await lsp.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=cursor)
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert hover.contents.value.startswith("**`feature`**")

        # Completion at a cursor inside that key: each item replaces up to that cursor.
        inside = position(CONFIG, CONFIG.index('"feature"') + 5, chosen)
        listed = await lsp.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=inside
            )
        )
        assert isinstance(listed, types.CompletionList) and listed.items
        for item in listed.items:
            assert isinstance(item.text_edit, types.TextEdit)
            assert item.text_edit.range.end == inside
            start = offset(CONFIG, item.text_edit.range.start, chosen)  # a whole character
            assert CONFIG.index("}") < start <= CONFIG.index('"feature"') + 5

        # The "Rename" quick fix, applied here as the editor would: the file stays whole.
        actions = await lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=diag.range,
                context=types.CodeActionContext(diagnostics=[diag]),
            )
        )
        (rename,) = [
            a for a in actions or [] if isinstance(a, types.CodeAction) and "Rename" in a.title
        ]
        assert rename.edit is not None and rename.edit.changes is not None
        edits = rename.edit.changes[uri]
        fixed = apply(CONFIG, edits, chosen)
        assert fixed == CONFIG.replace('"namespce"', '"namespace"')

        # The same edit sent back as an incremental change, in the negotiated unit: the
        # server's copy must become the fixed text (so the finding goes away, nothing else
        # appears).
        incremental(lsp, uri, 2, edits)
        await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 0)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
async def test_line_breaks_are_the_lsps(
    tmp_path: Path, reference_schema: Path, encoding: str, newline: str
) -> None:
    """A U+2028 (and U+0085) inside a JSON string is not a line break; lone "\\r" is one."""
    text = newline.join(
        [
            "{",
            '  "agent": {"labels": {"a": "one\u2028two\u0085three ' + NON_ASCII + '"},',
            '    "namespce": "x"},',
            '  "feature": {"network": {}}',
            "}",
            "",
        ]
    )
    async with session([encoding], offline(reference_schema)) as (lsp, _):
        uri = (tmp_path / "mirrord.json").as_uri()
        open_text(lsp, uri, text)
        diags = await wait_for_diagnostics(
            lsp, uri, lambda d: any(x.code == "unknown-field" for x in d)
        )
        (diag,) = [d for d in diags if d.code == "unknown-field"]
        key = text.index('"namespce"')
        assert diag.range.start == position(text, key, encoding)
        assert diag.range.start.line == 2

        # An incremental edit after the U+2028 line: rename the key by hand.
        fix = types.TextEdit(
            range=types.Range(
                start=position(text, key, encoding),
                end=position(text, key + len('"namespce"'), encoding),
            ),
            new_text='"namespace"',
        )
        incremental(lsp, uri, 2, [fix])
        await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 0)

        # And one that adds an unknown field on the last line before "}": its range is
        # where it was typed.
        fixed = apply(text, [fix], encoding)
        end = fixed.rindex("}")
        insert = types.TextEdit(
            range=types.Range(
                start=position(fixed, end, encoding), end=position(fixed, end, encoding)
            ),
            new_text=', "oprator": true' + newline,
        )
        incremental(lsp, uri, 3, [insert])
        diags = await wait_for_diagnostics(lsp, uri, lambda d: len(d) > 0)
        final = apply(fixed, [insert], encoding)
        (diag,) = [d for d in diags if d.code == "unknown-field"]
        assert diag.range.start == position(final, final.index('"oprator"'), encoding)
