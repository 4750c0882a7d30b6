"""Render mirrord config files the way mirrord does, with Tera templates, and map positions back.

mirrord (``mirrord/config/src/lib.rs``, ``LayerFileConfig::from_path``) renders the *whole*
config file with Tera 1.x (``Tera::default()``, template name ``"main"``, so no HTML
autoescaping) before it parses the result as JSON, TOML or YAML. Its Tera context holds only
two variables:

- ``key``: the session key (``MIRRORD_KEY`` from the environment, else the file's own ``key``
  field rendered first, else a random key); always defined.
- ``git_branch``: ``MIRRORD_BRANCH_NAME`` when non-empty, else ``git branch --show-current``;
  left out of the context when unknown, so ``{{ git_branch }}`` then fails to render.

Everything else is Tera's built-ins: ``get_env(name=..., default=...)``, ``range``, ``now``,
``get_random``, ``throw``, the built-in filters and tests.

This module is a small Tera interpreter for the subset config files use, rather than a binding
to the real engine, because a language server needs more than the rendered text: every
character of the output must map back to the character (literal text) or the ``{{ ... }}`` tag
(template output) it came from, the environment must be the one the server passes in (not the
process environment), and a broken tag must not lose the rest of the file. Tera itself stops at
the first error; here each failing tag gets a :class:`TemplateError` and renders as an empty
string, so a file with one typo still gets its other diagnostics.
"""

from __future__ import annotations

import bisect
import datetime
import json
import math
import random
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

__all__ = [
    "Rendered",
    "TemplateError",
    "has_template_syntax",
    "mirrord_variables",
    "render",
]


@dataclass(frozen=True)
class TemplateError:
    """A template problem, placed on the original text (Python ``str`` offsets)."""

    start: int
    end: int
    message: str


# Piece kinds of the rendered text: how a run of output relates to the source.
_LITERAL: Final = 0  # copied from the source, offsets shift 1:1
_OUTPUT: Final = 1  # produced by a tag: every offset maps onto the whole tag
_BROKEN: Final = 2  # copied 1:1 from an unparseable tag, flagged as template material


