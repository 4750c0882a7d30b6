"""tera.pest's expression rules, in Python: one method per rule, each returning (value, end).

The rules follow tera 1.20's grammar (``src/parser/tera.pest``) and its AST building
(``src/parser/mod.rs``): ordered choices that never backtrack into a finished alternative,
blanks where pest's implicit WHITESPACE allows them and only there, ``or``/``and``/``not``
owning the one blank after them, the string-concatenation folding, and the places where
Tera's parser itself crashes. :mod:`tera_syntax` uses them for each tag of a template.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from mirrord_ls.config.tera_ast import (
    WS,
    Array,
    BoolLit,
    Expr,
    FloatLit,
    FnCall,
    Ident,
    In,
    IntLit,
    Logic,
    MacroCall,
    Math,
    StringConcat,
    StrLit,
    TestCall,
)

__all__ = ["WS_CHARS", "Crash", "Grammar", "R"]

WS_CHARS: Final = " \t\r\n"  # pest's WHITESPACE in tera.pest
_WS: Final = WS_CHARS
_INT_RE: Final = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT_RE: Final = re.compile(r"-?(?:0\.[0-9]+|[1-9][0-9]*\.[0-9]+)")
_IDENT_RE: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_DOTTED_RE: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_]+)*")
_ALL_CHARS_RE: Final = re.compile(r"[a-zA-Z0-9_]+")

_MATH_PREC: Final = {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2}
_LOGIC_PREC: Final = {"or": 1, "and": 2}
_COMPARISON_OPS: Final = ("<=", ">=", ">", "<", "==", "!=")


class Crash(Exception):
    """Tera accepts the text but its parser then panics (a crash of mirrord, not a message)."""


R = tuple[Any, int] | None


def _memo(rule: Callable[[Grammar, int], R]) -> Callable[[Grammar, int], R]:
    """Packrat memoization: the grammar tries the same rule at the same place again and again
    (``((((x`` would otherwise take exponential time). Results are never mutated."""
    name = rule.__name__

    def memoized(self: Grammar, p: int) -> R:
        key = (name, p)
        if key in self.memo:
            return self.memo[key]
        result = rule(self, p)
        self.memo[key] = result
        return result

    return memoized


class Grammar:
    """tera.pest's expression and tag rules over one source string; each returns (value, end)."""

    def __init__(self, src: str) -> None:
        self.s = src
        self.n = len(src)
        self.far = -1
        self.expected: set[str] = set()
        self.memo: dict[tuple[str, int], R] = {}

    # -- bookkeeping

    def miss(self, pos: int, label: str) -> None:
        if pos > self.far:
            self.far, self.expected = pos, {label}
        elif pos == self.far:
            self.expected.add(label)

    def reset(self) -> None:
        """Before each tag: its own error position, its own memo (a tag never looks past it)."""
        self.far, self.expected = -1, set()
        self.memo = {}

    def skip(self, p: int) -> int:
        s, n = self.s, self.n
        while p < n and s[p] in _WS:
            p += 1
        return p

    def lit(self, p: int, text: str, quiet: bool = False) -> int | None:
        if self.s.startswith(text, p):
            return p + len(text)
        if not quiet:  # speculative alternatives (a call's `(`, a test's `is`) stay quiet
            self.miss(p, f"`{text}`")
        return None

    def word_op(self, p: int, word: str) -> int | None:
        # op_or / op_and / op_not = @{ "or" ~ WHITESPACE }: one blank belongs to the operator
        end = p + len(word)
        if self.s.startswith(word, p) and end < self.n and self.s[end] in _WS:
            return end + 1
        self.miss(p, f"`{word}`")
        return None

    # -- literals and names (atomic rules)

    def int_(self, p: int) -> R:
        m = _INT_RE.match(self.s, p)
        if m is None:
            self.miss(p, "an integer")
            return None
        return IntLit(int(m.group())), m.end()

    def float_(self, p: int) -> R:
        m = _FLOAT_RE.match(self.s, p)
        if m is None:
            self.miss(p, "a float")
            return None
        return FloatLit(float(m.group())), m.end()

    def string(self, p: int) -> R:
        if p < self.n and self.s[p] in "\"'`":
            close = self.s.find(self.s[p], p + 1)
            if close >= 0:
                return StrLit(self.s[p + 1 : close]), close + 1
        self.miss(p, "a string")
        return None

    def boolean(self, p: int) -> R:
        if self.s[p : p + 1] not in ("t", "f", "T", "F"):
            self.miss(p, "`true` or `false`")
            return None
        for word, value in (("true", True), ("false", False), ("True", True), ("False", False)):
            if self.s.startswith(word, p):
                return BoolLit(value), p + len(word)
        self.miss(p, "`true` or `false`")
        return None

    def ident(self, p: int) -> R:
        m = _IDENT_RE.match(self.s, p)
        if m is None:
            self.miss(p, "an identifier")
            return None
        return m.group(), m.end()

    def square_brackets(self, p: int) -> int | None:
        if not self.s.startswith("[", p):
            return None
        q = p + 1
        m = _INT_RE.match(self.s, q)
        if m is not None:
            q = m.end()
        else:
            r = self.string(q)
            if r is not None:
                q = r[1]
            else:
                end = self.dsbi_end(q)
                if end is None:
                    return None
                q = end
        if self.s.startswith("]", q):
            return q + 1
        self.miss(q, "`]`")
        return None

    def dsbi_end(self, p: int) -> int | None:
        m = _DOTTED_RE.match(self.s, p)
        if m is None:
            self.miss(p, "a variable")
            return None
        q = m.end()
        while q < self.n:
            if self.s[q] == ".":
                m2 = _ALL_CHARS_RE.match(self.s, q + 1)
                if m2 is not None:
                    q = m2.end()
                    continue
            if self.s[q] == "[":
                end = self.square_brackets(q)
                if end is not None:
                    q = end
                    continue
            break
        return q

    @_memo
    def dsbi(self, p: int) -> R:
        end = self.dsbi_end(p)
        return None if end is None else (Ident(self.s[p:end]), end)

    # -- calls

    def kwarg(self, p: int) -> R:
        r = self.ident(p)
        if r is None:
            return None
        name, q = r
        eq = self.lit(self.skip(q), "=")
        if eq is None:
            return None
        v = self.logic_or_array(self.skip(eq))
        if v is None:
            return None
        return (name, v[0]), v[1]

    def kwargs(self, p: int) -> R:
        r = self.kwarg(p)
        if r is None:
            return None
        (name, value), q = r
        args = {name: value}
        while True:
            t = self.skip(q)
            if self.s.startswith(",", t):
                r = self.kwarg(self.skip(t + 1))
                if r is not None:
                    (name, value), q = r
                    args[name] = value
                    continue
            else:
                self.miss(t, "`,`")
            break
        t = self.skip(q)
        if self.s.startswith(",", t):
            q = t + 1
        return args, q

    def call_args(self, p: int) -> R:
        """``"(" ~ kwargs? ~ ")"`` with the blanks pest allows."""
        q = self.lit(p, "(", quiet=True)
        if q is None:
            return None
        q = self.skip(q)
        args: dict[str, Expr] = {}
        r = self.kwargs(q)
        if r is not None:
            args, q = r
            q = self.skip(q)
        end = self.lit(q, ")")
        return None if end is None else (args, end)

    @_memo
    def fn_call(self, p: int) -> R:
        r = self.ident(p)
        if r is None:
            return None
        name, q = r
        a = self.call_args(self.skip(q))
        return None if a is None else (FnCall(name, a[0]), a[1])

    def macro_call(self, p: int) -> R:
        r = self.ident(p)
        if r is None:
            return None
        namespace, q = r
        q2 = self.lit(self.skip(q), "::", quiet=True)
        if q2 is None:
            return None
        r = self.ident(self.skip(q2))
        if r is None:
            return None
        name, q = r
        a = self.call_args(self.skip(q))
        return None if a is None else (MacroCall(namespace, name, a[0]), a[1])

    def filter(self, p: int) -> R:
        q = self.lit(p, "|")
        if q is None:
            return None
        q = self.skip(q)
        r = self.fn_call(q)
        if r is not None:
            return r
        r = self.ident(q)
        return None if r is None else (FnCall(r[0], {}), r[1])

    def filters(self, p: int) -> tuple[list[FnCall], int]:
        out: list[FnCall] = []
        while True:
            r = self.filter(self.skip(p))
            if r is None:
                return out, p
            out.append(r[0])
            p = r[1]

    # -- tests

    def test_call(self, p: int) -> R:
        r = self.ident(p)
        if r is None:
            return None
        name, q = r
        args: list[Expr] = []
        t = self.skip(q)
        if self.s.startswith("(", t):
            a = self.test_args(self.skip(t + 1))
            if a is not None:
                u = self.skip(a[1])
                if self.s.startswith(")", u):
                    return (name, a[0]), u + 1
                self.miss(u, "`)`")
        else:
            self.miss(t, "`(`")
        return (name, args), q

    def test_args(self, p: int) -> R:
        args: list[Expr] = []
        r = self.test_arg(p)
        if r is None:
            return None
        args.append(r[0])
        q = r[1]
        while True:
            t = self.skip(q)
            if not self.s.startswith(",", t):
                self.miss(t, "`,`")
                break
            r = self.test_arg(self.skip(t + 1))
            if r is None:
                break
            args.append(r[0])
            q = r[1]
        return args, q

    def test_arg(self, p: int) -> R:
        r = self.logic_expr(p)
        if r is not None:
            return r
        r = self.array_filter(p)
        if r is not None:
            # parse_test_call only expects `logic_expr` or `array` here: tera panics
            raise Crash("an array as a test argument makes Tera's parser crash (a Tera bug)")
        return None

    def test(self, p: int, negated: bool) -> R:
        r = self.dsbi(p)
        if r is None:
            return None
        ident, q = r
        q2 = self.lit(self.skip(q), "is", quiet=True)
        if q2 is None:
            return None
        q = self.skip(q2)
        if negated:
            q2 = self.lit(q, "not", quiet=True)
            if q2 is None:
                return None
            q = self.skip(q2)
        t = self.test_call(q)
        if t is None:
            return None
        (name, args), end = t
        return TestCall(ident.name, negated, name, args), end

    # -- expressions

    @_memo
    def basic_val(self, p: int) -> R:
        return (
            self.boolean(p)
            or self.test(p, True)
            or self.test(p, False)
            or self.macro_call(p)
            or self.fn_call(p)
            or self.dsbi(p)
            or self.float_(p)
            or self.int_(p)
        )

    def basic_operand(self, p: int) -> R:
        if self.s.startswith("(", p):
            r = self.basic_expr(self.skip(p + 1))
            if r is not None:
                q = self.skip(r[1])
                if self.s.startswith(")", q):
                    return r[0], q + 1
                self.miss(q, "`)`")
        else:
            self.miss(p, "`(`")
        return self.basic_val(p)

    def math_op(self, p: int) -> str | None:
        if p < self.n and self.s[p] in "+-*/%":
            return self.s[p]
        self.miss(p, "an operator")
        return None

    @_memo
    def basic_expr(self, p: int) -> R:
        r = self.basic_operand(p)
        if r is None:
            return None
        operands: list[Expr] = [Expr(r[0])]
        ops: list[str] = []
        q = r[1]
        while True:
            t = self.skip(q)
            op = self.math_op(t)
            if op is None:
                break
            r = self.basic_operand(self.skip(t + 1))
            if r is None:
                break
            ops.append(op)
            operands.append(Expr(r[0]))
            q = r[1]
        return _climb(operands, ops, _MATH_PREC, Math).val, q

    @_memo
    def basic_expr_filter(self, p: int) -> R:
        r = self.basic_expr(p)
        if r is None:
            return None
        filters, q = self.filters(r[1])
        return Expr(r[0], False, filters), q

    def concat_part(self, p: int) -> R:
        for rule in (self.fn_call, self.float_, self.int_, self.string, self.dsbi):
            r = rule(p)
            if r is not None:
                return r
        return None

    @_memo
    def string_concat(self, p: int) -> R:
        r = self.concat_part(p)
        if r is None:
            return None
        parts = [r[0]]
        q = r[1]
        while True:
            t = self.skip(q)
            if not self.s.startswith("~", t):
                break
            r = self.concat_part(self.skip(t + 1))
            if r is None:
                break
            parts.append(r[0])
            q = r[1]
        if len(parts) < 2:
            return None
        # parse_string_concat: neighbouring string literals fold into one
        values: list[StrLit | IntLit | FloatLit | Ident | FnCall] = []
        current: str | None = None
        for part in parts:
            if isinstance(part, StrLit):
                current = (current or "") + part.value
                continue
            if current:
                values.append(StrLit(current))
            current = None
            values.append(part)
        if not values:
            return StrLit(current or ""), q
        if current:
            values.append(StrLit(current))
        return StringConcat(values), q

    @_memo
    def string_expr_filter(self, p: int) -> R:
        r = self.string_concat(p) or self.string(p)
        if r is None:
            return None
        filters, q = self.filters(r[1])
        return Expr(r[0], False, filters), q

    @_memo
    def comparison_val(self, p: int) -> R:
        r = self.basic_expr_filter(p)
        if r is None:
            return None
        operands = [r[0]]
        ops: list[str] = []
        q = r[1]
        while True:
            t = self.skip(q)
            op = self.math_op(t)
            if op is None:
                break
            r = self.basic_expr_filter(self.skip(t + 1))
            if r is None:
                break
            ops.append(op)
            operands.append(r[0])
            q = r[1]
        return _climb(operands, ops, _MATH_PREC, Math), q

    def comparison_side(self, p: int) -> R:
        return self.string_expr_filter(p) or self.comparison_val(p)

    @_memo
    def comparison_expr(self, p: int) -> R:
        r = self.comparison_side(p)
        if r is None:
            return None
        lhs, q = r
        t = self.skip(q)
        for op in _COMPARISON_OPS:
            if self.s.startswith(op, t):
                r2 = self.comparison_side(self.skip(t + len(op)))
                if r2 is not None:
                    return Expr(Logic(lhs, op, r2[0])), r2[1]
                break
        else:
            self.miss(t, "a comparison operator")
        return lhs, q

    @_memo
    def in_cond(self, p: int) -> R:
        r = self.string_expr_filter(p) or self.basic_expr_filter(p)
        if r is None:
            return None
        lhs, q = r
        q = self.skip(q)
        negated = False
        t = self.word_op(q, "not")
        if t is not None:
            negated = True
            q = self.skip(t)
        t = self.lit(q, "in")
        if t is None:
            return None
        q = self.skip(t)
        c = self.string_expr_filter(q) or self.array_filter(q) or self.dsbi(q)
        if c is None:
            return None
        rhs = c[0] if isinstance(c[0], Expr) else Expr(c[0])
        return Expr(In(lhs, rhs, negated)), c[1]

    @_memo
    def logic_val(self, p: int) -> R:
        q = p
        negated = False
        t = self.word_op(q, "not")
        if t is not None:
            negated = True
            q = self.skip(t)
        r = self.in_cond(q) or self.comparison_expr(q)
        if r is not None:
            expr = r[0]
            return Expr(expr.val, negated, expr.filters), r[1]
        if self.s.startswith("(", p):
            r = self.logic_expr(self.skip(p + 1))
            if r is not None:
                q = self.skip(r[1])
                if self.s.startswith(")", q):
                    # parse_logic_val overwrites `negated` with the (absent) outer `not`
                    return Expr(r[0].val, False, r[0].filters), q + 1
                self.miss(q, "`)`")
        return None

    @_memo
    def logic_expr(self, p: int) -> R:
        r = self.logic_val(p)
        if r is None:
            return None
        operands = [r[0]]
        ops: list[str] = []
        q = r[1]
        while True:
            t = self.skip(q)
            word = "or" if self.s.startswith("or", t) else "and"
            u = self.word_op(t, word)
            if u is None:
                break
            r = self.logic_val(self.skip(u))
            if r is None:
                break
            ops.append(word)
            operands.append(r[0])
            q = r[1]
        return _climb(operands, ops, _LOGIC_PREC, Logic), q

    def array(self, p: int) -> R:
        q = self.lit(p, "[")
        if q is None:
            return None
        items: list[Expr] = []
        while True:
            t = self.skip(q)
            r = self.logic_val(t)
            if r is None:
                break
            u = self.skip(r[1])
            if not self.s.startswith(",", u):
                self.miss(u, "`,`")
                break
            items.append(r[0])
            q = u + 1
        t = self.skip(q)
        r = self.logic_val(t)
        if r is not None:
            items.append(r[0])
            q = r[1]
        end = self.lit(self.skip(q), "]")
        return None if end is None else (Array(items), end)

    @_memo
    def array_filter(self, p: int) -> R:
        r = self.array(p)
        if r is None:
            return None
        filters, q = self.filters(r[1])
        return Expr(r[0], False, filters), q

    def logic_or_array(self, p: int) -> R:
        return self.logic_expr(p) or self.array_filter(p)

    # -- tags (atomic rules: only the blanks written in the grammar)

    def ws1(self, p: int) -> int | None:
        if p < self.n and self.s[p] in _WS:
            return p + 1
        self.miss(p, "a blank")
        return None

    def tag_start(self, p: int) -> tuple[bool, int] | None:
        if self.s.startswith("{%-", p):
            return True, p + 3
        if self.s.startswith("{%", p):
            return False, p + 2
        return None

    def tag_end(self, p: int) -> tuple[bool, int] | None:
        if self.s.startswith("-%}", p):
            return True, p + 3
        if self.s.startswith("%}", p):
            return False, p + 2
        self.miss(p, "`%}`")
        return None

    def keyword_tag(self, p: int, word: str, blank_after: bool) -> tuple[WS, int] | None:
        """``tag_start ~ WHITESPACE* ~ word`` (+ WHITESPACE+ when ``blank_after``)."""
        ts = self.tag_start(p)
        if ts is None:
            return None
        q = self.skip(ts[1])
        q2 = self.lit(q, word)
        if q2 is None:
            return None
        if blank_after:
            q3 = self.ws1(q2)
            if q3 is None:
                return None
            q2 = self.skip(q3)
        return WS(ts[0], False), q2

    def close(self, ws: WS, p: int) -> tuple[WS, int] | None:
        te = self.tag_end(self.skip(p))
        if te is None:
            return None
        return WS(ws.left, te[0]), te[1]

    def simple_tag(self, p: int, word: str) -> tuple[WS, int] | None:
        """``!{ tag_start ~ word ~ tag_end }``: endif, else, break, ..."""
        k = self.keyword_tag(p, word, False)
        return None if k is None else self.close(k[0], k[1])


def _climb(operands: list[Expr], ops: list[str], prec: dict[str, int], node: Any) -> Expr:
    """Left-associative precedence climbing, as pest's PrattParser does it."""

    def parse(lhs: Expr, min_prec: int, i: int) -> tuple[Expr, int]:
        while i < len(ops) and prec[ops[i]] >= min_prec:
            op = ops[i]
            rhs = operands[i + 1]
            i += 1
            while i < len(ops) and prec[ops[i]] > prec[op]:
                rhs, i = parse(rhs, prec[op] + 1, i)
            lhs = Expr(node(lhs, op, rhs))
        return lhs, i

    return parse(operands[0], 0, 0)[0]
