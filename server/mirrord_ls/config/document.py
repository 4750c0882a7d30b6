"""The format-neutral tree every mirrord config is read into.

JSON, TOML and YAML readers all produce the same :class:`Node` tree, in which
every object member knows the exact span of its key and every value knows its
own span (character offsets into the text that was parsed). Later checks,
schema or cluster, anchor their findings on these spans, so they never need to
know which format a file was written in.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any, Literal

NodeKind = Literal["object", "array", "string", "number", "bool", "null", "datetime"]
PathPart = str | int
Path = tuple[PathPart, ...]


@dataclass(slots=True)
class Member:
    """One `key: value` of an object, with the span of the key as written."""

    key: str
    key_start: int
    key_end: int
    value: Node


@dataclass(slots=True)
class Node:
    """A value with its span; objects keep members in file order."""

    kind: NodeKind
    start: int
    end: int
    value: Any = None
    members: list[Member] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)
    scalar: Any = None
    """YAML only: the scalar as written (`yaml_scalars.Scalar`), read again by field type."""

    def member(self, key: str) -> Member | None:
        # Last one wins, as in the deserialisers mirrord uses.
        for m in reversed(self.members):
            if m.key == key:
                return m
        return None

    def to_python(self) -> Any:
        if self.kind == "object":
            return {m.key: m.value.to_python() for m in self.members}
        if self.kind == "array":
            return [i.to_python() for i in self.items]
        return self.value


@dataclass(frozen=True, slots=True)
class SyntaxIssue:
    """A place the reader could not make sense of, in parsed-text offsets."""

    start: int
    end: int
    message: str
    severity: Literal["error", "warning"] = "error"


@dataclass(slots=True)
class Parsed:
    """What a reader returns: the tree (None when nothing usable was read) and issues.

    `complete` is False when the reader had to stop early; checks that would
    be misled by a truncated tree (required fields, say) must not run then.
    """

    root: Node | None
    issues: list[SyntaxIssue] = field(default_factory=list)
    complete: bool = True


@dataclass(frozen=True, slots=True)
class Located:
    """Where a path points: the value node, and the member holding it (None for items/root)."""

    node: Node
    member: Member | None


def locate(root: Node | None, path: Path) -> Located | None:
    """Find the node at `path`; None when the path leaves the tree."""
    if root is None:
        return None
    node, member = root, None
    for part in path:
        if isinstance(part, str) and node.kind == "object":
            member = node.member(part)
            if member is None:
                return None
            node = member.value
        elif isinstance(part, int) and node.kind == "array" and 0 <= part < len(node.items):
            node, member = node.items[part], None
        else:
            return None
    return Located(node, member)


def deepest(root: Node | None, path: Path) -> tuple[Located | None, Path]:
    """The deepest existing node along `path` and the prefix that reached it."""
    best: Located | None = None
    reached: Path = ()
    for i in range(len(path) + 1):
        found = locate(root, path[:i])
        if found is None:
            break
        best, reached = found, path[:i]
    return best, reached


def node_at(root: Node | None, offset: int) -> tuple[Path, Node | None, Member | None, bool]:
    """The innermost node containing `offset`.

    Returns (path, node, member, on_key): `on_key` is True when the offset is
    on the member's key rather than its value.
    """
    if root is None or not (root.start <= offset <= root.end):
        return (), None, None, False
    path: list[PathPart] = []
    node, member, on_key = root, None, False
    while True:
        nxt: tuple[PathPart, Node, Member | None] | None = None
        if node.kind == "object":
            for m in node.members:
                if m.key_start <= offset <= m.key_end:
                    path.append(m.key)
                    return tuple(path), m.value, m, True
                if m.value.start <= offset <= m.value.end:
                    nxt = (m.key, m.value, m)
                    break
        elif node.kind == "array":
            for i, item in enumerate(node.items):
                if item.start <= offset <= item.end:
                    nxt = (i, item, None)
                    break
        if nxt is None:
            return tuple(path), node, member, on_key
        path.append(nxt[0])
        node, member = nxt[1], nxt[2]


# Line breaks as the LSP defines them: "\n", "\r\n" and "\r", and nothing else. `str.splitlines`
# also breaks on U+2028, U+0085, form feed, ..., which would move every later range.
_BREAK = re.compile(r"\r\n|\r|\n")
Encoding = Literal["utf-16", "utf-8", "utf-32"]


def line_starts(text: str) -> list[int]:
    """Offsets at which each line of `text` starts (LSP line breaks only)."""
    return [0, *(m.end() for m in _BREAK.finditer(text))]


def split_lines(text: str) -> list[str]:
    """`text` cut into lines, each keeping its own break ("\n", "\r\n" or "\r")."""
    starts = line_starts(text)
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def _units(segment: str, encoding: Encoding) -> int:
    if encoding == "utf-32" or segment.isascii():
        return len(segment)
    if encoding == "utf-16":
        # Only text outside the Basic Multilingual Plane costs two UTF-16 units.
        return len(segment) + sum(1 for c in segment if ord(c) > 0xFFFF)
    return len(segment.encode("utf-8", "surrogatepass"))


def _width(char: str, encoding: Encoding) -> int:
    if encoding == "utf-32":
        return 1
    code = ord(char)
    if encoding == "utf-16":
        return 2 if code > 0xFFFF else 1
    return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4


class LineIndex:
    """Converts between string offsets and LSP positions (line, character).

    Lines end at "\n", "\r\n" or "\r" (LSP's definition); characters count in the
    negotiated position encoding, UTF-16 code units unless told otherwise.
    """

    def __init__(self, text: str, encoding: Encoding = "utf-16") -> None:
        self.text = text
        self.encoding: Encoding = encoding
        self._starts = line_starts(text)

    def position(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._starts, offset) - 1
        # An offset between the "\r" and "\n" of one break belongs to the line it ends.
        end = self.line_end(line)
        return line, _units(self.text[self._starts[line] : min(offset, end)], self.encoding)

    def offset(self, line: int, character: int) -> int:
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

    def line_start(self, line: int) -> int:
        return self._starts[max(0, min(line, len(self._starts) - 1))]

    def line_end(self, line: int) -> int:
        """Where the line's text ends (before its break)."""
        if line + 1 < len(self._starts):
            nxt = self._starts[line + 1]
            return nxt - 2 if self.text.startswith("\r\n", nxt - 2) else nxt - 1
        return len(self.text)

    @property
    def line_count(self) -> int:
        return len(self._starts)
