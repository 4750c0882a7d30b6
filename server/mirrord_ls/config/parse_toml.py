"""TOML reader with exact spans, as mirrord reads TOML: version 1.1.

mirrord parses TOML with the `toml` crate 1.1 (`toml = "1.1.2"` in its Cargo.toml, spec
1.1.0): inline tables may span lines and end with a comma, and strings know `\\e` and
`\\xHH`. The standard library's `tomllib` reads TOML 1.0 and calls those syntax errors, so
values and syntax errors come from `tomli` (2.3 and later implement TOML 1.1; maintained, and
the code `tomllib` was taken from). It keeps no positions, so a small scanner walks the same
text to find where each key, table header and value is written, and the two are joined by
path. After a syntax error the offending line is blanked and the rest re-read, so one typo
does not hide every other finding.

A TOML date-time is its own type: mirrord's serde refuses it where a string is expected, so
the node keeps the date-time (kind "datetime"), not its text.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import tomli

from mirrord_ls.config.document import Member, Node, Parsed
from mirrord_ls.config.recovery import read_recovering

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_WS = re.compile(r"[ \t]*")
_WS_NL = re.compile(r"(?:[ \t\r\n]|#[^\n]*)*")
_BASIC = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_LITERAL = re.compile(r"'[^'\n]*'")
_ML_BASIC = re.compile(r'"""(?:[^\\]|\\.)*?"""("{0,2})', re.S)
_ML_LITERAL = re.compile(r"'''.*?'''('{0,2})", re.S)
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})?)?"
    r"|\d{2}:\d{2}:\d{2}(?:\.\d+)?"
)
_ATOM = re.compile(r"[^\s,\]\}#]+")
_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)\s*$")


class _ScanError(Exception):
    pass


def _kind_of(value: Any) -> str:
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return "datetime"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string"


class _Scanner:
    """Finds spans; trusts that `tomllib` already accepted the text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.root = Node("object", 0, len(text))

    def key_path(self) -> list[tuple[str, int, int]]:
        parts: list[tuple[str, int, int]] = []
        while True:
            self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
            start = self.pos
            for pattern in (_BASIC, _LITERAL, _BARE):
                m = pattern.match(self.text, self.pos)
                if m:
                    raw = m.group()
                    key = tomli.loads(f"k = {raw}")["k"] if raw[0] in "\"'" else raw
                    self.pos = m.end()
                    parts.append((key, start, self.pos))
                    break
            else:
                raise _ScanError(start)
            self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.text.startswith(".", self.pos):
                self.pos += 1
                continue
            return parts

    def child(self, parent: Node, key: str, ks: int, ke: int, kind: str) -> Node:
        m = parent.member(key)
        if m is not None:
            if kind == "array-table" and m.value.kind == "array":
                return m.value
            if m.value.kind == "array" and m.value.items and kind == "table":
                return m.value.items[-1]  # `[a.b]` after `[[a]]` extends the last element
            return m.value
        node = Node("array" if kind == "array-table" else "object", ks, ke)
        parent.members.append(Member(key, ks, ke, node))
        return node

    def value(self) -> Node:
        text, pos = self.text, self.pos
        ch = text[pos : pos + 1]
        if text.startswith('"""', pos):
            m = _ML_BASIC.match(text, pos)
        elif text.startswith("'''", pos):
            m = _ML_LITERAL.match(text, pos)
        elif ch == '"':
            m = _BASIC.match(text, pos)
        elif ch == "'":
            m = _LITERAL.match(text, pos)
        elif ch == "{":
            return self.inline_table()
        elif ch == "[":
            return self.array()
        else:
            m = _DATETIME.match(text, pos) or _ATOM.match(text, pos)
        if m is None:
            raise _ScanError(pos)
        self.pos = m.end()
        return Node("string", pos, self.pos)

    def inline_table(self) -> Node:
        # TOML 1.1: newlines, comments and a trailing comma are allowed inside.
        node = Node("object", self.pos, self.pos)
        self.pos += 1
        while True:
            self.pos = _WS_NL.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.text.startswith("}", self.pos):
                self.pos += 1
                node.end = self.pos
                return node
            self.key_value(node)
            self.pos = _WS_NL.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.text.startswith(",", self.pos):
                self.pos += 1

    def array(self) -> Node:
        node = Node("array", self.pos, self.pos)
        self.pos += 1
        while True:
            self.pos = _WS_NL.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.text.startswith("]", self.pos):
                self.pos += 1
                node.end = self.pos
                return node
            node.items.append(self.value())
            self.pos = _WS_NL.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.text.startswith(",", self.pos):
                self.pos += 1

    def key_value(self, table: Node) -> None:
        parts = self.key_path()
        if not self.text.startswith("=", self.pos):
            raise _ScanError(self.pos)
        self.pos += 1
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
        parent = table
        for key, ks, ke in parts[:-1]:
            parent = self.child(parent, key, ks, ke, "table")
        key, ks, ke = parts[-1]
        val = self.value()
        parent.members.append(Member(key, ks, ke, val))
        for node in (table, parent):
            node.end = max(node.end, val.end)

    def scan(self) -> Node:
        text = self.text
        table = self.root
        while True:
            self.pos = _WS_NL.match(text, self.pos).end()  # type: ignore[union-attr]
            if self.pos >= len(text):
                return self.root
            if text.startswith("[[", self.pos):
                header_start = self.pos
                self.pos += 2
                parts = self.key_path()
                self.pos += 2
                parent = self.root
                for key, ks, ke in parts[:-1]:
                    parent = self.child(parent, key, ks, ke, "table")
                key, ks, ke = parts[-1]
                arr = self.child(parent, key, ks, ke, "array-table")
                table = Node("object", header_start, self.pos)
                arr.items.append(table)
                arr.end = max(arr.end, self.pos)
            elif text.startswith("[", self.pos):
                header_start = self.pos
                self.pos += 1
                parts = self.key_path()
                self.pos += 1
                parent = self.root
                for key, ks, ke in parts:
                    parent = self.child(parent, key, ks, ke, "table")
                table = parent
                if table.start > header_start or table.end <= table.start:
                    table.start, table.end = header_start, self.pos
            else:
                self.key_value(table)


