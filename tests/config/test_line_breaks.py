"""Line breaks as the LSP defines them ("\\n", "\\r\\n", "\\r"): ranges stay right.

`str.splitlines` also breaks on U+2028, U+0085, form feed, ...; a U+2028 inside a JSON string
must not move later ranges, and a file with lone "\\r" endings must get its lines.
"""

from __future__ import annotations

import pytest

from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.document import LineIndex, split_lines
from mirrord_ls.config.schema import builtin_schema
from mirrord_ls.lsp_convert import finding_json


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a\nb", ["a\n", "b"]),
        ("a\r\nb\r\n", ["a\r\n", "b\r\n", ""]),
        ("a\rb\rc", ["a\r", "b\r", "c"]),
        ("a\u2028b\x85c\x0cd\ne", ["a\u2028b\x85c\x0cd\n", "e"]),
        ("a\r\r\nb", ["a\r", "\r\n", "b"]),
    ],
)
def test_split_lines_uses_only_lsp_breaks(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines
    assert LineIndex(text).line_count == len(lines)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_offsets_round_trip_in_every_encoding(encoding: str) -> None:
    text = 'x = "é😀"\r\ny = 1\rz\u2028w\n'
    index = LineIndex(text, encoding)  # type: ignore[arg-type]
    for offset in range(len(text) + 1):
        line, character = index.position(offset)
        back = index.offset(line, character)
        # Offsets inside a line break map to the end of that line.
        assert back == offset or text[back:offset].strip("\r\n") == ""


def test_units_per_encoding() -> None:
    text = "é😀x"
    assert LineIndex(text, "utf-16").position(3) == (0, 4)
    assert LineIndex(text, "utf-8").position(3) == (0, 7)
    assert LineIndex(text, "utf-32").position(3) == (0, 3)


def _positions(text: str, fmt: str) -> list[tuple[str, int, int]]:
    analysis = analyze(text, fmt, builtin_schema())  # type: ignore[arg-type]
    out = []
    for finding in analysis.findings:
        start = finding_json(analysis.lines, finding)["range"]["start"]
        out.append((finding.code, start["line"], start["character"]))
    return out


def test_u2028_in_a_json_string_does_not_shift_later_ranges() -> None:
    text = '{\n  "kube_context": "a\u2028b",\n  "operator": "yes"\n}\n'
    assert _positions(text, "json") == [("invalid-value", 2, 14)]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_lone_carriage_returns_are_line_breaks(fmt: str) -> None:
    text = {
        "json": '{\r  "kube_context": "a",\r  "operator": "yes"\r}\r',
        "yaml": "kube_context: a\roperator: maybe\r",
    }[fmt]
    line, character = {"json": (2, 14), "yaml": (1, 10)}[fmt]
    assert _positions(text, fmt) == [("invalid-value", line, character)]


def test_crlf_ranges() -> None:
    text = "operator = true\r\nkube_context = 3\r\n"
    assert _positions(text, "toml") == [("invalid-value", 1, 15)]
