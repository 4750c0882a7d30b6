"""Strict JSON reader with exact spans, as mirrord (serde_json) reads JSON.

mirrord rejects comments, trailing commas, NaN/Infinity, leading zeros and
raw control characters in strings, so this reader reports each of them as a
syntax issue. Comments and trailing commas are recoverable: they are reported
and the reader carries on, so the rest of the file is still checked. Anything
else stops the reader; the partial tree is returned with `complete=False`.
"""

from __future__ import annotations

import json
import re

from mirrord_ls.config.document import Member, Node, Parsed, SyntaxIssue

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}
_KIND = {True: "bool", False: "bool", None: "null"}


class _Stop(Exception):
    """Raised to abandon parsing after an unrecoverable issue was recorded."""


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.issues: list[SyntaxIssue] = []

    # -- helpers -----------------------------------------------------------
    def fail(self, start: int, end: int, message: str) -> _Stop:
        self.issues.append(SyntaxIssue(start, max(end, start + 1), message))
        return _Stop()

    def skip_ws(self) -> None:
        text = self.text
        while True:
            m = _WS.match(text, self.pos)
            assert m is not None
            self.pos = m.end()
            if text.startswith("//", self.pos):
                ends = [i for i in (text.find("\n", self.pos), text.find("\r", self.pos)) if i >= 0]
                end = min(ends) if ends else len(text)
                self.issues.append(
                    SyntaxIssue(
                        self.pos, end, "Comments are not allowed: mirrord reads strict JSON."
                    )
                )
                self.pos = end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                end = len(text) if end == -1 else end + 2
                self.issues.append(
                    SyntaxIssue(
                        self.pos, end, "Comments are not allowed: mirrord reads strict JSON."
                    )
                )
                self.pos = end
            elif self.pos < len(text) and text[self.pos] in "\u00a0\ufeff\u2028\u2029\f\v":
                self.issues.append(
                    SyntaxIssue(
                        self.pos,
                        self.pos + 1,
                        f"Unexpected whitespace character U+{ord(text[self.pos]):04X}.",
                    )
                )
                raise _Stop()
            else:
                return

    def describe_here(self) -> str:
        if self.pos >= len(self.text):
            return "the end of the file"
        ch = self.text[self.pos]
        if ch.isprintable() and not ch.isspace():
            return f"'{ch}'"
        return f"character U+{ord(ch):04X}"

    # -- grammar -----------------------------------------------------------
    def value(self, depth: int) -> Node:
        if depth >= 128:
            # serde_json, which mirrord uses, stops at 128 levels too.
            raise self.fail(
                self.pos, self.pos + 1, "Nesting is too deep: mirrord reads at most 128 levels."
            )
        self.skip_ws()
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.fail(
                max(0, pos - 1), pos, "Unexpected end of file: a value was expected here."
            )
        ch = text[pos]
        if ch == "{":
            return self.obj(depth)
        if ch == "[":
            return self.arr(depth)
        if ch == '"':
            start = pos
            s = self.string()
            return Node("string", start, self.pos, s)
        if ch == "-" or ch.isdigit():
            m = _NUMBER.match(text, pos)
            if m is None:
                raise self.fail(pos, pos + 1, "Invalid number.")
            raw = m.group()
            after = m.end()
            if after < len(text) and (text[after].isdigit() or text[after] in ".eE"):
                raise self.fail(
                    pos,
                    after + 1,
                    "Invalid number: JSON allows no leading zeros or incomplete fractions.",
                )
            self.pos = after
            num: int | float = float(raw) if any(c in raw for c in ".eE") else int(raw)
            return Node("number", pos, after, num)
        for word, val in _LITERALS.items():
            if text.startswith(word, pos):
                self.pos = pos + len(word)
                return Node(_KIND[val], pos, self.pos, val)  # type: ignore[arg-type]
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, pos)
        if m is not None:
            word = m.group()
            hint = ""
            if word in ("NaN", "Infinity"):
                hint = " JSON has no NaN or Infinity."
            elif word in ("True", "False", "None", "TRUE", "FALSE", "Null", "NULL"):
                hint = f" JSON literals are lower case: {word.lower().replace('none', 'null')}."
            else:
                hint = " Strings must be in double quotes."
            raise self.fail(pos, m.end(), f"Unexpected '{word}'.{hint}")
        if ch == "'":
            raise self.fail(pos, pos + 1, "Strings must use double quotes, not single quotes.")
        raise self.fail(pos, pos + 1, f"Expected a value, found {self.describe_here()}.")

    def string(self) -> str:
        text, pos = self.text, self.pos
        m = _STRING.match(text, pos)
        if m is None:
            # Find why: unterminated, control character, or bad escape.
            i = pos + 1
            while i < len(text):
                c = text[i]
                if c == '"':
                    break
                if c == "\\":
                    esc = text[i + 1 : i + 2]
                    if esc == "u":
                        if not re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                            raise self.fail(i, i + 6, "Invalid \\u escape in string.")
                        i += 6
                        continue
                    if esc and esc in '"\\/bfnrt':
                        i += 2
                        continue
                    raise self.fail(i, i + 2, f"Invalid escape '\\{esc}' in string.")
                if c == "\n":
                    raise self.fail(pos, i, "Unterminated string: a line break ends it.")
                if ord(c) < 0x20:
                    raise self.fail(i, i + 1, "Control characters must be escaped inside strings.")
                i += 1
            raise self.fail(pos, min(i, len(text)), "Unterminated string.")
        raw = m.group()
        self.pos = m.end()
        if "\\" not in raw:
            return raw[1:-1]
        decoded: str = json.loads(raw)
        return decoded

    def obj(self, depth: int) -> Node:
        text = self.text
        start = self.pos
        self.pos += 1
        node = Node("object", start, start + 1)
        self.skip_ws()
        if text.startswith("}", self.pos):
            self.pos += 1
            node.end = self.pos
            return node
        while True:
            self.skip_ws()
            if not text.startswith('"', self.pos):
                if text.startswith("}", self.pos) and node.members:
                    return self.trailing_comma(node)
                node.end = self.pos
                raise self.fail(
                    self.pos,
                    self.pos + 1,
                    f"Expected a field name in double quotes, found {self.describe_here()}.",
                )
            key_start = self.pos
            key = self.string()
            key_end = self.pos
            self.skip_ws()
            if not text.startswith(":", self.pos):
                node.end = self.pos
                raise self.fail(
                    key_start,
                    key_end,
                    f"Expected ':' after the field name, found {self.describe_here()}.",
                )
            self.pos += 1
            try:
                val = self.value(depth + 1)
            except _Stop:
                node.end = self.pos
                raise
            # A repeated key is kept: whether mirrord refuses it depends on the field's type
            # (validate.duplicate_keys), which only the schema knows.
            node.members.append(Member(key, key_start, key_end, val))
            if self.separator(node, "}", "field"):
                return node

    def arr(self, depth: int) -> Node:
        text = self.text
        start = self.pos
        self.pos += 1
        node = Node("array", start, start + 1)
        self.skip_ws()
        if text.startswith("]", self.pos):
            self.pos += 1
            node.end = self.pos
            return node
        while True:
            self.skip_ws()
            if text.startswith("]", self.pos) and node.items:
                return self.trailing_comma(node)
            try:
                node.items.append(self.value(depth + 1))
            except _Stop:
                node.end = self.pos
                raise
            if self.separator(node, "]", "item"):
                return node

    def separator(self, node: Node, closer: str, what: str) -> bool:
        """After a field or item: a comma (more follow: False) or the closer (done: True)."""
        self.skip_ws()
        if self.text.startswith(",", self.pos):
            self._last_comma = self.pos
            self.pos += 1
            return False
        if self.text.startswith(closer, self.pos):
            self.pos += 1
            node.end = self.pos
            return True
        node.end = self.pos
        raise self.fail(
            self.pos,
            self.pos + 1,
            f"Expected ',' or '{closer}' after this {what}, found {self.describe_here()}.",
        )

    def trailing_comma(self, node: Node) -> Node:
        """A closer right after a comma: recoverable, reported on the comma."""
        self.issues.append(
            SyntaxIssue(
                self._last_comma,
                self._last_comma + 1,
                "Trailing comma: mirrord reads strict JSON, which forbids it.",
            )
        )
        self.pos += 1
        node.end = self.pos
        return node

    _last_comma = 0


def parse_json(text: str) -> Parsed:
    reader = _Reader(text)
    try:
        reader.skip_ws()
        if reader.pos >= len(text):
            return Parsed(
                None,
                [SyntaxIssue(0, len(text), "The file is empty: mirrord expects a JSON object.")],
                complete=False,
            )
        root = reader.value(0)
        reader.skip_ws()
        if reader.pos < len(text):
            reader.issues.append(
                SyntaxIssue(
                    reader.pos,
                    len(text.rstrip()) or reader.pos + 1,
                    "Unexpected text after the end of the JSON value.",
                )
            )
        return Parsed(root, reader.issues, complete=True)
    except _Stop:
        return Parsed(None, reader.issues, complete=False)
    except RecursionError:
        return Parsed(None, [SyntaxIssue(0, 1, "Nesting is too deep to read.")], complete=False)