def _attach_values(node: Node, value: Any) -> None:
    """Fill kinds and scalar values from tomllib's result, matched by path."""
    node.kind = _kind_of(value)  # type: ignore[assignment]
    if isinstance(value, dict):
        kept = []
        for m in node.members:
            if m.key in value:
                _attach_values(m.value, value[m.key])
                kept.append(m)
        node.members = kept
    elif isinstance(value, list):
        node.items = node.items[: len(value)]
        for item, v in zip(node.items, value, strict=False):
            _attach_values(item, v)
    else:
        node.value = value


def _error(exc: Exception, text: str) -> tuple[int, str]:
    message = str(exc)
    m = _POSITION.search(message)
    offset = len(text)
    if m and m.group(1):
        line, col = int(m.group(1)), int(m.group(2))
        lines = text.split("\n")
        offset = sum(len(row) + 1 for row in lines[: line - 1]) + col - 1
    message = _POSITION.sub("", message) if m else message
    return min(offset, len(text)), f"TOML syntax error: {message}."


def parse_toml(text: str) -> Parsed:
    data, work, issues = read_recovering(text, tomli.loads, tomli.TOMLDecodeError, _error)
    if data is None:
        return Parsed(None, issues, complete=False)
    try:
        root = _Scanner(work).scan()
    except (_ScanError, RecursionError, tomli.TOMLDecodeError):
        # The scanner lost its way on valid TOML: keep the values, without
        # precise spans, rather than dropping the file.
        root = Node("object", 0, len(text))
        _fill_without_spans(root, data, len(text))
    _attach_values(root, data)
    return Parsed(root, issues, complete=not issues)


def _fill_without_spans(node: Node, value: Any, end: int) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            child = Node(_kind_of(v), 0, end)  # type: ignore[arg-type]
            _fill_without_spans(child, v, end)
            node.members.append(Member(k, 0, 0, child))
    elif isinstance(value, list):
        for v in value:
            child = Node(_kind_of(v), 0, end)  # type: ignore[arg-type]
            _fill_without_spans(child, v, end)
            node.items.append(child)