@dataclass(frozen=True)
class Rendered:
    """The rendered text, the template errors, and the map back to the source."""

    text: str
    errors: tuple[TemplateError, ...]
    _source_len: int = field(default=0, repr=False, compare=False)
    # None means identity (no template syntax at all): the common, zero-cost case.
    _pieces: tuple[tuple[int, int, int, int, int], ...] | None = field(
        default=None, repr=False, compare=False
    )
    _starts: tuple[int, ...] = field(default=(), repr=False, compare=False)
    # Output-of-a-tag intervals in the rendered text, zero-length ones included: a tag that
    # rendered to nothing (or failed) still explains a parse error right where it stood.
    _templated: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

    def _piece_at(self, offset: int) -> tuple[int, int, int, int, int] | None:
        assert self._pieces is not None
        i = bisect.bisect_right(self._starts, offset) - 1
        if i < 0:
            return None
        piece = self._pieces[i]
        return piece if piece[0] <= offset < piece[1] else None

    def to_source(self, offset: int) -> int:
        """Map a rendered offset to an offset in the original text."""
        offset = max(0, min(offset, len(self.text)))
        if self._pieces is None:
            return min(offset, self._source_len)
        if offset >= len(self.text):
            return self._source_len
        piece = self._piece_at(offset)
        if piece is None:  # cannot happen: pieces tile the output; stay safe anyway
            return self._source_len
        out_start, _, src_start, _, kind = piece
        if kind == _OUTPUT:
            return src_start
        return src_start + (offset - out_start)

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a rendered span to the original span; template output widens to its whole tag."""
        start = max(0, min(start, len(self.text)))
        end = max(start, min(end, len(self.text)))
        first = self.to_source(start)
        if end == start or self._pieces is None:
            return (first, self.to_source(end))
        piece = self._piece_at(end - 1)
        if piece is None:
            last = self._source_len
        else:
            out_start, _, src_start, src_end, kind = piece
            last = src_end if kind == _OUTPUT else src_start + (end - 1 - out_start) + 1
        # Text repeated by a for loop maps back to earlier source: keep the span ordered.
        return (min(first, last), max(first, last))

    def templated(self, start: int, end: int) -> bool:
        """Does the rendered span [start, end) come, even partly, from template output?"""
        if self._pieces is None:
            return False
        for a, b in self._templated:
            if a == b:
                if start <= a <= end:
                    return True
            elif (a < end and b > start) or (start == end and a <= start < b):
                return True
        return False


def has_template_syntax(text: str) -> bool:
    """True when mirrord would see Tera markup: any ``{{``, ``{%`` or ``{#``."""
    return "{{" in text or "{%" in text or "{#" in text


# The session key placeholder used when the real one is unknowable (mirrord makes up a random
# one); plain characters so it stays valid inside JSON, TOML and YAML strings.
_KEY_PLACEHOLDER: Final = "mirrord-session-key"


def mirrord_variables(env: Mapping[str, str], git_branch: str | None = None) -> dict[str, Any]:
    """The Tera context mirrord would build, as far as it can be known without running mirrord.

    ``git_branch`` is what ``git branch --show-current`` says in the directory mirrord starts
    from; pass it when known. ``MIRRORD_BRANCH_NAME`` overrides it, as in mirrord.
    """
    variables: dict[str, Any] = {"key": env.get("MIRRORD_KEY") or _KEY_PLACEHOLDER}
    branch = env.get("MIRRORD_BRANCH_NAME") or git_branch
    if branch:
        variables["git_branch"] = branch
    return variables


def render(
    text: str, env: Mapping[str, str], *, variables: Mapping[str, Any] | None = None
) -> Rendered:
    """Render ``text`` like mirrord; never raises.

    ``env`` stands in for the process environment (``get_env``). ``variables`` is the Tera
    context; by default :func:`mirrord_variables` of ``env`` (no git branch known).
    """
    if not has_template_syntax(text):
        return Rendered(text, (), len(text))
    context = dict(mirrord_variables(env) if variables is None else variables)
    try:
        return _Renderer(text, env, context).run()
    except Exception as exc:  # a bug or pathological input must not take the server down
        message = f"mirrord-ls could not evaluate the template: {type(exc).__name__}"
        return Rendered(text, (TemplateError(0, 0, message),), len(text))


# --------------------------------------------------------------------------------------------
# Lexing: the file is text and tags; a tag's inside is a list of tokens.


@dataclass
class _Tok:
    kind: str  # "name" (maybe dotted), "str", "int", "float", "op"
    value: Any
    start: int
    end: int


@dataclass
class _Tag:
    kind: str  # "var" ({{ }}), "block" ({% %}), "comment" ({# #})
    start: int
    end: int
    ws_left: bool
    ws_right: bool
    tokens: list[_Tok]
    error: str | None = None


@dataclass
class _Text:
    start: int
    end: int


@dataclass
class _Broken:
    """An opener without a closer: kept as text, flagged, reported."""

    start: int
    end: int
    message: str


_WS_CHARS: Final = " \t\r\n"
_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*")
_DOT_TAIL_RE: Final = re.compile(r"(?:\.[A-Za-z0-9_]+)+")
_NUM_RE: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_OPS2: Final = ("==", "!=", "<=", ">=", "::")
_OPS1: Final = "<>+-*/%|(),=~[]"
_CLOSERS: Final = {"{{": "}}", "{%": "%}", "{#": "#}"}
_KINDS: Final = {"{{": "var", "{%": "block", "{#": "comment"}
_OPENER_RE: Final = re.compile(r"\{[{%#]")
_ENDRAW_RE: Final = re.compile(r"\{%(-?)[ \t\r\n]*endraw[ \t\r\n]*(-?)%\}")


def _line_end(text: str, pos: int) -> int:
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl


def _lex_inside(text: str, pos: int, closer: str) -> tuple[list[_Tok], int, bool, str | None]:
    """Tokens of a tag's inside from ``pos``; returns (tokens, end after closer, ws_right, error).

    End is -1 when the text ends first. Tera strings have no escapes and may hold ``}}``.
    """
    tokens: list[_Tok] = []
    n = len(text)
    while True:
        while pos < n and text[pos] in _WS_CHARS:
            pos += 1
        if pos >= n:
            return tokens, -1, False, f"unclosed tag: expected `{closer}`"
        if text.startswith("-" + closer, pos):
            return tokens, pos + 3, True, None
        if text.startswith(closer, pos):
            return tokens, pos + 2, False, None
        ch = text[pos]
        if ch in "\"'`":
            close = text.find(ch, pos + 1)
            if close < 0:
                return tokens, -1, False, "unterminated string literal"
            tokens.append(_Tok("str", text[pos + 1 : close], pos, close + 1))
            pos = close + 1
            continue
        m = _NUM_RE.match(text, pos)
        if m:
            kind = "float" if "." in m.group() else "int"
            value: Any = float(m.group()) if kind == "float" else int(m.group())
            tokens.append(_Tok(kind, value, pos, m.end()))
            pos = m.end()
            continue
        m = _NAME_RE.match(text, pos)
        if m:
            tokens.append(_Tok("name", m.group(), pos, m.end()))
            pos = m.end()
            continue
        if ch == "." and tokens and tokens[-1].value == "]" and tokens[-1].end == pos:
            m = _DOT_TAIL_RE.match(text, pos)
            if m:
                tokens.append(_Tok("dot", m.group(), pos, m.end()))
                pos = m.end()
                continue
        two = text[pos : pos + 2]
        if two in _OPS2:
            tokens.append(_Tok("op", two, pos, pos + 2))
            pos += 2
            continue
        if ch in _OPS1:
            tokens.append(_Tok("op", ch, pos, pos + 1))
            pos += 1
            continue
        return tokens, -1, False, f"unexpected character {ch!r}"


def _lex(text: str) -> list[_Text | _Tag | _Broken]:
    items: list[_Text | _Tag | _Broken] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _OPENER_RE.search(text, pos)
        if m is None:
            items.append(_Text(pos, n))
            break
        start = m.start()
        if start > pos:
            items.append(_Text(pos, start))
        opener = m.group()
        closer = _CLOSERS[opener]
        inner = start + 2
        ws_left = text.startswith("-", inner)
        if ws_left:
            inner += 1
        if opener == "{#":
            close = text.find("#}", inner)
            if close < 0:
                end = _line_end(text, start)
                items.append(_Broken(start, end, "unclosed comment: expected `#}`"))
                pos = end
                continue
            ws_right = close > inner and text[close - 1] == "-"
            items.append(_Tag("comment", start, close + 2, ws_left, ws_right, []))
            pos = close + 2
            continue
        tokens, end, ws_right, error = _lex_inside(text, inner, closer)
        if error is not None:
            # Recover on the same line only: a tag missing its closer must not swallow the
            # lines after it (a multi-line tag that lexes fine never gets here).
            eol = _line_end(text, start)
            close = text.find(closer, inner, eol)
            if close < 0:
                items.append(_Broken(start, eol, f"unclosed `{opener}`: expected `{closer}`"))
                pos = max(eol, start + 2)
                continue
            ws_right = close > inner and text[close - 1] == "-"
            items.append(_Tag(_KINDS[opener], start, close + 2, ws_left, ws_right, [], error))
            pos = close + 2
            continue
        tag = _Tag(_KINDS[opener], start, end, ws_left, ws_right, tokens)
        items.append(tag)
        pos = end
        if tag.kind == "block" and [t.value for t in tokens] == ["raw"]:
            # Everything up to `{% endraw %}` is text, whatever it looks like.
            m2 = _ENDRAW_RE.search(text, pos)
            if m2 is None:
                continue  # the parser reports the missing endraw
            if m2.start() > pos:
                items.append(_Text(pos, m2.start()))
            raw_tokens = [_Tok("name", "endraw", m2.start(), m2.end())]
            items.append(
                _Tag(
                    "block", m2.start(), m2.end(), bool(m2.group(1)), bool(m2.group(2)), raw_tokens
                )
            )
            pos = m2.end()
    return items


# --------------------------------------------------------------------------------------------
# Expressions


class _TemplateFailure(Exception):
    """A Tera render error: the message is what the user sees."""


class _Undefined(_TemplateFailure):
    """A variable is not in the context (some constructs turn this into false)."""


class _EnvMissing(_TemplateFailure):
    """get_env found no variable and had no default."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f'environment variable "{name}" is not set and the template gives no default '
            f'(add one: get_env(name="{name}", default="..."))'
        )
        self.name = name


class _Unsupported(Exception):
    """A real Tera feature this interpreter does not evaluate: render nothing, report nothing."""


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


@dataclass
class _Lit:
    value: Any


@dataclass
class _Var:
    name: str  # as written, for messages
    path: list[Any]  # str keys, int indexes, or expressions inside [...]


@dataclass
class _Call:
    name: str
    kwargs: dict[str, Any]


@dataclass
class _Filter:
    name: str
    kwargs: dict[str, Any]


@dataclass
class _Filtered:
    base: Any
    filters: list[_Filter]


@dataclass
class _Bin:
    op: str  # math, comparison, "and", "or"
    left: Any
    right: Any


@dataclass
class _Not:
    expr: Any


@dataclass
class _In:
    left: Any
    right: Any
    negated: bool


@dataclass
class _Test:
    subject: _Var
    name: str
    args: list[Any]
    negated: bool


@dataclass
class _Concat:
    parts: list[Any]


@dataclass
class _Array:
    items: list[Any]


_CMP_OPS: Final = ("==", "!=", "<", ">", "<=", ">=")


class _Parser:
    """Recursive descent over one tag's tokens, following Tera's grammar (tera.pest)."""

    def __init__(self, tokens: list[_Tok]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def at(self, value: str, kind: str | None = None) -> bool:
        tok = self.peek()
        return tok is not None and tok.value == value and (kind is None or tok.kind == kind)

    def at_op(self, value: str) -> bool:
        return self.at(value, "op")

    def at_word(self, value: str) -> bool:
        return self.at(value, "name")

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise _TemplateFailure("the tag ends too early: an expression is missing")
        self.i += 1
        return tok

    def expect_op(self, value: str) -> None:
        tok = self.peek()
        if tok is None or tok.kind != "op" or tok.value != value:
            found = "the end of the tag" if tok is None else f"`{tok.value}`"
            raise _TemplateFailure(f"expected `{value}` but found {found}")
        self.i += 1

    def expect_name(self) -> str:
        tok = self.peek()
        if tok is None or tok.kind != "name" or "." in tok.value:
            found = "the end of the tag" if tok is None else f"`{tok.value}`"
            raise _TemplateFailure(f"expected a name but found {found}")
        self.i += 1
        return str(tok.value)

    def done(self) -> None:
        tok = self.peek()
        if tok is not None:
            raise _TemplateFailure(f"unexpected `{tok.value}` in the tag")

    # logic_expr: or binds loosest, then and, then not
    def logic(self) -> Any:
        left = self.logic_and()
        while self.at_word("or"):
            self.i += 1
            left = _Bin("or", left, self.logic_and())
        return left

    def logic_and(self) -> Any:
        left = self.logic_not()
        while self.at_word("and"):
            self.i += 1
            left = _Bin("and", left, self.logic_not())
        return left

    def logic_not(self) -> Any:
        if self.at_word("not"):
            self.i += 1
            return _Not(self.logic_not())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.math()
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.value in _CMP_OPS:
            self.i += 1
            return _Bin(tok.value, left, self.math())
        negated = False
        if self.at_word("not") and (nxt := self.peek(1)) is not None and nxt.value == "in":
            self.i += 1
            negated = True
        if self.at_word("in"):
            self.i += 1
            return _In(left, self.math(), negated)
        return left

    def math(self) -> Any:
        left = self.term()
        while self.at_op("+") or self.at_op("-"):
            op = self.take().value
            left = _Bin(op, left, self.term())
        return self.filters(left)

    def term(self) -> Any:
        left = self.concat()
        while self.at_op("*") or self.at_op("/") or self.at_op("%"):
            op = self.take().value
            left = _Bin(op, left, self.concat())
        return left

    def concat(self) -> Any:
        first = self.filters(self.primary())
        if not self.at_op("~"):
            return first
        parts = [first]
        while self.at_op("~"):
            self.i += 1
            parts.append(self.filters(self.primary()))
        return _Concat(parts)

    def filters(self, base: Any) -> Any:
        if not self.at_op("|"):
            return base
        chain: list[_Filter] = []
        while self.at_op("|"):
            self.i += 1
            name = self.expect_name()
            kwargs = self.kwargs() if self.at_op("(") else {}
            chain.append(_Filter(name, kwargs))
        if isinstance(base, _Filtered):
            base.filters.extend(chain)
            return base
        return _Filtered(base, chain)

    def kwargs(self) -> dict[str, Any]:
        self.expect_op("(")
        args: dict[str, Any] = {}
        while not self.at_op(")"):
            name = self.expect_name()
            self.expect_op("=")
            args[name] = self.logic()
            if not self.at_op(","):
                break
            self.i += 1
        self.expect_op(")")
        return args

    def primary(self) -> Any:
        tok = self.take()
        if tok.kind == "str":
            return _Lit(tok.value)
        if tok.kind in ("int", "float"):
            return _Lit(tok.value)
        if tok.kind == "op":
            if tok.value == "-":
                nxt = self.peek()
                if nxt is not None and nxt.kind in ("int", "float") and nxt.start == tok.end:
                    self.i += 1
                    return _Lit(-nxt.value)
            if tok.value == "(":
                inner = self.logic()
                self.expect_op(")")
                return inner
            if tok.value == "[":
                items: list[Any] = []
                while not self.at_op("]"):
                    items.append(self.logic())
                    if not self.at_op(","):
                        break
                    self.i += 1
                self.expect_op("]")
                return _Array(items)
            raise _TemplateFailure(f"expected a value but found `{tok.value}`")
        name = str(tok.value)
        if name in ("true", "True"):
            return _Lit(True)
        if name in ("false", "False"):
            return _Lit(False)
        if self.at_op("(") and "." not in name:
            return _Call(name, self.kwargs())
        if self.at_op("::"):
            raise _TemplateFailure("macros are not available in a mirrord config file")
        var = _Var(name, [int(p) if p.isdigit() else p for p in name.split(".")])
        while (
            (bracket := self.peek()) is not None
            and bracket.value == "["
            and (bracket.kind == "op" and bracket.start == tok.end)
        ):
            self.i += 1
            index = self.take()
            if index.kind == "int":
                var.path.append(index.value)
            elif index.kind == "str":
                var.path.append(index.value)
            elif index.kind == "name":
                var.path.append(
                    _Var(
                        index.value, [int(p) if p.isdigit() else p for p in index.value.split(".")]
                    )
                )
            else:
                raise _TemplateFailure(f"unexpected `{index.value}` inside `[...]`")
            close = self.take()
            if close.value != "]":
                raise _TemplateFailure("expected `]`")
            var.name += "[" + str(index.value) + "]"
            tok = close
            nxt = self.peek()
            if nxt is not None and nxt.kind == "dot" and nxt.start == close.end:
                # `a[0].b`: the dotted rest after a bracket
                self.i += 1
                var.path.extend(int(p) if p.isdigit() else p for p in nxt.value[1:].split("."))
                var.name += nxt.value
                tok = nxt
        if self.at_word("is"):
            self.i += 1
            negated = self.at_word("not")
            if negated:
                self.i += 1
            test = self.expect_name()
            args: list[Any] = []
            if self.at_op("("):
                self.i += 1
                while not self.at_op(")"):
                    args.append(self.logic())
                    if not self.at_op(","):
                        break
                    self.i += 1
                self.expect_op(")")
            return _Test(var, test, args, negated)
        return var


# --------------------------------------------------------------------------------------------
# Values: Python stand-ins for serde_json values (str, int, float, bool, None, list, dict).


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _fmt_float(f: float) -> str:
    # Rust's `{}` for f64: shortest round-trip digits, never an exponent, `1` for 1.0.
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 1e300:
        return str(int(f))
    return format(Decimal(repr(f)), "f")


def _fmt(v: Any) -> str:
    """How Tera writes a value into the output."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _fmt_float(v)
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return "[object]"


def _show(v: Any) -> str:
    """A value as serde_json displays it, for error messages."""
    try:
        return json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(v)


def _truthy(v: Any) -> bool:
    if isinstance(v, float):
        return v != 0.0 and not math.isnan(v)
    return bool(v)


def _json_eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_eq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_eq(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


_RUST_WS: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)  # char::is_whitespace, which Rust's trim uses (Python's strip() also trims \x1c-\x1f)

_MAX_LOOP_ROUNDS: Final = 20_000  # a preview, not a benchmark: stop runaway loops
_MAX_OUTPUT: Final = 5_000_000


# --------------------------------------------------------------------------------------------
# Block structure


@dataclass
class _Node:
    kind: str  # "text", "var", "comment", "if", "for", "set", "raw", "break", "continue",
    # "filter", "block", "broken", "bad"
    tag: _Tag | None = None
    text: _Text | None = None
    expr: Any = None
    # if: [(tag, condition, body)], else body; for: body and empty body
    branches: list[tuple[_Tag, Any, list[_Node]]] = field(default_factory=list)
    body: list[_Node] = field(default_factory=list)
    else_body: list[_Node] | None = None
    end_tag: _Tag | None = None
    names: tuple[str, ...] = ()
    is_global: bool = False
    message: str = ""
    span: tuple[int, int] = (0, 0)


_OPENERS: Final = {
    "if": "endif",
    "for": "endfor",
    "filter": "endfilter",
    "block": "endblock",
    "raw": "endraw",
}
_CLOSER_OF: Final = {v: k for k, v in _OPENERS.items()}
_MIDDLE: Final = {"elif": "if", "else": ("if", "for")}


class _Renderer:
    def __init__(self, source: str, env: Mapping[str, str], variables: dict[str, Any]) -> None:
        self.src = source
        self.env = env
        self.scopes: list[dict[str, Any]] = [variables]
        self.errors: list[TemplateError] = []
        self.parts: list[str] = []
        self.pieces: list[tuple[int, int, int, int, int]] = []
        self.templated: list[tuple[int, int]] = []
        self.pos = 0
        self.rounds = 0

    # -- building the output and its map

    def emit(self, text: str, src_start: int, src_end: int, kind: int) -> None:
        if self.pos > _MAX_OUTPUT:
            return
        if kind != _LITERAL:
            self.templated.append((self.pos, self.pos + len(text)))
        if not text:
            return
        self.parts.append(text)
        self.pieces.append((self.pos, self.pos + len(text), src_start, src_end, kind))
        self.pos += len(text)

    def error(self, start: int, end: int, message: str) -> None:
        err = TemplateError(start, end, message)
        if err not in self.errors:  # a failing tag inside a loop reports once
            self.errors.append(err)

    def run(self) -> Rendered:
        items = _lex(self.src)
        self.trims = _trims(self.src, items)
        nodes, _ = self.parse_body(items, 0, ())
        self.render_body(nodes)
        text = "".join(self.parts)
        return Rendered(
            text,
            tuple(self.errors),
            len(self.src),
            tuple(self.pieces),
            tuple(p[0] for p in self.pieces),
            tuple(self.templated),
        )

    # -- parsing the tag structure

    def parse_body(
        self, items: list[_Text | _Tag | _Broken], i: int, stop: tuple[str, ...]
    ) -> tuple[list[_Node], int]:
        """Nodes from items[i:] up to a block tag named in ``stop`` (the index points at it)."""
        nodes: list[_Node] = []
        while i < len(items):
            item = items[i]
            if isinstance(item, _Text):
                nodes.append(_Node("text", text=item))
                i += 1
                continue
            if isinstance(item, _Broken):
                self.error(item.start, item.end, item.message)
                nodes.append(_Node("broken", span=(item.start, item.end)))
                i += 1
                continue
            tag = item
            if tag.error is not None:
                self.error(tag.start, tag.end, _syntax(tag, tag.error))
                nodes.append(_Node("bad", tag=tag))
                i += 1
                continue
            if tag.kind == "comment":
                nodes.append(_Node("comment", tag=tag))
                i += 1
                continue
            if tag.kind == "var":
                try:
                    parser = _Parser(tag.tokens)
                    expr = parser.logic()
                    parser.done()
                except _TemplateFailure as exc:
                    self.error(tag.start, tag.end, _syntax(tag, str(exc)))
                    nodes.append(_Node("bad", tag=tag))
                else:
                    nodes.append(_Node("var", tag=tag, expr=expr))
                i += 1
                continue
            word = tag.tokens[0].value if tag.tokens and tag.tokens[0].kind == "name" else ""
            if word in stop:
                return nodes, i
            i += 1
            try:
                node = self.parse_block_tag(tag, word)
            except _TemplateFailure as exc:
                self.error(tag.start, tag.end, _syntax(tag, str(exc)))
                if word not in _OPENERS:
                    nodes.append(_Node("bad", tag=tag))
                    continue
                # Still pair it with its end tag, or the end tag would be a second error. The
                # body of a broken `if` shows once (the likely intent); a broken loop, never.
                if word == "if":
                    node = _Node("if", tag=tag, branches=[(tag, _Lit(True), [])])
                else:
                    node = _Node("block" if word != "for" else "skip", tag=tag)
            if node is None:
                continue
            if word in _OPENERS:
                i = self.parse_block_body(node, word, items, i)
            nodes.append(node)
        return nodes, i

    def parse_block_tag(self, tag: _Tag, word: str) -> _Node | None:
        parser = _Parser(tag.tokens)
        parser.i = 1
        if word == "if":
            cond = parser.logic()
            parser.done()
            return _Node("if", tag=tag, branches=[(tag, cond, [])])
        if word == "for":
            names = [parser.expect_name()]
            if parser.at_op(","):
                parser.i += 1
                names.append(parser.expect_name())
            if not parser.at_word("in"):
                raise _TemplateFailure("expected `in` in the for loop")
            parser.i += 1
            container = parser.logic()
            parser.done()
            return _Node("for", tag=tag, expr=container, names=tuple(names))
        if word in ("set", "set_global"):
            name = parser.expect_name()
            parser.expect_op("=")
            value = parser.logic()
            parser.done()
            return _Node("set", tag=tag, expr=value, names=(name,), is_global=word == "set_global")
        if word in ("break", "continue", "raw"):
            parser.done()
            return _Node(word, tag=tag)
        if word == "filter":
            name = parser.expect_name()
            kwargs = parser.kwargs() if parser.at_op("(") else {}
            parser.done()
            return _Node("filter", tag=tag, expr=_Filter(name, kwargs))
        if word == "block":
            parser.expect_name()
            parser.done()
            return _Node("block", tag=tag)
        if word in _CLOSER_OF or word in _MIDDLE:
            self.error(tag.start, tag.end, f"`{{% {word} %}}` without a matching opening tag")
            return None
        if word in ("include", "extends", "import", "macro", "endmacro"):
            raise _TemplateFailure(
                f"`{word}` needs other templates, and mirrord renders the config file on its own"
            )
        raise _TemplateFailure(
            f"unknown tag `{word or (tag.tokens[0].value if tag.tokens else '')}`"
        )

    def parse_block_body(
        self, node: _Node, word: str, items: list[_Text | _Tag | _Broken], i: int
    ) -> int:
        end_word = _OPENERS[word]
        if word == "raw":
            stops: tuple[str, ...] = (end_word,)
        elif word == "if":
            stops = ("elif", "else", end_word)
        elif word == "for":
            stops = ("else", end_word)
        else:
            stops = (end_word,)
        body, i = self.parse_body(items, i, stops)
        current = body
        if word == "if":
            node.branches[0] = (node.branches[0][0], node.branches[0][1], body)
        else:
            node.body = body
        while i < len(items):
            tag = items[i]
            assert isinstance(tag, _Tag)
            w = tag.tokens[0].value
            i += 1
            if w == end_word:
                _check_bare(self, tag)
                node.end_tag = tag
                return i
            if w == "elif" and node.else_body is None:
                try:
                    parser = _Parser(tag.tokens)
                    parser.i = 1
                    cond = parser.logic()
                    parser.done()
                except _TemplateFailure as exc:
                    self.error(tag.start, tag.end, _syntax(tag, str(exc)))
                    cond = _Lit(False)
                current, i = self.parse_body(items, i, stops)
                node.branches.append((tag, cond, current))
                continue
            if w == "else" and node.else_body is None:
                _check_bare(self, tag)
                current, i = self.parse_body(items, i, (end_word,))
                node.else_body = current
                node.end_tag = tag  # refined when the end tag shows up
                continue
            self.error(tag.start, tag.end, f"unexpected `{w}` after `else`")
            current, i = self.parse_body(items, i, stops)
            if node.else_body is not None:
                node.else_body.extend(current)
        opener = node.tag
        assert opener is not None
        self.error(
            opener.start,
            opener.end,
            f"`{{% {word} %}}` is never closed: expected `{{% {end_word} %}}`",
        )
        return i

    # -- rendering

    def render_body(self, nodes: list[_Node]) -> None:
        for node in nodes:
            self.render_node(node)

    def render_node(self, node: _Node) -> None:
        kind = node.kind
        if kind == "text":
            assert node.text is not None
            start, end = self.trims.get(id(node.text), (node.text.start, node.text.end))
            self.emit(self.src[start:end], start, end, _LITERAL)
            return
        if kind == "broken":
            start, end = node.span
            self.emit(self.src[start:end], start, end, _BROKEN)
            return
        tag = node.tag
        assert tag is not None
        if kind == "bad":
            self.emit("", tag.start, tag.end, _OUTPUT)
            return
        if kind == "var":
            try:
                text = _fmt(self.eval(node.expr))
            except _TemplateFailure as exc:
                self.error(tag.start, tag.end, str(exc))
                text = ""
            except _Unsupported:
                text = ""
            self.emit(text, tag.start, tag.end, _OUTPUT)
            return
        if kind == "if":
            for branch_tag, cond, body in node.branches:
                try:
                    ok = self.eval_bool(cond)
                except _TemplateFailure as exc:
                    self.error(branch_tag.start, branch_tag.end, str(exc))
                    ok = False
                except _Unsupported:
                    ok = False
                if ok:
                    self.render_body(body)
                    return
            if node.else_body is not None:
                self.render_body(node.else_body)
            return
        if kind == "for":
            self.render_for(node)
            return
        if kind == "set":
            try:
                value = self.eval(node.expr)
            except (_TemplateFailure, _Unsupported) as exc:
                if isinstance(exc, _TemplateFailure):
                    self.error(tag.start, tag.end, str(exc))
                value = None
            scope = self.scopes[0] if node.is_global else self.scopes[-1]
            scope[node.names[0]] = value
            return
        if kind == "break":
            raise _Break
        if kind == "continue":
            raise _Continue
        if kind in ("raw", "block"):
            self.render_body(node.body)
            return
        if kind == "filter":
            self.render_filter_section(node)
            return
        # comments render nothing

    def render_for(self, node: _Node) -> None:
        tag = node.tag
        assert tag is not None
        try:
            container = self.eval(node.expr)
        except _TemplateFailure as exc:
            self.error(tag.start, tag.end, str(exc))
            return
        except _Unsupported:
            return
        pairs: list[tuple[Any, Any]]
        if isinstance(container, dict):
            if len(node.names) != 2:
                self.error(
                    tag.start,
                    tag.end,
                    "Tried to iterate using key value on an "
                    "object/map but the loop is missing a key",
                )
                return
            pairs = [(k, container[k]) for k in sorted(container)]
        elif isinstance(container, list | str):
            if len(node.names) == 2:
                self.error(
                    tag.start,
                    tag.end,
                    "Tried to iterate using key value on a value that isn't an object/map",
                )
                return
            pairs = [(None, v) for v in container]
        else:
            self.error(
                tag.start,
                tag.end,
                f"Tried to iterate on a container that has an unsupported type: {_show(container)}",
            )
            return
        if not pairs:
            if node.else_body is not None:
                self.render_body(node.else_body)
            return
        for index, (key, value) in enumerate(pairs):
            self.rounds += 1
            if self.rounds > _MAX_LOOP_ROUNDS:
                self.error(
                    tag.start,
                    tag.end,
                    "the loop runs too many times for mirrord-ls to preview the result",
                )
                return
            scope: dict[str, Any] = {
                "loop": {
                    "index": index + 1,
                    "index0": index,
                    "first": index == 0,
                    "last": index == len(pairs) - 1,
                },
                node.names[-1]: value,
            }
            if len(node.names) == 2:
                scope[node.names[0]] = key
            self.scopes.append(scope)
            try:
                self.render_body(node.body)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                self.scopes.pop()

    def render_filter_section(self, node: _Node) -> None:
        tag = node.tag
        assert tag is not None
        end = node.end_tag.end if node.end_tag is not None else tag.end
        # Render the body on the side: its output becomes one filtered value for the section.
        saved = (self.parts, self.pieces, self.templated, self.pos)
        self.parts, self.pieces, self.templated, self.pos = [], [], [], 0
        try:
            self.render_body(node.body)
            body = "".join(self.parts)
        finally:
            self.parts, self.pieces, self.templated, self.pos = saved
        flt: _Filter = node.expr
        try:
            text = body if flt.name == "safe" else _fmt(self.apply_filter(body, flt))
        except _TemplateFailure as exc:
            self.error(tag.start, tag.end, str(exc))
            text = ""
        except _Unsupported:
            text = ""
        self.emit(text, tag.start, end, _OUTPUT)

    # -- evaluation

    def lookup(self, var: _Var) -> Any:
        head = var.path[0]
        for scope in reversed(self.scopes):
            if head in scope:
                value = scope[head]
                break
        else:
            raise _Undefined(_undefined_message(var.name, self.scopes[0]))
        for seg in var.path[1:]:
            if isinstance(seg, _Var):
                seg = self.lookup(seg)
                if not isinstance(seg, str | int) or isinstance(seg, bool):
                    raise _TemplateFailure(
                        f"Only variables evaluating to String or Number can be used as index "
                        f"(`{var.name}`)"
                    )
            if isinstance(value, dict) and str(seg) in value:
                value = value[str(seg)]
            elif isinstance(value, list) and isinstance(seg, int) and 0 <= seg < len(value):
                value = value[seg]
            elif (
                isinstance(value, list)
                and isinstance(seg, str)
                and seg.isdigit()
                and int(seg) < len(value)
            ):
                value = value[int(seg)]
            else:
                raise _Undefined(f"Variable `{var.name}` not found in context")
        return value

    def eval(self, expr: Any) -> Any:
        if isinstance(expr, _Lit):
            return expr.value
        if isinstance(expr, _Var):
            return self.lookup(expr)
        if isinstance(expr, _Filtered):
            return self.eval_filtered(expr)
        if isinstance(expr, _Call):
            return self.call(expr)
        if isinstance(expr, _Array):
            return [self.eval(item) for item in expr.items]
        if isinstance(expr, _Concat):
            out = []
            for part in expr.parts:
                value = self.eval(part)
                if isinstance(value, str):
                    out.append(value)
                elif _is_number(value):
                    out.append(_fmt(value))
                else:
                    raise _TemplateFailure(
                        f"Tried to concat a value that is not a string or a number: {_show(value)}"
                    )
            return "".join(out)
        if isinstance(expr, _Bin) and expr.op in "+-*/%":
            return self.math(expr)
        if isinstance(expr, _Bin | _Not | _In | _Test):
            return self.eval_bool(expr)
        raise _TemplateFailure("unsupported expression")

    def eval_filtered(self, expr: _Filtered) -> Any:
        filters = expr.filters
        has_default = filters[0].name == "default"
        # Tera's `default` only looks at a plain variable it directly follows: an undefined or
        # null variable takes the default; on anything else (get_env(...) included) it is inert.
        if isinstance(expr.base, _Var) and has_default:
            try:
                value = self.lookup(expr.base)
            except _Undefined:
                value = None
            if value is None:
                if "value" not in filters[0].kwargs:
                    raise _TemplateFailure("The `default` filter requires a `value` argument.")
                value = self.eval(filters[0].kwargs["value"])
        else:
            try:
                value = self.eval(expr.base)
            except _EnvMissing as exc:
                if has_default:
                    raise _TemplateFailure(
                        f'environment variable "{exc.name}" is not set, and `| default` does '
                        f"not apply to a function call in Tera: write "
                        f'get_env(name="{exc.name}", default="...") instead'
                    ) from None
                raise
        for flt in filters:
            if flt.name in ("default", "safe"):
                continue
            value = self.apply_filter(value, flt)
        return value

    def number(self, expr: Any) -> int | float:
        value = self.eval(expr)
        if _is_number(value):
            return value
        if isinstance(expr, _Var):
            raise _TemplateFailure(
                f"Variable `{expr.name}` was used in a math operation but is not a number"
            )
        if isinstance(expr, _Call):
            raise _TemplateFailure(
                f"Function `{expr.name}` was used in a math operation but is not returning a number"
            )
        if isinstance(value, str):
            raise _TemplateFailure(f"Tried to do math with a string: `{value}`")
        if isinstance(value, bool):
            raise _TemplateFailure(f"Tried to do math with a boolean: `{_fmt(value)}`")
        raise _TemplateFailure(
            f"Tried to do math with an expression not resulting in a number: {_show(value)}"
        )

    def math(self, expr: _Bin) -> Any:
        left = self.number(expr.left)
        right = self.number(expr.right)
        op = expr.op
        both_int = isinstance(left, int) and isinstance(right, int)
        if op == "+":
            result: Any = left + right
        elif op == "-":
            result = left - right
        elif op == "*":
            result = left * right
        elif op == "/":
            if right == 0:
                if left == 0:
                    return "NaN"
                return math.copysign(math.inf, left)
            quotient = left / right
            return int(quotient) if quotient == int(quotient) else quotient
        else:
            if right == 0 and both_int:
                raise _TemplateFailure("Tried to do a modulo by zero")
            if right == 0:
                return "NaN"
            result = math.fmod(left, right) if not both_int else int(math.fmod(left, right))
        if both_int and not -(2**63) <= result < 2**63:
            raise _TemplateFailure(f"{left} {op} {right} results in an out of bounds i64")
        return result if both_int else float(result)

    def eval_bool(self, expr: Any) -> bool:
        if isinstance(expr, _Bin):
            if expr.op == "or":
                return self.eval_bool(expr.left) or self.eval_bool(expr.right)
            if expr.op == "and":
                return self.eval_bool(expr.left) and self.eval_bool(expr.right)
            if expr.op in ("<", ">", "<=", ">="):
                left, right = self.number(expr.left), self.number(expr.right)
                return bool(
                    {
                        "<": left < right,
                        ">": left > right,
                        "<=": left <= right,
                        ">=": left >= right,
                    }[expr.op]
                )
            if expr.op in ("==", "!="):
                a, b = self.eval(expr.left), self.eval(expr.right)
                if _is_number(a) or _is_number(b):
                    same = _is_number(a) and _is_number(b) and float(a) == float(b)
                    if not (_is_number(a) and _is_number(b)):
                        return False  # Tera: numbers never equal other types, either way
                else:
                    same = _json_eq(a, b)
                return same if expr.op == "==" else not same
            return _truthy(self.eval(expr))
        if isinstance(expr, _Not):
            inner = expr.expr
            if isinstance(inner, _Var | _Filtered):
                # `not undefined_var` is true in Tera rather than an error
                try:
                    return not _truthy(self.eval(inner))
                except _Undefined:
                    return True
            return not self.eval_bool(inner)
        if isinstance(expr, _Var) or (isinstance(expr, _Filtered) and isinstance(expr.base, _Var)):
            # A bare variable in a condition: undefined (or failing) just means false.
            try:
                return _truthy(self.eval(expr))
            except _TemplateFailure:
                return False
        if isinstance(expr, _In):
            needle, hay = self.eval(expr.left), self.eval(expr.right)
            if isinstance(hay, list):
                found = any(_json_eq(needle, x) for x in hay)
            elif isinstance(hay, str | dict):
                if not isinstance(needle, str):
                    raise _TemplateFailure(
                        f"Tried to check if {_show(needle)} is in a "
                        f"{'string' if isinstance(hay, str) else 'object'}, but it isn't a "
                        f"string"
                    )
                found = needle in hay
            else:
                raise _TemplateFailure(
                    "The `in` operator only supports strings, arrays and objects."
                )
            return found != expr.negated
        if isinstance(expr, _Test):
            return self.run_test(expr) != expr.negated
        if isinstance(expr, _Call):
            value = self.call(expr)
            if not isinstance(value, bool):
                raise _TemplateFailure(
                    f"Function `{expr.name}` was used in a logic operation but is not returning "
                    f"a bool"
                )
            return value
        return _truthy(self.eval(expr))

    def run_test(self, test: _Test) -> bool:
        try:
            value: Any = self.lookup(test.subject)
            defined = True
        except _Undefined:
            value, defined = None, False
        args = [self.eval(a) for a in test.args]
        name = test.name
        if name in ("defined", "undefined"):
            return defined == (name == "defined")
        if name not in _TESTS:
            raise _TemplateFailure(f"Test '{name}' not found")
        if not defined:
            raise _TemplateFailure(
                f"Tester `{name}` was called on an undefined variable `{test.subject.name}`"
            )
        return _TESTS[name](value, args)

    def call(self, expr: _Call) -> Any:
        kwargs = {}
        for key, arg in expr.kwargs.items():
            try:
                kwargs[key] = self.eval(arg)
            except _Undefined as exc:
                raise _TemplateFailure(f"Function call '{expr.name}' failed: {exc}") from None
        name = expr.name
        if name == "get_env":
            if "name" not in kwargs:
                raise _TemplateFailure("Function `get_env` didn't receive a `name` argument")
            var = kwargs["name"]
            if not isinstance(var, str):
                raise _TemplateFailure(
                    f"Function `get_env` received name={_show(var)} but `name` can only be a string"
                )
            if var in self.env:
                return self.env[var]
            if "default" in kwargs:
                return kwargs["default"]
            raise _EnvMissing(var)
        if name == "range":
            return _range(kwargs)
        if name == "throw":
            message = kwargs.get("message")
            if not isinstance(message, str):
                raise _TemplateFailure("Function `throw` was called without a `message` argument")
            raise _TemplateFailure(message)
        if name == "now":
            utc = bool(kwargs.get("utc", False))
            now = datetime.datetime.now(datetime.UTC if utc else None)
            if kwargs.get("timestamp"):
                return int(now.timestamp())
            return (now if utc else now.astimezone()).isoformat()
        if name == "get_random":
            start, end = kwargs.get("start", 0), kwargs.get("end")
            if not (isinstance(start, int) and isinstance(end, int)) or start >= end:
                raise _TemplateFailure(
                    "Function `get_random` needs integers `start` (default 0) and `end`, "
                    "with start below end"
                )
            return random.randrange(start, end)
        raise _TemplateFailure(
            f"Function '{name}' not found (mirrord config templates have get_env, range, now, "
            f"get_random and throw)"
        )

    def apply_filter(self, value: Any, flt: _Filter) -> Any:
        kwargs = {k: self.eval(v) for k, v in flt.kwargs.items()}
        impl = _FILTERS.get(flt.name)
        if impl is None:
            if flt.name in _KNOWN_UNEVALUATED_FILTERS:
                raise _Unsupported(flt.name)
            raise _TemplateFailure(f"Filter '{flt.name}' not found")
        return impl(value, kwargs)


def _check_bare(renderer: _Renderer, tag: _Tag) -> None:
    if len(tag.tokens) > 1 and tag.tokens[0].value != "endblock":
        renderer.error(tag.start, tag.end, f"`{tag.tokens[0].value}` takes nothing after it")


def _syntax(tag: _Tag, detail: str) -> str:
    kind = {"var": "`{{ }}` expression", "block": "`{% %}` tag", "comment": "comment"}[tag.kind]
    return f"Failed to parse the {kind}: {detail}"


def _undefined_message(name: str, context: Mapping[str, Any]) -> str:
    known = ", ".join(f"`{k}`" for k in sorted(context)) or "nothing"
    hint = f" (mirrord's template context has {known}"
    if name.split(".")[0].split("[")[0] == "git_branch":
        hint += "; `git_branch` is missing when the branch can't be determined"
    return f"Variable `{name}` not found in context{hint})"


def _trims(source: str, items: list[_Text | _Tag | _Broken]) -> dict[int, tuple[int, int]]:
    """Where whitespace control (`{{-`, `-%}`, ...) trims each text run: id(text) -> span.

    Tera trims a text node next to a tag carrying `-` on that side; text nodes are maximal, so
    looking at the neighbours in source order gives the same answer.
    """
    trims: dict[int, tuple[int, int]] = {}
    for idx, item in enumerate(items):
        if not isinstance(item, _Text):
            continue
        start, end = item.start, item.end
        before = items[idx - 1] if idx > 0 else None
        after = items[idx + 1] if idx + 1 < len(items) else None
        if isinstance(before, _Tag) and before.ws_right:
            start = end - len(source[start:end].lstrip(_RUST_WS))
        if isinstance(after, _Tag) and after.ws_left:
            end = start + len(source[start:end].rstrip(_RUST_WS))
        if (start, end) != (item.start, item.end):
            trims[id(item)] = (start, end)
    return trims


# --------------------------------------------------------------------------------------------
# Built-in filters, tests and functions (Tera 1.20 semantics)


def _want_str(name: str, value: Any, arg: str = "value") -> str:
    if not isinstance(value, str):
        if arg == "value":
            raise _TemplateFailure(
                f"Filter `{name}` was called on an incorrect value: got `{_show(value)}` but "
                f"expected a String"
            )
        raise _TemplateFailure(
            f"Filter `{name}` received an incorrect type for arg `{arg}`: got `{_show(value)}` "
            f"but expected a String"
        )
    return value


def _want_list(name: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _TemplateFailure(
            f"Filter `{name}` was called on an incorrect value: got `{_show(value)}` but "
            f"expected a Vec<Value>"
        )
    return value


def _arg(name: str, kwargs: Mapping[str, Any], arg: str) -> Any:
    if arg not in kwargs:
        raise _TemplateFailure(f"Filter `{name}` expected an arg called `{arg}`")
    return kwargs[arg]


def _pat(name: str, kwargs: Mapping[str, Any]) -> str:
    # Tera unescapes \n and \t in patterns read from files
    return (
        _want_str(name, _arg(name, kwargs, "pat"), "pat").replace("\\n", "\n").replace("\\t", "\t")
    )


def _f_trim_start_matches(v: Any, kw: Mapping[str, Any]) -> Any:
    s, p = _want_str("trim_start_matches", v), _pat("trim_start_matches", kw)
    while p and s.startswith(p):
        s = s[len(p) :]
    return s


def _f_trim_end_matches(v: Any, kw: Mapping[str, Any]) -> Any:
    s, p = _want_str("trim_end_matches", v), _pat("trim_end_matches", kw)
    while p and s.endswith(p):
        s = s[: -len(p)]
    return s


def _f_truncate(v: Any, kw: Mapping[str, Any]) -> Any:
    s = _want_str("truncate", v)
    length = kw.get("length", 255)
    end = kw.get("end", "…")
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise _TemplateFailure(
            f"Filter `truncate` received an incorrect type for arg `length`: "
            f"got `{_show(length)}` but expected a usize"
        )
    # Tera counts grapheme clusters; code points agree for the text configs hold
    return s if length >= len(s) else s[:length] + _want_str("truncate", end, "end")


def _f_replace(v: Any, kw: Mapping[str, Any]) -> Any:
    s = _want_str("replace", v)
    old = _want_str("replace", _arg("replace", kw, "from"), "from")
    new = _want_str("replace", _arg("replace", kw, "to"), "to")
    if old == "":
        # Rust's str::replace with an empty pattern inserts between every char, like Python
        return s.replace(old, new)
    return s.replace(old, new)


def _f_capitalize(v: Any, kw: Mapping[str, Any]) -> Any:
    s = _want_str("capitalize", v)
    return s[:1].upper() + s[1:].lower()


_WORD_RE: Final = re.compile(r"\b(\w)(\w*)")


def _f_title(v: Any, kw: Mapping[str, Any]) -> Any:
    s = _want_str("title", v)
    return _WORD_RE.sub(lambda m: m.group(1).upper() + m.group(2).lower(), s)


def _f_split(v: Any, kw: Mapping[str, Any]) -> Any:
    s, p = _want_str("split", v), _pat("split", kw)
    if p == "":
        return ["", *list(s), ""]  # Rust's split("") yields empty ends around every char
    return s.split(p)


def _f_int(v: Any, kw: Mapping[str, Any]) -> Any:
    default = kw.get("default", 0)
    base = kw.get("base", 10)
    if isinstance(v, str):
        s = v.strip(_RUST_WS)
        prefix = {2: "0b", 8: "0o", 16: "0x"}.get(base)
        if prefix and s.startswith(prefix):
            s = s[2:]
        try:
            if not re.fullmatch(r"[+-]?[0-9A-Za-z]+", s):
                raise ValueError(s)
            return int(s, base)
        except (ValueError, TypeError):
            if "." in s:
                try:
                    return int(float(s))
                except ValueError:
                    return default
            return default
    if _is_number(v):
        return int(v)
    raise _TemplateFailure("Filter `int` received an unexpected type")


def _f_float(v: Any, kw: Mapping[str, Any]) -> Any:
    default = kw.get("default", 0.0)
    if isinstance(v, str):
        try:
            return float(v.strip(_RUST_WS))
        except ValueError:
            return default
    if _is_number(v):
        return float(v)
    raise _TemplateFailure("Filter `float` received an unexpected type")


def _f_join(v: Any, kw: Mapping[str, Any]) -> Any:
    sep = _want_str("join", kw.get("sep", ""), "sep")
    return sep.join(_fmt(x) for x in _want_list("join", v))


def _f_length(v: Any, kw: Mapping[str, Any]) -> Any:
    if isinstance(v, list | dict | str):
        return len(v)
    raise _TemplateFailure(
        f"Filter `length` was used on a value that isn't an array, an object, or a string: "
        f"{_show(v)}"
    )


def _f_reverse(v: Any, kw: Mapping[str, Any]) -> Any:
    if isinstance(v, list | str):
        return v[::-1]
    raise _TemplateFailure(
        f"Filter `reverse` received an incorrect type for arg `value`: got "
        f"`{_show(v)}` but expected Array|String"
    )


def _f_first(v: Any, kw: Mapping[str, Any]) -> Any:
    items = _want_list("first", v)
    return items[0] if items else None


def _f_last(v: Any, kw: Mapping[str, Any]) -> Any:
    items = _want_list("last", v)
    return items[-1] if items else None


def _f_nth(v: Any, kw: Mapping[str, Any]) -> Any:
    items = _want_list("nth", v)
    n = _arg("nth", kw, "n")
    return items[n] if isinstance(n, int) and 0 <= n < len(items) else None


def _f_as_str(v: Any, kw: Mapping[str, Any]) -> Any:
    return _fmt(v)


def _f_json_encode(v: Any, kw: Mapping[str, Any]) -> Any:
    if kw.get("pretty"):
        return json.dumps(v, ensure_ascii=False, indent=2)
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _f_get(v: Any, kw: Mapping[str, Any]) -> Any:
    if not isinstance(v, dict):
        raise _TemplateFailure(
            f"Filter `get` was called on an incorrect value: got "
            f"`{_show(v)}` but expected a Map<String, Value>"
        )
    key = _want_str("get", _arg("get", kw, "key"), "key")
    if key in v:
        return v[key]
    if "default" in kw:
        return kw["default"]
    raise _TemplateFailure(f"Filter `get` tried to get key `{key}` but it wasn't found")


def _f_abs(v: Any, kw: Mapping[str, Any]) -> Any:
    if not _is_number(v):
        raise _TemplateFailure(f"Filter `abs` was used on a value that isn't a number: {_show(v)}")
    return abs(v)


def _f_round(v: Any, kw: Mapping[str, Any]) -> Any:
    if not _is_number(v):
        raise _TemplateFailure(
            f"Filter `round` was called on an incorrect value: got `{_show(v)}` but expected a f64"
        )
    method = kw.get("method", "common")
    precision = kw.get("precision", 0)
    factor = 10 ** int(precision)
    x = float(v) * factor
    if method == "ceil":
        r = math.ceil(x)
    elif method == "floor":
        r = math.floor(x)
    elif method == "common":
        r = math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)
    else:
        raise _TemplateFailure(
            f"Filter `round` received an incorrect value for arg `method`: "
            f"got `{_show(method)}`, only common, ceil and floor are allowed"
        )
    return float(r) / factor


def _f_escape(v: Any, kw: Mapping[str, Any]) -> Any:
    s = _want_str("escape_html", v)
    table = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "/": "&#x2F;"}
    return "".join(table.get(c, c) for c in s)


def _f_addslashes(v: Any, kw: Mapping[str, Any]) -> Any:
    s = _want_str("addslashes", v)
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")


def _f_slugify(v: Any, kw: Mapping[str, Any]) -> Any:
    s = _want_str("slugify", v).lower()
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def _f_concat(v: Any, kw: Mapping[str, Any]) -> Any:
    items = list(_want_list("concat", v))
    extra = _arg("concat", kw, "with")
    return items + extra if isinstance(extra, list) else [*items, extra]


def _f_unique(v: Any, kw: Mapping[str, Any]) -> Any:
    out: list[Any] = []
    for x in _want_list("unique", v):
        if not any(_json_eq(x, y) for y in out):
            out.append(x)
    return out


def _f_sort(v: Any, kw: Mapping[str, Any]) -> Any:
    items = _want_list("sort", v)
    try:
        return sorted(items)
    except TypeError:
        raise _TemplateFailure("Filter `sort` received values of mixed types") from None


def _str_filter(name: str, fn: Callable[[str], Any]) -> Callable[[Any, Mapping[str, Any]], Any]:
    return lambda v, kw: fn(_want_str(name, v))


_FILTERS: Final[dict[str, Callable[[Any, Mapping[str, Any]], Any]]] = {
    "upper": _str_filter("upper", str.upper),
    "lower": _str_filter("lower", str.lower),
    "trim": _str_filter("trim", lambda s: s.strip(_RUST_WS)),
    "trim_start": _str_filter("trim_start", lambda s: s.lstrip(_RUST_WS)),
    "trim_end": _str_filter("trim_end", lambda s: s.rstrip(_RUST_WS)),
    "trim_start_matches": _f_trim_start_matches,
    "trim_end_matches": _f_trim_end_matches,
    "truncate": _f_truncate,
    "wordcount": _str_filter("wordcount", lambda s: len(s.split())),
    "replace": _f_replace,
    "capitalize": _f_capitalize,
    "title": _f_title,
    "urlencode": _str_filter("urlencode", lambda s: urllib.parse.quote(s, safe="/-_.~!*'()")),
    "urlencode_strict": _str_filter("urlencode_strict", lambda s: urllib.parse.quote(s, safe="")),
    "addslashes": _f_addslashes,
    "slugify": _f_slugify,
    "split": _f_split,
    "int": _f_int,
    "float": _f_float,
    "first": _f_first,
    "last": _f_last,
    "nth": _f_nth,
    "join": _f_join,
    "sort": _f_sort,
    "unique": _f_unique,
    "concat": _f_concat,
    "abs": _f_abs,
    "round": _f_round,
    "length": _f_length,
    "reverse": _f_reverse,
    "json_encode": _f_json_encode,
    "as_str": _f_as_str,
    "get": _f_get,
    "escape": _f_escape,
    "escape_xml": _f_escape,
}

# Real Tera 1.20 built-ins left unevaluated here: the tag renders empty, without an error,
# because reporting a working config as broken is worse than an imprecise preview.
_KNOWN_UNEVALUATED_FILTERS: Final = frozenset(
    {
        "indent",
        "linebreaksbr",
        "striptags",
        "spaceless",
        "slice",
        "group_by",
        "filter",
        "map",
        "pluralize",
        "filesizeformat",
        "date",
    }
)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _t_divisible(value: Any, args: list[Any]) -> bool:
    if not (_is_int(value) and args and _is_int(args[0]) and args[0] != 0):
        raise _TemplateFailure("Tester `divisibleby` needs an integer and a non-zero integer")
    return bool(value % args[0] == 0)


def _t_str_arg(name: str, value: Any, args: list[Any]) -> tuple[str, str]:
    if not isinstance(value, str) or not args or not isinstance(args[0], str):
        raise _TemplateFailure(f"Tester `{name}` needs a string and one string argument")
    return value, args[0]


def _t_containing(value: Any, args: list[Any]) -> bool:
    if not args:
        raise _TemplateFailure("Tester `containing` needs one argument")
    if isinstance(value, str):
        return isinstance(args[0], str) and args[0] in value
    if isinstance(value, list):
        return any(_json_eq(args[0], x) for x in value)
    if isinstance(value, dict):
        return isinstance(args[0], str) and args[0] in value
    raise _TemplateFailure("Tester `containing` can only be used on string, array or map")


def _t_matching(value: Any, args: list[Any]) -> bool:
    s, pattern = _t_str_arg("matching", value, args)
    try:
        return re.search(pattern, s) is not None
    except re.error as exc:
        raise _TemplateFailure(f"Tester `matching`: invalid regex: {exc}") from None


_TESTS: Final[dict[str, Callable[[Any, list[Any]], bool]]] = {
    "odd": lambda v, a: _is_int(v) and v % 2 == 1,
    "even": lambda v, a: _is_int(v) and v % 2 == 0,
    "string": lambda v, a: isinstance(v, str),
    "number": lambda v, a: _is_number(v),
    "iterable": lambda v, a: isinstance(v, list | dict),
    "object": lambda v, a: isinstance(v, dict),
    "divisibleby": _t_divisible,
    "starting_with": lambda v, a: str.startswith(*_t_str_arg("starting_with", v, a)),
    "ending_with": lambda v, a: str.endswith(*_t_str_arg("ending_with", v, a)),
    "containing": _t_containing,
    "matching": _t_matching,
}


def _range(kwargs: Mapping[str, Any]) -> list[int]:
    end = kwargs.get("end")
    start = kwargs.get("start", 0)
    step = kwargs.get("step_by", 1)
    if end is None:
        raise _TemplateFailure("Function `range` was called without a `end` argument")
    if not all(_is_int(x) for x in (start, end, step)) or step <= 0:
        raise _TemplateFailure(
            "Function `range` needs integer `start`, `end` and a positive `step_by`"
        )
    if start > end:
        raise _TemplateFailure(
            "Function `range` was called with a `start` argument greater than the `end` one"
        )
    if (end - start) // step > _MAX_LOOP_ROUNDS:
        raise _TemplateFailure("the range is too long for mirrord-ls to preview the result")
    return list(range(start, end, step))
