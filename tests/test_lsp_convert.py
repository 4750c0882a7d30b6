"""`lsp_convert.Positions`: the LSP's line breaks and the three position encodings, and the
`check --format json` ranges (always UTF-16) on a file with lone "\\r" endings."""

from __future__ import annotations

import pytest

from mirrord_ls.config.document import LineIndex
from mirrord_ls.findings import Finding
from mirrord_ls.lsp_convert import Positions, finding_json, line_texts

LINE = "é🙂中e\u0301|"  # after the "|": 1+1+1+1+1 chars; utf-16 6 units, utf-8 12 bytes


@pytest.mark.parametrize(("encoding", "bar"), [("utf-32", 5), ("utf-16", 6), ("utf-8", 12)])
def test_characters_count_in_the_encoding(encoding: str, bar: int) -> None:
    text = "x\n" + LINE + "\n"
    index = Positions(text, encoding)  # type: ignore[arg-type]
    offset = text.index("|")
    assert index.position(offset) == (1, bar)
    assert index.offset(1, bar) == offset
    # Past the end of the line: its end, never the next line.
    assert index.offset(1, 999) == text.index("\n", offset)


def test_line_breaks_are_the_lsps_only() -> None:
    text = 'a\r"b\u2028c\u0085d\x0ce"\r\nf\rg'
    index = Positions(text)
    assert index.position(text.index("f")) == (2, 0)
    assert index.position(text.index("g")) == (3, 0)
    assert index.position(text.index("e")) == (1, text.index("e") - 2)
    # An offset between "\r" and "\n" is the end of its line.
    assert index.position(text.index("\n")) == (1, len('"b\u2028c\u0085d\x0ce"'))
    assert line_texts(text) == ("a\r", '"b\u2028c\u0085d\x0ce"\r\n', "f\r", "g")
    assert line_texts("a\n") == ("a\n", "")


def test_check_json_ranges_on_lone_cr_lines() -> None:
    text = '{\r  "x": 1,\r  "y": 2\r}'
    start = text.index('"y"')
    out = finding_json(LineIndex(text), Finding("unknown-field", "error", start, start + 3, "m"))
    assert out["range"]["start"] == {"line": 2, "character": 2}
    assert out["range"]["end"] == {"line": 2, "character": 5}
