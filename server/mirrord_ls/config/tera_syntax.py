"""Parse a Tera 1.x template the way tera's pest grammar does, one tag at a time, with recovery.

Tera (``src/parser/tera.pest`` and ``src/parser/mod.rs`` in tera 1.20) parses the whole file
with a PEG grammar and gives up at the first error. This module follows that grammar rule by
rule, including its quirks (``trueish`` starts with the literal ``true`` and fails; ``x inside``
is ``x in side``; ``not`` needs a blank after it; a ``for`` loop cannot iterate over a string
literal; a ``{% break %}`` outside a loop is a syntax error), so a template mirrord-ls accepts
is one Tera accepts. Unlike Tera it does not stop at the first error: a tag that does not parse
becomes a :class:`~mirrord_ls.config.tera_ast.Bad` node with an error on it, and the rest of
the file still renders. Whitespace control follows Tera's ``remove_whitespace`` (including
that it leaves a loop's ``{% else %}`` body alone, and drops comments at the very start).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Final

from mirrord_ls.config.tera_ast import (
    WS,
    Bad,
    Block,
    BoolLit,
    Break,
    Broken,
    Comment,
    Condition,
    Continue,
    Expr,
    FilterSection,
    FnCall,
    Forloop,
    If,
    Include,
    IntLit,
    MacroDefinition,
    Node,
    Raw,
    Set,
    Text,
    VariableBlock,
)
from mirrord_ls.config.tera_grammar import Crash, Grammar, R
from mirrord_ls.config.tera_values import I64_MAX, I64_MIN

__all__ = ["MAX_TAGS", "ParseError", "TooManyTags", "parse_template"]

# Rust's str::trim, which whitespace control uses: wider than pest's WHITESPACE
RUST_WS: Final = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)  # char::is_whitespace, which Rust's trim uses (Python's strip() also trims \x1c-\x1f)

_OPENER_RE: Final = re.compile(r"\{[{%#]")


@dataclass(frozen=True)
class ParseError:
    start: int
    end: int
    message: str


MAX_TAGS: Final = 2_000  # a config file has tens; a file with more is not a config to preview


class TooManyTags(Exception):
    """The file has more tags than mirrord-ls parses; ``where`` is the first one left out."""

    def __init__(self, where: tuple[int, int]) -> None:
        super().__init__(f"the file has more than {MAX_TAGS:,} template tags")
        self.where = where


# --------------------------------------------------------------------------------------------
# Tags


@dataclass
class _Tag:
    kind: str  # var, comment, include, set, set_global, block, if, elif, else, endif, for,
    # endfor, filter, endfilter, raw, break, continue, endblock, macro, endmacro, extends, import
    start: int
    end: int
    ws: WS
    data: Any = None


@dataclass
class _BadTag:
    kind: str  # the keyword it most likely is, so `{% if x y %}` still pairs with its endif
    start: int
    end: int
    ws: WS
    message: str


@dataclass
class _TextItem:
    start: int
    end: int


@dataclass
class _BrokenItem:
    start: int
    end: int
    message: str


_Item = _Tag | _BadTag | _TextItem | _BrokenItem

_TAG_WORDS: Final = (
    "include",
    "set_global",
    "set",
    "block",
    "if",
    "elif",
    "else",
    "endif",
    "for",
    "endfor",
    "filter",
    "endfilter",
    "raw",
    "break",
    "continue",
    "endblock",
    "macro",
    "endmacro",
    "endraw",
    "extends",
    "import",
)


class _Lexer:
    def __init__(self, src: str) -> None:
        self.src = src
        self.g = Grammar(src)

    def items(self) -> list[_Item]:
        src, g = self.src, self.g
        out: list[_Item] = []
        pos = 0
        n = len(src)
        tags = 0
        while pos < n:
            m = _OPENER_RE.search(src, pos)
            if m is None:
                out.append(_TextItem(pos, n))
                break
            start = m.start()
            if start > pos:
                out.append(_TextItem(pos, start))
            tags += 1
            if tags > MAX_TAGS:
                raise TooManyTags((start, start + 2))
            g.reset()
            opener = m.group()
            try:
                if opener == "{#":
                    item = self.comment(start)
                elif opener == "{{":
                    item = self.variable(start)
                else:
                    item = self.block_tag(start)
            except Crash as exc:
                item = self.recover(start, opener, str(exc))
            if isinstance(item, _Tag) and item.kind == "raw":
                out.extend(self.raw(item))
                pos = out[-1].end
                continue
            out.append(item)
            pos = item.end
        return out

    def comment(self, p: int) -> _Item:
        src = self.src
        left = src.startswith("{#-", p)
        q = p + (3 if left else 2)
        end = q
        while end < len(src) and not (src.startswith("-#}", end) or src.startswith("#}", end)):
            end += 1
        if end >= len(src):
            return self.recover(p, "{#", "unclosed comment: expected `#}`")
        if end == q:
            # comment_text needs one character: `{##}` and `{#-#}` are syntax errors
            return _BadTag(
                "comment",
                p,
                end + (3 if src.startswith("-#}", end) else 2),
                WS(left),
                "a comment needs some text between `{#` and `#}`",
            )
        right = src.startswith("-#}", end)
        return _Tag("comment", p, end + (3 if right else 2), WS(left, right))

    def variable(self, p: int) -> _Item:
        g, src = self.g, self.src
        left = src.startswith("{{-", p)
        q = g.skip(p + (3 if left else 2))
        r = g.logic_or_array(q)
        if r is not None:
            t = g.skip(r[1])
            for closer, right in (("-}}", True), ("}}", False)):
                if src.startswith(closer, t):
                    expr = r[0] if isinstance(r[0], Expr) else Expr(r[0])
                    bad = _out_of_range(expr, src[p : t + len(closer)])
                    if bad is not None:
                        return _BadTag("var", p, t + len(closer), WS(left, right), bad)
                    return _Tag("var", p, t + len(closer), WS(left, right), expr)
            g.miss(t, "`}}`")
        return self.recover(p, "{{", self.expectation())

    def block_tag(self, p: int) -> _Item:
        for word in _TAG_WORDS:
            parsed = getattr(self, "tag_" + word)(p)
            if parsed is not None:
                ws, end, data = parsed
                bad = _out_of_range(data, self.src[p:end])
                if bad is not None:
                    return _BadTag(word, p, end, ws, bad)
                return _Tag(word, p, end, ws, data)
        m = re.compile(r"\{%-?[ \t\r\n]*([A-Za-z_]*)").match(self.src, p)
        word = m.group(1) if m else ""
        kind = word if word in _TAG_WORDS else ""
        if not word:
            message = "expected a tag name after `{%`"
        elif kind:
            message = self.expectation()
        else:
            message = f"unknown tag `{word}`"
        return self.recover(p, "{%", message, kind)

    def expectation(self) -> str:
        g = self.g
        far = g.far
        if far < 0:
            return "this tag does not follow Tera's syntax"
        src = self.src
        if far >= len(src):
            found = "the end of the file"
        else:
            m = re.compile(r"[^ \t\r\n]{1,12}").match(src, far)
            found = f"`{m.group()}`" if m else "a line break"
        wanted = sorted(g.expected)
        text = ", ".join(wanted[:8])
        return f"unexpected {found}" + (f"; expected {text}" if text else "")

    def recover(self, p: int, opener: str, message: str, kind: str = "") -> _Item:
        """Skip a tag Tera cannot parse: up to its closer on the same line, else the line."""
        src = self.src
        closer = {"{{": "}}", "{%": "%}", "{#": "#}"}[opener]
        eol = src.find("\n", p)
        eol = len(src) if eol < 0 else eol
        q = p + 2
        while q < eol:
            ch = src[q]
            if ch in "\"'`" and opener != "{#":
                close = src.find(ch, q + 1, eol)
                if close >= 0:
                    q = close + 1
                    continue
            if src.startswith(closer, q):
                left = src.startswith(opener + "-", p)
                right = src[q - 1] == "-" and q - 1 > p + 2
                return _BadTag(kind or opener, p, q + 2, WS(left, right), message)
            q += 1
        if opener == "{{" and not message.startswith("unclosed"):
            message = "unclosed `{{`: expected `}}`"
        elif opener == "{%" and not message.startswith("unclosed"):
            message = "unclosed `{%`: expected `%}`"
        return _BrokenItem(p, max(eol, p + 2), message)

    def raw(self, tag: _Tag) -> list[_Item]:
        """``raw = raw_tag ~ raw_text ~ endraw_tag``: the text runs to the first endraw tag."""
        src, g = self.src, self.g
        q = tag.end
        while True:
            i = src.find("{%", q)
            if i < 0:
                bad = _BadTag(
                    "raw",
                    tag.start,
                    tag.end,
                    tag.ws,
                    "`{% raw %}` is never closed: expected `{% endraw %}`",
                )
                return [bad]
            end = g.simple_tag(i, "endraw")
            if end is not None:
                end_ws, stop = end
                return [_Tag("raw", tag.start, stop, tag.ws, (tag.end, i, end_ws))]
            q = i + 2

    # One parser per tag of tera.pest; each returns (ws, end, data) or None.

    def tag_include(self, p: int) -> tuple[WS, int, Any] | None:
        g = self.g
        k = g.keyword_tag(p, "include", True)
        if k is None:
            return None
        ws, q = k
        names: list[str] = []
        r = g.string(q)
        if r is not None:
            names = [r[0].value]
            q = r[1]
        else:
            r2 = self.string_array(q)
            if r2 is None:
                return None
            names, q = r2
        q = g.skip(q)
        ignore = False
        if g.s.startswith("ignore", q):
            t = g.skip(q + 6)
            if g.s.startswith("missing", t):
                ignore = True
                q = g.skip(t + 7)
        c = g.close(ws, q)
        return None if c is None else (c[0], c[1], (names, ignore))

    def string_array(self, p: int) -> tuple[list[str], int] | None:
        g = self.g
        q = g.lit(p, "[")
        if q is None:
            return None
        names: list[str] = []
        while True:
            r = g.string(g.skip(q))
            if r is None:
                break
            u = g.skip(r[1])
            if not g.s.startswith(",", u):
                break
            names.append(r[0].value)
            q = u + 1
        r = g.string(g.skip(q))
        if r is not None:
            names.append(r[0].value)
            q = r[1]
        end = g.lit(g.skip(q), "]")
        return None if end is None else (names, end)

    def assignment(self, p: int, word: str) -> tuple[WS, int, Any] | None:
        g = self.g
        k = g.keyword_tag(p, word, True)
        if k is None:
            return None
        ws, q = k
        r = g.ident(q)
        if r is None:
            return None
        name, q = r
        q2 = g.lit(g.skip(q), "=")
        if q2 is None:
            return None
        v = g.logic_or_array(g.skip(q2))
        if v is None:
            return None
        c = g.close(ws, v[1])
        return None if c is None else (c[0], c[1], (name, v[0]))

    def tag_set(self, p: int) -> tuple[WS, int, Any] | None:
        return self.assignment(p, "set")

    def tag_set_global(self, p: int) -> tuple[WS, int, Any] | None:
        return self.assignment(p, "set_global")

    def named(self, p: int, word: str) -> tuple[WS, int, Any] | None:
        g = self.g
        k = g.keyword_tag(p, word, True)
        if k is None:
            return None
        r = g.ident(k[1])
        if r is None:
            return None
        c = g.close(k[0], r[1])
        return None if c is None else (c[0], c[1], r[0])

    def tag_block(self, p: int) -> tuple[WS, int, Any] | None:
        return self.named(p, "block")

    def condition(self, p: int, word: str) -> tuple[WS, int, Any] | None:
        g = self.g
        k = g.keyword_tag(p, word, True)
        if k is None:
            return None
        r = g.logic_expr(k[1])
        if r is None:
            return None
        c = g.close(k[0], r[1])
        return None if c is None else (c[0], c[1], r[0])

    def tag_if(self, p: int) -> tuple[WS, int, Any] | None:
        return self.condition(p, "if")

    def tag_elif(self, p: int) -> tuple[WS, int, Any] | None:
        return self.condition(p, "elif")

    def bare(self, p: int, word: str) -> tuple[WS, int, Any] | None:
        r = self.g.simple_tag(p, word)
        return None if r is None else (r[0], r[1], None)

    def tag_else(self, p: int) -> tuple[WS, int, Any] | None:
        return self.bare(p, "else")

    def tag_endif(self, p: int) -> tuple[WS, int, Any] | None:
        return self.bare(p, "endif")

    def tag_endfor(self, p: int) -> tuple[WS, int, Any] | None:
        return self.bare(p, "endfor")

    def tag_endfilter(self, p: int) -> tuple[WS, int, Any] | None:
        return self.bare(p, "endfilter")

    def tag_break(self, p: int) -> tuple[WS, int, Any] | None:
        return self.bare(p, "break")

    def tag_continue(self, p: int) -> tuple[WS, int, Any] | None:
        return self.bare(p, "continue")

    def tag_raw(self, p: int) -> tuple[WS, int, Any] | None:
        return self.bare(p, "raw")

    def tag_endraw(self, p: int) -> tuple[WS, int, Any] | None:
        return self.bare(p, "endraw")

    def named_end(self, p: int, word: str) -> tuple[WS, int, Any] | None:
        g = self.g
        k = g.keyword_tag(p, word, False)
        if k is None:
            return None
        q = g.skip(k[1])
        r = g.ident(q)
        if r is not None:
            q = r[1]
        c = g.close(k[0], q)
        return None if c is None else (c[0], c[1], None)

    def tag_endblock(self, p: int) -> tuple[WS, int, Any] | None:
        return self.named_end(p, "endblock")

    def tag_endmacro(self, p: int) -> tuple[WS, int, Any] | None:
        return self.named_end(p, "endmacro")

    def tag_for(self, p: int) -> tuple[WS, int, Any] | None:
        g = self.g
        k = g.keyword_tag(p, "for", True)
        if k is None:
            return None
        ws, q = k
        r = g.ident(q)
        if r is None:
            return None
        names = [r[0]]
        q = r[1]
        if g.s.startswith(",", q):
            r = g.ident(g.skip(q + 1))
            if r is not None:
                names.append(r[0])
                q = r[1]
        q1 = g.ws1(q)
        if q1 is None:
            return None
        after_in = g.lit(g.skip(q1), "in")
        if after_in is None:
            return None
        q1 = g.ws1(after_in)
        if q1 is None:
            return None
        q = g.skip(q1)
        c = g.basic_expr_filter(q) or g.array_filter(q)
        if c is None:
            return None
        end = g.close(ws, c[1])
        return None if end is None else (end[0], end[1], (names, c[0]))

    def tag_filter(self, p: int) -> tuple[WS, int, Any] | None:
        g = self.g
        k = g.keyword_tag(p, "filter", True)
        if k is None:
            return None
        ws, q = k
        r = g.fn_call(q)
        if r is None:
            r2 = g.ident(q)
            if r2 is None:
                return None
            r = (FnCall(r2[0], {}), r2[1])
        c = g.close(ws, r[1])
        return None if c is None else (c[0], c[1], r[0])

    def tag_macro(self, p: int) -> tuple[WS, int, Any] | None:
        g = self.g
        k = g.keyword_tag(p, "macro", True)
        if k is None:
            return None
        ws, q = k
        r = g.ident(q)
        if r is None:
            return None
        name, q = r
        q2 = g.lit(g.skip(q), "(")
        if q2 is None:
            return None
        q = g.skip(q2)
        args: dict[str, Expr | None] = {}
        first = True
        while True:
            t = q
            if not first:
                t = g.skip(q)
                if not g.s.startswith(",", t):
                    break
                t = g.skip(t + 1)
            arg = self.macro_def_arg(t)
            if arg is None:
                break
            args[arg[0][0]] = arg[0][1]
            q = arg[1]
            first = False
        end = g.lit(g.skip(q), ")")
        if end is None:
            return None
        c = g.close(ws, end)
        return None if c is None else (c[0], c[1], (name, args))

    def macro_def_arg(self, p: int) -> R:
        g = self.g
        r = g.ident(p)
        if r is None:
            return None
        name, q = r
        if g.s.startswith("=", q):
            for rule in (g.boolean, g.string, g.float_, g.int_):
                v = rule(q + 1)
                if v is not None:
                    return (name, Expr(v[0])), v[1]
        return (name, None), q

    def tag_extends(self, p: int) -> tuple[WS, int, Any] | None:
        g = self.g
        k = g.keyword_tag(p, "extends", True)
        if k is None:
            return None
        r = g.string(k[1])
        if r is None:
            return None
        c = g.close(k[0], r[1])
        return None if c is None else (c[0], c[1], r[0].value)

    def tag_import(self, p: int) -> tuple[WS, int, Any] | None:
        g = self.g
        k = g.keyword_tag(p, "import", True)
        if k is None:
            return None
        r = g.string(k[1])
        if r is None:
            return None
        q = g.ws1(r[1])
        if q is None:
            return None
        q = g.lit(g.skip(q), "as")
        if q is None or g.ws1(q) is None:
            return None
        r2 = g.ident(g.skip(q + 1))
        if r2 is None:
            return None
        c = g.close(k[0], r2[1])
        return None if c is None else (c[0], c[1], (r[0].value, r2[0]))


_LONG_NUMBER_RE: Final = re.compile(r"[0-9]{19}")


def _out_of_range(data: Any, text: str = "0" * 19) -> str | None:
    """Tera's parser turns literals into i64 after the grammar matched: report the overflow."""
    if not _LONG_NUMBER_RE.search(text):
        return None  # no literal long enough to overflow: skip the walk
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, IntLit):
            if not I64_MIN <= item.value <= I64_MAX:
                return f"Integer out of bounds: `{item.value}` (Tera's integers are 64-bit)"
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in fields(item))
    return None


