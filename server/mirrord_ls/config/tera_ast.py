"""The syntax tree of a Tera 1.x template, with source spans.

The node and expression shapes follow Tera's own AST (``src/parser/ast.rs`` in tera 1.20), so
the evaluator can follow Tera's renderer (``src/renderer/processor.rs``) step by step. Every node
keeps where it stands in the file (Python ``str`` offsets) so rendered text maps back to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

# -- expressions -------------------------------------------------------------------------------


@dataclass(slots=True)
class StrLit:
    value: str


@dataclass(slots=True)
class IntLit:
    value: int


@dataclass(slots=True)
class FloatLit:
    value: float


@dataclass(slots=True)
class BoolLit:
    value: bool


@dataclass(slots=True)
class Ident:
    """A variable path exactly as written: ``a.b``, ``a[0]``, ``a[b.c]``, ``a["k"]``."""

    name: str


@dataclass(slots=True)
class Math:
    lhs: Expr
    op: str  # + - * / %
    rhs: Expr


@dataclass(slots=True)
class Logic:
    lhs: Expr
    op: str  # and or < <= > >= == !=
    rhs: Expr


@dataclass(slots=True)
class TestCall:
    ident: str
    negated: bool
    name: str
    args: list[Expr]


@dataclass(slots=True)
class FnCall:
    name: str
    args: dict[str, Expr]


@dataclass(slots=True)
class MacroCall:
    namespace: str
    name: str
    args: dict[str, Expr]


@dataclass(slots=True)
class Array:
    items: list[Expr]


@dataclass(slots=True)
class StringConcat:
    values: list[StrLit | IntLit | FloatLit | Ident | FnCall]


@dataclass(slots=True)
class In:
    lhs: Expr
    rhs: Expr
    negated: bool


ExprVal: TypeAlias = (
    StrLit
    | IntLit
    | FloatLit
    | BoolLit
    | Ident
    | Math
    | Logic
    | TestCall
    | FnCall
    | MacroCall
    | Array
    | StringConcat
    | In
)


@dataclass(slots=True)
class Expr:
    """An expression with Tera's ``negated`` flag and its filter chain."""

    val: ExprVal
    negated: bool = False
    filters: list[FnCall] = field(default_factory=list)

    def has_default_filter(self) -> bool:
        return bool(self.filters) and self.filters[0].name == "default"

    def is_marked_safe(self) -> bool:
        return bool(self.filters) and self.filters[-1].name == "safe"


# -- nodes -------------------------------------------------------------------------------------


@dataclass(slots=True)
class WS:
    """Whitespace control of a tag: ``{%-`` (left) and ``-%}`` (right)."""

    left: bool = False
    right: bool = False


@dataclass(slots=True)
class Text:
    start: int
    end: int


@dataclass(slots=True)
class Raw:
    """``{% raw %}...{% endraw %}``: the text span (after whitespace control) and the block span."""

    start_ws: WS
    start: int
    end: int
    end_ws: WS
    span: tuple[int, int]


@dataclass(slots=True)
class VariableBlock:
    ws: WS
    expr: Expr
    span: tuple[int, int]


@dataclass(slots=True)
class Comment:
    ws: WS
    span: tuple[int, int]


@dataclass(slots=True)
class Set:
    ws: WS
    key: str
    value: Expr
    is_global: bool
    span: tuple[int, int]


@dataclass(slots=True)
class Break:
    ws: WS
    span: tuple[int, int]


@dataclass(slots=True)
class Continue:
    ws: WS
    span: tuple[int, int]


@dataclass(slots=True)
class Include:
    ws: WS
    names: list[str]
    ignore_missing: bool
    span: tuple[int, int]


@dataclass(slots=True)
class Bad:
    """A tag Tera cannot parse, or one out of place: reported, renders nothing."""

    ws: WS
    span: tuple[int, int]


@dataclass(slots=True)
class Broken:
    """An opener without a closer: kept as text (flagged), reported."""

    start: int
    end: int


@dataclass(slots=True)
class Condition:
    ws: WS
    expr: Expr | None  # None: the tag did not parse (reported); its body shows once
    body: list[Node]
    span: tuple[int, int]


@dataclass(slots=True)
class If:
    conditions: list[Condition]
    otherwise: tuple[WS, list[Node]] | None
    end_ws: WS
    span: tuple[int, int]  # the opening tag


@dataclass(slots=True)
class Forloop:
    start_ws: WS
    key: str | None
    value: str
    container: Expr | None  # None: the tag did not parse (reported); nothing renders
    body: list[Node]
    empty_body: list[Node] | None
    end_ws: WS
    span: tuple[int, int]  # the opening tag


@dataclass(slots=True)
class FilterSection:
    start_ws: WS
    filter: FnCall | None
    body: list[Node]
    end_ws: WS
    span: tuple[int, int]  # from the opening tag to the end of the closing one


@dataclass(slots=True)
class Block:
    start_ws: WS
    name: str
    body: list[Node]
    end_ws: WS
    span: tuple[int, int]


@dataclass(slots=True)
class MacroDefinition:
    start_ws: WS
    name: str
    args: dict[str, Expr | None]
    body: list[Node]
    end_ws: WS
    span: tuple[int, int]


Node: TypeAlias = (
    Text
    | Raw
    | VariableBlock
    | Comment
    | Set
    | Break
    | Continue
    | Include
    | Bad
    | Broken
    | If
    | Forloop
    | FilterSection
    | Block
    | MacroDefinition
)