# --------------------------------------------------------------------------------------------
# Structure: which tags may stand where (tera.pest's content, for_content, block_content, ...)

_OPENERS: Final = {
    "if": ("elif", "else", "endif"),
    "for": ("else", "endfor"),
    "filter": ("endfilter",),
    "block": ("endblock",),
    "macro": ("endmacro",),
}
_CLOSERS: Final = {"elif", "else", "endif", "endfor", "endfilter", "endblock", "endmacro", "endraw"}
_END_OF: Final = {
    "if": "endif",
    "for": "endfor",
    "filter": "endfilter",
    "block": "endblock",
    "macro": "endmacro",
}


def _syntax_message(kind: str, detail: str) -> str:
    if kind in ("var", "{{"):
        label = "`{{ }}` expression"
    elif kind in ("comment", "{#"):
        label = "comment"
    elif kind in _TAG_WORDS:
        label = f"`{{% {kind} %}}` tag"
    else:
        label = "`{% %}` tag"
    return f"Failed to parse the {label}: {detail}"


class _Builder:
    def __init__(self, src: str, items: list[_Item]) -> None:
        self.src = src
        self.items = items
        self.i = 0
        self.errors: list[ParseError] = []

    def error(self, start: int, end: int, message: str) -> None:
        self.errors.append(ParseError(start, end, message))

    def top(self) -> list[Node]:
        # template = SOI ~ comment_tag* ~ ...: comments at the very start are dropped whole,
        # their whitespace control included
        pos = 0
        while self.i < len(self.items):
            item = self.items[self.i]
            if not (isinstance(item, _Tag) and item.kind == "comment" and item.start == pos):
                break
            pos = item.end
            self.i += 1
        nodes = self.body("top", ())
        while self.i < len(self.items):  # a closer that matched nothing: report, go on
            item = self.items[self.i]
            self.i += 1
            assert isinstance(item, _Tag | _BadTag)
            self.stray(item)
            nodes.extend(self.body("top", ()))
        return nodes

    def stray(self, item: _Tag | _BadTag) -> None:
        if isinstance(item, _BadTag):
            self.error(item.start, item.end, _syntax_message(item.kind, item.message))
            return
        self.error(item.start, item.end, f"`{{% {item.kind} %}}` without a matching opening tag")

    def body(self, ctx: str, stops: tuple[str, ...]) -> list[Node]:
        """Nodes up to a closer; ``ctx`` is the grammar's content kind (top, content, for,
        block, filter, macro). Stops at any closer (the caller decides whether it is its own)."""
        nodes: list[Node] = []
        while self.i < len(self.items):
            item = self.items[self.i]
            if isinstance(item, _TextItem):
                nodes.append(Text(item.start, item.end))
                self.i += 1
                continue
            if isinstance(item, _BrokenItem):
                self.error(item.start, item.end, item.message)
                nodes.append(Broken(item.start, item.end))
                self.i += 1
                continue
            kind = item.kind
            if kind in _CLOSERS:
                return nodes
            self.i += 1
            if isinstance(item, _BadTag):
                self.error(item.start, item.end, _syntax_message(kind, item.message))
                node = self.bad_opener(item, ctx)
                nodes.append(node)
                continue
            nodes.append(self.tag(item, ctx))
        return nodes

    def bad_opener(self, item: _BadTag, ctx: str) -> Node:
        """A broken opening tag still pairs with its end tag (no second error there)."""
        span = (item.start, item.end)
        if item.kind == "if":
            cond = Condition(item.ws, None, [], span)
            node = If([cond], None, WS(), span)
            cond.body = self.body(_inner(ctx, "if"), _OPENERS["if"])
            self.finish_if(node, item, ctx)
            return node
        if item.kind == "for":
            loop = Forloop(item.ws, None, "", None, [], None, WS(), span)
            self.finish_block(loop, "for", item, ctx)
            return loop
        if item.kind in ("filter", "block", "macro"):
            section = FilterSection(item.ws, None, [], WS(), span)
            self.finish_block(section, item.kind, item, ctx)
            return section
        return Bad(item.ws, span)

    def tag(self, item: _Tag, ctx: str) -> Node:
        kind, span, ws = item.kind, (item.start, item.end), item.ws
        if kind == "var":
            return VariableBlock(ws, item.data, span)
        if kind == "comment":
            return Comment(ws, span)
        if kind in ("set", "set_global"):
            name, value = item.data
            return Set(ws, name, value, kind == "set_global", span)
        if kind == "include":
            names, ignore = item.data
            return Include(ws, names, ignore, span)
        if kind == "raw":
            text_start, text_end, end_ws = item.data
            return Raw(ws, text_start, text_end, end_ws, span)
        if kind in ("break", "continue"):
            if ctx != "for":
                self.error(
                    item.start,
                    item.end,
                    f"`{{% {kind} %}}` can only stand inside a `{{% for %}}` loop"
                    + (" (not inside a `{% filter %}` section)" if ctx == "filter" else ""),
                )
                return Bad(ws, span)
            return Break(ws, span) if kind == "break" else Continue(ws, span)
        if kind in ("extends", "import"):
            self.error(
                item.start,
                item.end,
                f"`{kind}` needs other templates, and mirrord renders the config file on its own",
            )
            return Bad(ws, span)
        if kind == "if":
            cond = Condition(ws, item.data, [], span)
            node = If([cond], None, WS(), span)
            cond.body = self.body(_inner(ctx, "if"), _OPENERS["if"])
            self.finish_if(node, item, ctx)
            return node
        if kind == "for":
            names, container = item.data
            key, value = (None, names[0]) if len(names) == 1 else (names[0], names[1])
            loop = Forloop(ws, key, value, container, [], None, WS(), span)
            self.finish_block(loop, "for", item, ctx)
            return loop
        if kind == "filter":
            section = FilterSection(ws, item.data, [], WS(), span)
            self.finish_block(section, "filter", item, ctx)
            return section
        if kind == "block":
            block = Block(ws, item.data, [], WS(), span)
            if ctx not in ("top", "content", "block", "filter"):
                self.error(
                    item.start, item.end, "`{% block %}` cannot stand inside a loop or macro"
                )
            self.finish_block(block, "block", item, ctx)
            return block
        if kind == "macro":
            name, args = item.data
            macro = MacroDefinition(ws, name, args, [], WS(), span)
            if ctx != "top":
                self.error(
                    item.start, item.end, "`{% macro %}` must stand at the top level of the file"
                )
            self.finish_block(macro, "macro", item, ctx)
            return macro
        raise AssertionError(kind)  # every other kind is a closer, handled by body()

    def finish_block(
        self,
        node: Forloop | FilterSection | Block | MacroDefinition,
        word: str,
        opener: _Tag | _BadTag,
        ctx: str,
    ) -> None:
        inner = _inner(ctx, word)
        node.body = self.body(inner, _OPENERS[word])
        while self.i < len(self.items):
            item = self.items[self.i]
            assert isinstance(item, _Tag | _BadTag)
            if word == "for" and item.kind == "else" and isinstance(node, Forloop):
                self.i += 1
                if isinstance(item, _BadTag):
                    self.error(item.start, item.end, _syntax_message("else", item.message))
                # (else_tag ~ for_content*)*: each else starts the empty body afresh
                node.empty_body = self.body("for", _OPENERS["for"])
                continue
            if item.kind == _END_OF[word]:
                self.i += 1
                if isinstance(item, _BadTag):
                    self.error(item.start, item.end, _syntax_message(item.kind, item.message))
                node.end_ws = item.ws
                if isinstance(node, FilterSection):
                    node.span = (node.span[0], item.end)
                return
            break
        self.error(
            opener.start,
            opener.end,
            f"`{{% {word} %}}` is never closed: expected `{{% {_END_OF[word]} %}}`",
        )

    def finish_if(self, node: If, opener: _Tag | _BadTag, ctx: str) -> None:
        inner = _inner(ctx, "if")
        while self.i < len(self.items):
            item = self.items[self.i]
            assert isinstance(item, _Tag | _BadTag)
            if item.kind == "elif" and node.otherwise is None:
                self.i += 1
                if isinstance(item, _BadTag):
                    self.error(item.start, item.end, _syntax_message("elif", item.message))
                    expr = Expr(BoolLit(False))
                else:
                    expr = item.data
                cond = Condition(item.ws, expr, [], (item.start, item.end))
                cond.body = self.body(inner, _OPENERS["if"])
                node.conditions.append(cond)
                continue
            if item.kind == "else" and node.otherwise is None:
                self.i += 1
                if isinstance(item, _BadTag):
                    self.error(item.start, item.end, _syntax_message("else", item.message))
                node.otherwise = (item.ws, self.body(inner, _OPENERS["if"]))
                continue
            if item.kind in ("elif", "else"):
                self.i += 1
                self.error(item.start, item.end, f"unexpected `{item.kind}` after `else`")
                extra = self.body(inner, _OPENERS["if"])
                if node.otherwise is not None:
                    node.otherwise[1].extend(extra)
                continue
            if item.kind == "endif":
                self.i += 1
                if isinstance(item, _BadTag):
                    self.error(item.start, item.end, _syntax_message("endif", item.message))
                node.end_ws = item.ws
                return
            break
        self.error(opener.start, opener.end, "`{% if %}` is never closed: expected `{% endif %}`")


def _inner(ctx: str, word: str) -> str:
    if word == "if":
        return "content" if ctx == "top" else ctx
    return {"for": "for", "filter": "filter", "block": "block", "macro": "macro"}[word]


# --------------------------------------------------------------------------------------------
# Whitespace control: tera's parser/whitespace.rs, on spans


def _rstrip(src: str, text: Text) -> Text | None:
    end = text.start + len(src[text.start : text.end].rstrip(RUST_WS))
    return Text(text.start, end) if end > text.start else None


def _trim_right_previous(src: str, nodes: list[Node]) -> None:
    if nodes and isinstance(nodes[-1], Text):
        last = nodes.pop()
        assert isinstance(last, Text)
        kept = _rstrip(src, last)
        if kept is not None:
            nodes.append(kept)


def remove_whitespace(src: str, nodes: list[Node], body_ws: WS | None) -> list[Node]:
    res: list[Node] = []
    previous_was_text = False
    trim_left_next = body_ws.left if body_ws is not None else False
    for node in nodes:
        if isinstance(node, Text):
            previous_was_text = True
            if not trim_left_next:
                res.append(node)
                continue
            trim_left_next = False
            start = node.end - len(src[node.start : node.end].lstrip(RUST_WS))
            if start < node.end:
                res.append(Text(start, node.end))
            continue
        if isinstance(node, VariableBlock | Set | Break | Comment | Continue | Include | Bad):
            if previous_was_text and node.ws.left:
                _trim_right_previous(src, res)
            trim_left_next = node.ws.right
        elif isinstance(node, Raw):
            if previous_was_text and node.start_ws.left:
                _trim_right_previous(src, res)
            previous_was_text = False
            trim_left_next = node.end_ws.right
            text = src[node.start : node.end]
            if node.start_ws.right:
                node.start = node.end - len(text.lstrip(RUST_WS))
                text = src[node.start : node.end]
            if node.end_ws.left:
                node.end = node.start + len(text.rstrip(RUST_WS))
            res.append(node)
            continue
        elif isinstance(node, Forloop | MacroDefinition | FilterSection | Block):
            if previous_was_text and node.start_ws.left:
                _trim_right_previous(src, res)
            previous_was_text = False
            trim_left_next = node.end_ws.right
            node.body = remove_whitespace(src, node.body, WS(node.start_ws.right, node.end_ws.left))
            res.append(node)
            continue
        elif isinstance(node, If):
            trim_left_next = node.end_ws.right
            done: list[Condition] = []
            for cond in node.conditions:
                if cond.ws.left:
                    if not done and previous_was_text:
                        _trim_right_previous(src, res)
                    elif done:
                        _trim_right_previous(src, done[-1].body)
                cond.body = remove_whitespace(src, cond.body, WS(cond.ws.right, False))
                done.append(cond)
            previous_was_text = False
            if node.otherwise is not None:
                else_ws, body = node.otherwise
                if else_ws.left and done:
                    _trim_right_previous(src, done[-1].body)
                else_body = remove_whitespace(src, body, WS(else_ws.right, False))
                if node.end_ws.left:
                    _trim_right_previous(src, else_body)
                node.otherwise = (else_ws, else_body)
            elif node.end_ws.left and done:
                _trim_right_previous(src, done[-1].body)
            res.append(node)
            continue
        previous_was_text = False
        res.append(node)
    if body_ws is not None and body_ws.right:
        _trim_right_previous(src, res)
    return res


def parse_template(src: str) -> tuple[list[Node], list[ParseError]]:
    """The template's nodes (whitespace control applied) and every syntax error in it."""
    builder = _Builder(src, _Lexer(src).items())
    nodes = builder.top()
    return remove_whitespace(src, nodes, None), builder.errors
