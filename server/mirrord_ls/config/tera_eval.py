"""Evaluate a parsed Tera template as tera 1.20's renderer does, with a map of the output.

A port of tera's ``src/renderer/processor.rs`` (with ``call_stack.rs``, ``stack_frame.rs`` and
``for_loop.rs``): the same lookups (frames, then the context, with tera's dotted pointers), the
same i64/u64/f64 arithmetic and its errors, the same truthiness, the same quirks. On top of
Tera it records where each piece of output comes from (literal text, or a tag), what it
depends on (time, chance, the environment: as bit flags, see ``Dependence`` in
:mod:`template`), and it stops at the bounds below instead of running away.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from mirrord_ls.config import tera_ast as ast
from mirrord_ls.config.tera_dates import now_value
from mirrord_ls.config.tera_filters import FILTERS, TESTS
from mirrord_ls.config.tera_syntax import TooManyTags, parse_template
from mirrord_ls.config.tera_values import (
    I64_MAX,
    I64_MIN,
    MISSING,
    U64_MAX,
    TeraCrash,
    TeraFailure,
    conv_int,
    conv_str,
    conv_uint,
    display,
    dotted_pointer,
    graphemes,
    is_i64,
    is_number,
    is_u64,
    json_eq,
    rust_f64,
    ryu_f64,
    show,
    to_json,
    truthy,
)

__all__ = ["MAX_OUTPUT_CHARS", "MAX_SECONDS", "MAX_STEPS", "Evaluation", "evaluate"]

# Dependence flags (template.Dependence has the same values)
TIME: Final = 1  # now()
RANDOM: Final = 2  # get_random(), or the session key mirrord makes up
ENV: Final = 4  # get_env(), MIRRORD_KEY, MIRRORD_BRANCH_NAME

# Piece kinds of the rendered text: how a run of output relates to the source.
LITERAL: Final = 0  # copied from the source, offsets shift 1:1
OUTPUT: Final = 1  # produced by a tag: every offset maps onto the whole tag
BROKEN: Final = 2  # copied 1:1 from an unparseable tag, flagged as template material

Piece = tuple[int, int, int, int, int]  # out_start, out_end, src_start, src_end, kind


@dataclass(frozen=True)
class Evaluation:
    text: str
    errors: tuple[tuple[int, int, str, str], ...]  # start, end, message, severity
    pieces: tuple[Piece, ...]
    templated: tuple[tuple[int, int], ...]
    dependent: tuple[tuple[int, int, int], ...]  # start, end, dependence flags
    truncated: bool


# Bounds: a config file renders in well under a thousand steps; these stop hostile templates
# (loops of millions, a string doubled forty times) long before they hurt the editor.
MAX_STEPS: Final = 100_000
MAX_OUTPUT_CHARS: Final = 2_000_000
MAX_VALUE_SIZE: Final = 1_000_000  # characters of a value, its strings and items counted
MAX_ITEMS: Final = 100_000  # items of one array or object
MAX_SECONDS: Final = 5.0  # a backstop for the step count on a slow machine
_CHARS_PER_STEP: Final = 64  # work on big strings and lists costs steps too
_MAX_MACRO_DEPTH: Final = 64


def _variable_dependence(
    variables: Mapping[str, Any], env: Mapping[str, str], placeholder: str
) -> dict[str, int]:
    """Which context variables come from the environment or chance (see mirrord_variables)."""
    deps: dict[str, int] = {}
    key = variables.get("key")
    if key is not None and key == env.get("MIRRORD_KEY"):
        deps["key"] = ENV
    elif key == placeholder:
        deps["key"] = RANDOM
    branch = variables.get("git_branch")
    if branch is not None and branch == env.get("MIRRORD_BRANCH_NAME"):
        deps["git_branch"] = ENV
    return deps


def evaluate(
    source: str,
    env: Mapping[str, str],
    variables: dict[str, Any],
    rng: random.Random,
    key_placeholder: str,
) -> Evaluation:
    """Parse and render ``source``; raises only on bugs (the caller guards)."""
    return _Renderer(source, env, variables, rng, key_placeholder).run()


# --------------------------------------------------------------------------------------------
# Evaluation: tera's renderer/processor.rs, call_stack.rs, stack_frame.rs and for_loop.rs


class _Bound(Exception):
    """A bound on evaluation was reached: stop rendering, say which and where."""

    def __init__(self, message: str, where: tuple[int, int] = (0, 0)) -> None:
        super().__init__(message)
        self.where = where


@dataclass
class _Loop:
    key_name: str | None
    value_name: str
    values: list[Any]  # array items, graphemes of a string, or object values
    keys: list[str] | None
    length: int  # tera counts a string's chars but iterates its graphemes
    dep: int
    current: int = 0
    state: str = "normal"  # normal, break, continue


@dataclass
class _Frame:
    kind: str  # origin, for, macro
    context: dict[str, Any] = field(default_factory=dict)
    deps: dict[str, int] = field(default_factory=dict)
    loop: _Loop | None = None


def _name_hint(name: str) -> str:
    if name.split(".")[0].split("[")[0] == "git_branch":
        return " (`git_branch` is missing when the branch can't be determined: give a default)"
    return ""


class _Renderer:
    def __init__(
        self,
        source: str,
        env: Mapping[str, str],
        variables: dict[str, Any],
        rng: random.Random,
        key_placeholder: str,
    ) -> None:
        self.src = source
        self.env = env
        self.user = variables
        self.user_deps = _variable_dependence(variables, env, key_placeholder)
        self.rng = rng
        self.frames: list[_Frame] = [_Frame("origin")]
        self.macros: dict[str, ast.MacroDefinition] = {}
        self.errors: list[tuple[int, int, str, str]] = []
        self.parts: list[str] = []
        self.pieces: list[Piece] = []
        self.templated: list[tuple[int, int]] = []
        self.dependent: list[tuple[int, int, int]] = []
        self.pos = 0
        self.steps = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        # Dependence flags as plain ints here (enum arithmetic is slow in a hot loop)
        self.dep = 0  # gathered while evaluating one expression
        self.ctrl = 0  # of the conditions and loops around what renders now
        self.where: tuple[int, int] = (0, 0)
        self.macro_depth = 0
        self.sizes: dict[int, tuple[Any, int]] = {}
        self.side_text = ""  # what the last side_output() block rendered

    # -- output and its map

    def emit(self, text: str, src_start: int, src_end: int, kind: int, dep: int) -> None:
        if self.pos + len(text) > MAX_OUTPUT_CHARS:
            raise self.bound(
                f"the rendered file would be longer than {MAX_OUTPUT_CHARS:,} characters"
            )
        dep |= self.ctrl
        if kind != LITERAL:
            self.templated.append((self.pos, self.pos + len(text)))
        if dep:
            self.dependent.append((self.pos, self.pos + len(text), dep))
        if not text:
            return
        self.parts.append(text)
        self.pieces.append((self.pos, self.pos + len(text), src_start, src_end, kind))
        self.pos += len(text)

    def error(self, span: tuple[int, int], message: str) -> None:
        err = (span[0], span[1], message, "error")
        if err not in self.errors:  # a failing tag inside a loop reports once
            self.errors.append(err)

    def run(self) -> Evaluation:
        try:
            nodes, parse_errors = parse_template(self.src)
        except TooManyTags as exc:
            message = f"mirrord-ls does not render this file: {exc}"
            error = (exc.where[0], exc.where[1], message, "warning")
            return Evaluation(self.src, (error,), (), (), (), True)
        for e in parse_errors:
            self.error((e.start, e.end), e.message)
        self.collect_macros(nodes)
        truncated = False
        try:
            self.render_body(nodes)
        except _Bound as exc:
            truncated = True
            self.errors.append(
                (
                    exc.where[0],
                    exc.where[1],
                    f"mirrord-ls stopped rendering the template here: {exc}. mirrord renders "
                    f"it in full (or runs out of memory); mirrord-ls does not check the rest.",
                    "warning",
                )
            )
        return Evaluation(
            "".join(self.parts),
            tuple(self.errors),
            tuple(self.pieces),
            tuple(self.templated),
            tuple(self.dependent),
            truncated,
        )

    def collect_macros(self, nodes: list[ast.Node]) -> None:
        blocks: set[str] = set()  # Template::new's find_blocks: one namespace for the file
        for node in nodes:
            if isinstance(node, ast.MacroDefinition):
                if node.name in self.macros:
                    self.error(node.span, f"Macro `{node.name}` is duplicated")
                self.macros[node.name] = node
            elif isinstance(node, ast.Block):
                self.check_blocks(node, blocks)

    def check_blocks(self, block: ast.Block, seen: set[str]) -> None:
        if block.name in seen:
            self.error(block.span, f"Block `{block.name}` is duplicated")
        seen.add(block.name)
        for node in block.body:
            if isinstance(node, ast.Block):
                self.check_blocks(node, seen)

    # -- bounds

    def bound(self, message: str) -> _Bound:
        return _Bound(message, self.where)

    def step(self, cost: int = 1) -> None:
        self.steps += cost
        if self.steps > MAX_STEPS:
            raise self.bound(f"it takes more than {MAX_STEPS:,} evaluation steps")
        if self.steps % 1024 < cost and time.monotonic() > self.deadline:
            raise self.bound(f"it takes more than {MAX_SECONDS:g} seconds to evaluate")

    def size(self, value: Any) -> int:
        """A value's size, shared parts counted each time they appear (as Tera copies them)."""
        if isinstance(value, str):
            return len(value)
        if not isinstance(value, list | dict):
            return 1
        cached = self.sizes.get(id(value))
        if cached is not None and cached[0] is value:
            return cached[1]
        if len(value) > MAX_ITEMS:
            return MAX_VALUE_SIZE + 1
        total = 1 + len(value)
        for item in value.values() if isinstance(value, dict) else value:
            if isinstance(item, str | list | dict):
                total += self.size(item) - 1
                if total > MAX_VALUE_SIZE:
                    break
        self.sizes[id(value)] = (value, total)
        return total

    def checked(self, value: Any) -> Any:
        n = self.size(value)
        if n > MAX_VALUE_SIZE:
            raise self.bound(_TOO_BIG)
        self.step(1 + n // _CHARS_PER_STEP)
        return value

    # -- nodes

    def render_body(self, nodes: list[ast.Node]) -> None:
        for node in nodes:
            self.render_node(node)
            if self.should_break_body():
                break

    def render_node(self, node: ast.Node) -> None:
        self.step()
        if isinstance(node, ast.Text):
            self.emit(self.src[node.start : node.end], node.start, node.end, LITERAL, _NONE)
            return
        if isinstance(node, ast.Raw):
            self.emit(self.src[node.start : node.end], node.start, node.end, LITERAL, _NONE)
            return
        if isinstance(node, ast.Broken):
            self.emit(self.src[node.start : node.end], node.start, node.end, BROKEN, _NONE)
            return
        if isinstance(node, ast.Bad):
            self.emit("", node.span[0], node.span[1], OUTPUT, _NONE)
            return
        if isinstance(node, ast.Comment | ast.MacroDefinition):
            return
        outer = self.where
        self.where = getattr(node, "span", outer)
        try:
            self.render_tag(node)
        finally:
            self.where = outer

    def render_tag(self, node: ast.Node) -> None:
        if isinstance(node, ast.VariableBlock):
            with self.tracking() as deps:
                try:
                    text = display(self.eval_expression(node.expr))
                except TeraFailure as exc:
                    self.error(node.span, str(exc))
                    text = ""
            self.emit(text, node.span[0], node.span[1], OUTPUT, deps[0])
        elif isinstance(node, ast.Set):
            with self.tracking() as deps:
                try:
                    value = self.eval_expression(node.value)
                except TeraFailure as exc:
                    self.error(node.span, str(exc))
                    value = None
            self.assign(node.key, node.is_global, value, deps[0] | self.ctrl)
        elif isinstance(node, ast.If):
            self.render_if(node)
        elif isinstance(node, ast.Forloop):
            self.render_for(node)
        elif isinstance(node, ast.FilterSection):
            self.render_filter_section(node)
        elif isinstance(node, ast.Break | ast.Continue):
            loop = self.frames[-1].loop
            if loop is None:
                self.error(node.span, "`break` and `continue` only work inside a `for` loop")
            else:
                loop.state = "break" if isinstance(node, ast.Break) else "continue"
        elif isinstance(node, ast.Block):
            self.render_body(node.body)
        elif isinstance(node, ast.Include):
            if not node.ignore_missing:
                self.error(
                    node.span,
                    "`include` needs other templates, and mirrord renders the config file on "
                    "its own: add `ignore missing`, or write the content here",
                )
            self.emit("", node.span[0], node.span[1], OUTPUT, _NONE)

    def render_if(self, node: ast.If) -> None:
        saved = self.ctrl
        try:
            for cond in node.conditions:
                if cond.expr is None:  # the tag did not parse: its body shows once
                    self.render_body(cond.body)
                    return
                self.where = cond.span
                with self.tracking() as deps:
                    try:
                        ok = self.eval_as_bool(cond.expr)
                    except TeraFailure as exc:
                        self.error(cond.span, str(exc))
                        ok = False
                self.ctrl |= deps[0]
                if ok:
                    self.render_body(cond.body)
                    return
            if node.otherwise is not None:
                self.render_body(node.otherwise[1])
        finally:
            self.ctrl = saved

    def render_for(self, node: ast.Forloop) -> None:
        if node.container is None:
            return
        container = node.container
        val = container.val
        if isinstance(val, ast.Ident):
            name = val.name
        elif isinstance(val, ast.FnCall):
            name = val.name
        elif isinstance(val, ast.Array):
            name = "an array literal"
        else:
            self.error(
                node.span,
                "Forloop containers have to be an ident or a function call (tried to iterate on "
                "something else)",
            )
            return
        with self.tracking() as deps:
            try:
                value = self.eval_expression(container)
            except TeraFailure as exc:
                self.error(node.span, str(exc))
                return
        dep = deps[0]
        keyed = node.key is not None
        if isinstance(value, list | str):
            if keyed:
                self.error(
                    node.span,
                    f"Tried to iterate using key value on variable `{name}`, but it isn't an "
                    f"object/map",
                )
                return
            if isinstance(value, list):
                loop = _Loop(None, node.value, value, None, len(value), dep)
            else:
                loop = _Loop(None, node.value, graphemes(value), None, len(value), dep)
        elif isinstance(value, dict):
            if not keyed:
                self.error(
                    node.span,
                    f"Tried to iterate using key value on variable `{name}`, but it is missing "
                    f"a key",
                )
                return
            keys = sorted(value)
            loop = _Loop(node.key, node.value, [value[k] for k in keys], keys, len(keys), dep)
        else:
            self.error(
                node.span,
                f"Tried to iterate on a container (`{name}`) that has a unsupported type",
            )
            return
        saved = self.ctrl
        self.ctrl |= dep
        try:
            if loop.length == 0:
                if node.empty_body is not None:
                    self.render_body(node.empty_body)
                return
            self.frames.append(_Frame("for", loop=loop))
            try:
                for _ in range(loop.length):
                    self.step()
                    self.render_body(node.body)
                    if loop.state == "break":
                        break
                    frame = self.frames[-1]
                    frame.context.clear()
                    frame.deps.clear()
                    loop.current += 1
                    loop.state = "normal"
            finally:
                self.frames.pop()
        finally:
            self.ctrl = saved

    def should_break_body(self) -> bool:
        loop = self.frames[-1].loop
        return loop is not None and loop.state != "normal"

    @contextmanager
    def side_output(self) -> Iterator[list[tuple[int, int, int]]]:
        """Render into a buffer of its own (a filter section's or a macro's body)."""
        saved = (self.parts, self.pieces, self.templated, self.dependent, self.pos)
        self.parts, self.pieces, self.templated, self.dependent = [], [], [], []
        inner_dependent = self.dependent
        try:
            yield inner_dependent
        finally:
            self.side_text = "".join(self.parts)
            self.parts, self.pieces, self.templated, self.dependent, self.pos = saved

    def render_filter_section(self, node: ast.FilterSection) -> None:
        start, end = node.span
        with self.side_output() as inner:
            self.render_body(node.body)
        body = self.side_text
        dep = _NONE
        for _, _, flags in inner:
            dep |= flags
        if node.filter is None or node.filter.name == "safe":
            text = body
        else:
            with self.tracking() as deps:
                try:
                    text = display(self.apply_filter(body, node.filter))
                except TeraFailure as exc:
                    self.error(node.span, str(exc))
                    text = ""
            dep |= deps[0]
        self.emit(text, start, end, OUTPUT, dep)

    # -- frames and variables

    def assign(self, key: str, is_global: bool, value: Any, dep: int) -> None:
        frame = self.frames[-1]
        if is_global and frame.kind == "for":
            for candidate in reversed(self.frames):
                if candidate.kind != "for":
                    frame = candidate
                    break
        frame.context[key] = value
        frame.deps[key] = dep

    def frame_value(self, frame: _Frame, key: str) -> tuple[Any, int]:
        """StackFrame::find_value: the frame's own variables, then its loop's."""
        dot = key.find(".")
        if dot >= 0:
            root = key[:dot]
            if root in frame.context:
                found = dotted_pointer(frame.context[root], key[dot + 1 :])
                if found is not MISSING:
                    return found, frame.deps.get(root, _NONE)
                return self.loop_value(frame, key)
        elif key in frame.context:
            return frame.context[key], frame.deps.get(key, _NONE)
        return self.loop_value(frame, key)

    def loop_value(self, frame: _Frame, key: str) -> tuple[Any, int]:
        loop = frame.loop
        if loop is None:
            return MISSING, _NONE
        if loop.keys is not None and key == loop.key_name:
            return loop.keys[loop.current], loop.dep
        real, _, tail = key.partition(".")
        if real == "loop":
            if tail == "index":
                return loop.current + 1, _NONE
            if tail == "index0":
                return loop.current, _NONE
            if tail == "first":
                return loop.current == 0, _NONE
            if tail == "last":
                return loop.current == loop.length - 1, loop.dep
            return MISSING, _NONE
        if real == loop.value_name:
            if loop.current >= len(loop.values):
                raise TeraCrash(
                    "iterating over a string with combining characters makes Tera crash (it "
                    "counts characters but walks grapheme clusters)"
                )
            value = loop.values[loop.current]
            if key == loop.value_name:
                return value, loop.dep
            if tail:
                return dotted_pointer(value, tail), loop.dep
        return MISSING, _NONE

    def lookup(self, key: str) -> tuple[Any, int]:
        """CallStack::lookup: frames from the innermost, then the user context."""
        for frame in reversed(self.frames):
            found, dep = self.frame_value(frame, key)
            if found is not MISSING:
                return found, dep
            if frame.kind in ("macro", "origin"):
                break
        if "." in key:
            root = key.split(".")[0].replace("~1", "/").replace("~0", "~")
            if root not in self.user:
                return MISSING, _NONE
            return dotted_pointer(self.user[root], key[len(root) + 1 :]), self.user_deps.get(
                root, _NONE
            )
        if key in self.user:
            return self.user[key], self.user_deps.get(key, _NONE)
        return MISSING, _NONE

    def process_path(self, path: str) -> Any:
        if "[" not in path:
            value, dep = self.lookup(path)
            if value is MISSING:
                raise TeraFailure(
                    f"Variable `{path}` not found in context while rendering 'main'"
                    + _name_hint(path)
                )
        else:
            full = self.evaluate_sub_variables(path)
            value, dep = self.lookup(full)
            if value is MISSING:
                raise TeraFailure(
                    f"Variable `{path}` not found in context while rendering 'main': the "
                    f"evaluated version was `{full}`. Maybe the index is out of bounds?"
                )
        self.dep |= dep
        return value

    def evaluate_sub_variables(self, key: str) -> str:
        new_key = key
        for sub in _pull_out_square_bracket(key):
            try:
                value = self.process_path(sub)
            except TeraFailure as exc:
                raise TeraFailure(f"Variable {key} can not be evaluated because: {exc}") from None
            if isinstance(value, str):
                text = f'"{value}"'
            elif is_number(value):
                text = ryu_f64(value) if isinstance(value, float) else str(value)
            else:
                raise TeraFailure(
                    f"Only variables evaluating to String or Number can be used as index "
                    f"(`{sub}` of `{key}`)"
                )
            before, _, after = new_key.partition(f"[{sub}]")
            new_key = before + "." + text + after
        return (
            new_key.replace("/", "~1")
            .replace("['", '."')
            .replace('["', '."')
            .replace("[", ".")
            .replace("']", '"')
            .replace('"]', '"')
            .replace("]", "")
        )

    def lookup_ident(self, key: str) -> Any:
        if key == "__tera_context":
            return to_json(self.context_snapshot(), pretty=True)
        return self.process_path(key)

    def context_snapshot(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for frame in reversed(self.frames):
            merged.update(frame.context)
            loop = frame.loop
            if loop is not None and loop.current < len(loop.values):
                merged[loop.value_name] = loop.values[loop.current]
                if loop.keys is not None and loop.key_name is not None:
                    merged[loop.key_name] = loop.keys[loop.current]
            if frame.kind == "macro":
                return merged
        for dep in self.user_deps.values():
            self.dep |= dep
        return {**self.user, **merged}

    # -- expressions

    @contextmanager
    def tracking(self) -> Iterator[list[int]]:
        """Gather what one evaluation depends on (filled in when the block ends)."""
        saved, self.dep = self.dep, _NONE
        out = [_NONE]
        try:
            yield out
        finally:
            out[0] = self.dep
            self.dep = saved | self.dep

    def default_value(self, expr: ast.Expr) -> Any:
        default = expr.filters[0].args.get("value")
        if default is None:
            raise TeraFailure("The `default` filter requires a `value` argument.")
        return self.eval_expression(default)

    def eval_expression(self, expr: ast.Expr) -> Any:
        self.step()
        val = expr.val
        res: Any
        if isinstance(val, ast.Array):
            res = self.checked([self.eval_expression(item) for item in val.items])
        elif isinstance(val, ast.In):
            res = self.eval_in(val)
        elif isinstance(val, ast.StrLit):
            res = val.value
        elif isinstance(val, ast.StringConcat):
            res = self.checked(self.eval_concat(val))
        elif isinstance(val, ast.IntLit):
            res = val.value
        elif isinstance(val, ast.FloatLit):
            res = _finite(val.value)
        elif isinstance(val, ast.BoolLit):
            res = val.value
        elif isinstance(val, ast.Ident):
            try:
                res = self.lookup_ident(val.name)
            except TeraFailure:
                if expr.has_default_filter():
                    res = self.default_value(expr)
                elif expr.negated:
                    return True  # `not undefined` is true, and skips the filters
                else:
                    raise
            else:
                if res is None and expr.has_default_filter():
                    res = self.default_value(expr)
        elif isinstance(val, ast.FnCall):
            try:
                res = self.call_function(val)
            except _EnvMissing as exc:
                if expr.has_default_filter():
                    raise TeraFailure(
                        f'environment variable "{exc.name}" is not set, and `| default` does '
                        f"not apply to a function call in Tera: write "
                        f'get_env(name="{exc.name}", default="...") instead'
                    ) from None
                raise
        elif isinstance(val, ast.MacroCall):
            res = self.call_macro(val)
        elif isinstance(val, ast.TestCall):
            res = self.eval_test(val)
        elif isinstance(val, ast.Logic):
            res = self.eval_as_bool(expr)
        elif isinstance(val, ast.Math):
            number = self.eval_as_number(val)
            res = "NaN" if number is None else number
        else:  # pragma: no cover - the parser makes no other kind
            raise TeraCrash("unexpected expression")
        for flt in expr.filters:
            if flt.name in ("safe", "default"):
                continue
            res = self.apply_filter(res, flt)
        if expr.negated:
            return not truthy(res)
        return res

    def eval_concat(self, val: ast.StringConcat) -> str:
        out: list[str] = []
        for part in val.values:
            if isinstance(part, ast.StrLit):
                out.append(part.value)
            elif isinstance(part, ast.IntLit):
                out.append(str(part.value))
            elif isinstance(part, ast.FloatLit):
                out.append(rust_f64(part.value))
            else:
                value = (
                    self.lookup_ident(part.name)
                    if isinstance(part, ast.Ident)
                    else self.call_function(part)
                )
                if isinstance(value, str):
                    out.append(value)
                    if sum(map(len, out)) > MAX_VALUE_SIZE:
                        raise self.bound(_TOO_BIG)
                elif is_number(value):
                    out.append(ryu_f64(value) if isinstance(value, float) else str(value))
                else:
                    what = (
                        f"ident {part.name}"
                        if isinstance(part, ast.Ident)
                        else f"function call {part.name}"
                    )
                    raise TeraFailure(
                        f"Tried to concat a value that is not a string or a number from {what}"
                    )
        return "".join(out)

    def eval_in(self, cond: ast.In) -> bool:
        lhs = self.eval_expression(cond.lhs)
        rhs = self.eval_expression(cond.rhs)
        if isinstance(rhs, list):
            self.step(1 + len(rhs) // _CHARS_PER_STEP)
            present = any(json_eq(lhs, x) for x in rhs)
        elif isinstance(rhs, str | dict):
            if not isinstance(lhs, str):
                kind = "string" if isinstance(rhs, str) else "object"
                raise TeraFailure(
                    f"Tried to check if {show(lhs)} is in a {kind}, but it isn't a string"
                )
            present = lhs in rhs
        else:
            raise TeraFailure("The `in` operator only supports strings, arrays and objects.")
        return present != cond.negated

    def eval_test(self, test: ast.TestCall) -> bool:
        tester = TESTS.get(test.name)
        if tester is None:
            raise TeraFailure(f"Test '{test.name}' not found")
        args = [self.eval_expression(a) for a in test.args]
        try:
            found = self.lookup_ident(test.ident)
        except TeraFailure:
            found = MISSING
        result = tester(found, args)
        return not result if test.negated else result

    def eval_as_bool(self, expr: ast.Expr) -> bool:
        self.step()
        val = expr.val
        res: bool
        if isinstance(val, ast.Logic):
            logic = self.eval_logic(val)
            if logic is None:
                # tera returns Ok(false) straight away here, before applying `not`
                return False
            res = logic
        elif isinstance(val, ast.Ident):
            try:
                res = truthy(self.eval_expression(expr))
            except TeraFailure:
                res = False
            if expr.negated:
                res = not res
        elif isinstance(val, ast.Math | ast.IntLit | ast.FloatLit):
            number = self.eval_as_number(val)
            res = number is not None and float(number) != 0.0
        elif isinstance(val, ast.In):
            res = self.eval_in(val)
        elif isinstance(val, ast.TestCall):
            res = self.eval_test(val)
        elif isinstance(val, ast.BoolLit):
            res = val.value
        elif isinstance(val, ast.StrLit):
            res = val.value != ""
        elif isinstance(val, ast.FnCall):
            value = self.call_function(val)
            if not isinstance(value, bool):
                raise TeraFailure(
                    f"Function `{val.name}` was used in a logic operation but is not returning "
                    f"a bool"
                )
            res = value
        elif isinstance(val, ast.StringConcat):
            value = self.eval_expression(expr)
            if not isinstance(value, str):
                raise TeraCrash(
                    "a negated or filtered string concatenation in a condition makes Tera crash"
                )
            res = value != ""
        elif isinstance(val, ast.MacroCall):
            res = self.call_macro(val) != ""
        else:
            raise TeraCrash("this kind of value as a condition makes Tera crash")
        return not res if expr.negated else res

    def eval_logic(self, val: ast.Logic) -> bool | None:
        """None: `==`/`!=` between a number and something else, which Tera calls false
        before it looks at a `not` in front."""
        op = val.op
        if op == "or":
            return self.eval_as_bool(val.lhs) or self.eval_as_bool(val.rhs)
        if op == "and":
            return self.eval_as_bool(val.lhs) and self.eval_as_bool(val.rhs)
        if op in ("<", ">", "<=", ">="):
            left = self.eval_expr_as_number(val.lhs)
            right = self.eval_expr_as_number(val.rhs)
            if left is None or right is None:
                raise TeraFailure("Comparison to NaN")
            a, b = float(left), float(right)
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        a = self.eval_expression(val.lhs)
        b = self.eval_expression(val.rhs)
        if is_number(a) or is_number(b):
            # "We're not implementing JS so can't compare things of different types"
            if not (is_number(a) and is_number(b)):
                return None
            same = float(a) == float(b)
        else:
            self.step(1 + (self.size(a) + self.size(b)) // _CHARS_PER_STEP)
            same = json_eq(a, b)
        return same if op == "==" else not same

    def eval_expr_as_number(self, expr: ast.Expr) -> int | float | None:
        if expr.filters:
            value = self.eval_expression(expr)
            if not is_number(value):
                raise TeraFailure("Tried to do math with an expression not resulting in a number")
            return value
        return self.eval_as_number(expr.val)

    def eval_as_number(self, val: ast.ExprVal) -> int | float | None:
        """A number, or None for Tera's NaN (what ``{{ 1 / 0 }}`` renders as)."""
        self.step()
        if isinstance(val, ast.Ident | ast.FnCall):
            value = (
                self.lookup_ident(val.name)
                if isinstance(val, ast.Ident)
                else self.call_function(val)
            )
            if is_i64(value) or is_u64(value) or isinstance(value, float):
                return value
            if isinstance(val, ast.Ident):
                raise TeraFailure(
                    f"Variable `{val.name}` was used in a math operation but is not a number"
                )
            raise TeraFailure(
                f"Function `{val.name}` was used in a math operation but is not returning a number"
            )
        if isinstance(val, ast.IntLit):
            return val.value
        if isinstance(val, ast.FloatLit):
            return _finite(val.value)
        if isinstance(val, ast.Math):
            left = self.eval_expr_as_number(val.lhs)
            right = self.eval_expr_as_number(val.rhs)
            if left is None or right is None:
                return None
            return _math(left, val.op, right)
        if isinstance(val, ast.StrLit):
            raise TeraFailure(f"Tried to do math with a string: `{val.value}`")
        if isinstance(val, ast.BoolLit):
            raise TeraFailure(f"Tried to do math with a boolean: `{display(val.value)}`")
        if isinstance(val, ast.StringConcat):
            raise TeraFailure("Tried to do math with a string concatenation")
        if isinstance(val, ast.TestCall):
            raise TeraFailure(f"Tried to do math with a test: {val.name}")
        raise TeraCrash("this kind of value in a math operation makes Tera crash")

    # -- calls

    def call_function(self, call: ast.FnCall) -> Any:
        name = call.name
        if name not in _FUNCTIONS:
            raise TeraFailure(
                f"Function '{name}' not found (mirrord config templates have get_env, range, "
                f"now, get_random and throw)"
            )
        args = {key: self.eval_expression(value) for key, value in call.args.items()}
        if name == "get_env":
            return self.get_env(args)
        if name == "range":
            return self.checked(self.range(args))
        if name == "now":
            self.dep |= TIME
            return now_value(args)
        if name == "get_random":
            self.dep |= RANDOM
            return self.get_random(args)
        message = args.get("message", MISSING)
        if message is MISSING:
            raise TeraFailure("Function `throw` was called without a `message` argument")
        if not isinstance(message, str):
            raise TeraFailure(
                f"Function `throw` received message={show(message)} but `message` can only be "
                f"a string"
            )
        raise TeraFailure(message)

    def get_env(self, args: dict[str, Any]) -> Any:
        if "name" not in args:
            raise TeraFailure("Function `get_env` didn't receive a `name` argument")
        name = args["name"]
        if conv_str(name) is None:
            raise TeraFailure(
                f"Function `get_env` received name={show(name)} but `name` can only be a string"
            )
        self.dep |= ENV
        if name in self.env:
            return self.env[name]
        if "default" in args:
            return args["default"]
        raise _EnvMissing(name)

    def range(self, args: dict[str, Any]) -> list[int]:
        def number(key: str, default: int | None, label: str) -> int | None:
            if key not in args:
                return default
            value = conv_uint(args[key], 64)
            if value is None:
                raise TeraFailure(
                    f"Function `range` received {key}={show(args[key])} but `{label}` can only "
                    f"be a number"
                )
            return value

        start = number("start", 0, "start")
        step_by = number("step_by", 1, "step")
        end = number("end", None, "end")
        assert start is not None and step_by is not None
        if end is None:
            raise TeraFailure("Function `range` was called without a `end` argument")
        if start > end:
            raise TeraFailure(
                "Function `range` was called with a `start` argument greater than the `end` one"
            )
        if start < end and step_by == 0:
            raise self.bound("`range` with `step_by=0` never ends (mirrord would hang)")
        if start < end and (end - start + step_by - 1) // step_by > MAX_ITEMS:
            raise self.bound(_TOO_BIG)
        if end + step_by > U64_MAX + 1 and start < end:
            raise TeraCrash("`range` this close to the largest integer makes Tera crash")
        return list(range(start, end, step_by)) if start < end else []

    def get_random(self, args: dict[str, Any]) -> int:
        def number(key: str) -> int:
            value = conv_int(args[key], 64)
            if value is None:
                raise TeraFailure(
                    f"Function `get_random` received {key}={show(args[key])} but `{key}` can "
                    f"only be a number"
                )
            return value

        start = number("start") if "start" in args else 0
        if "end" not in args:
            raise TeraFailure("Function `get_random` didn't receive an `end` argument")
        end = number("end")
        if start >= end:
            raise TeraCrash("`get_random` with `start` not below `end` makes Tera crash")
        return self.rng.randrange(start, end)

    def apply_filter(self, value: Any, flt: ast.FnCall) -> Any:
        impl = FILTERS.get(flt.name)
        if impl is None:
            raise TeraFailure(f"Filter '{flt.name}' not found")
        args = {key: self.eval_expression(arg) for key, arg in flt.args.items()}
        self.step(1 + self.size(value) // _CHARS_PER_STEP)
        if _grown_size(flt.name, value, args) > MAX_VALUE_SIZE:  # before building it
            raise self.bound(_TOO_BIG)
        return self.checked(impl(value, args))

    def call_macro(self, call: ast.MacroCall) -> str:
        if call.namespace != "self" or not self.macros:
            raise TeraFailure(
                f"Macro namespace `{call.namespace}` was not found in template `main`. Have you "
                f"maybe forgotten to import it, or misspelled it?"
            )
        definition = self.macros.get(call.name)
        if definition is None:
            raise TeraFailure(f"Macro `self::{call.name}` not found in template `main`")
        frame = _Frame("macro")
        for arg, default in definition.args.items():
            given = call.args.get(arg)
            if given is not None:
                frame.context[arg] = self.eval_expression(given)
            elif default is not None:
                frame.context[arg] = self.eval_expression(default)
            else:
                raise TeraFailure(f"Macro `{call.name}` is missing the argument `{arg}`")
            frame.deps[arg] = self.dep
        if self.macro_depth >= _MAX_MACRO_DEPTH:
            raise self.bound(f"macros call each other more than {_MAX_MACRO_DEPTH} levels deep")
        self.macro_depth += 1
        self.frames.append(frame)
        saved_ctrl, self.ctrl = self.ctrl, _NONE
        try:
            with self.side_output() as inner:
                self.render_body(definition.body)
        finally:
            self.frames.pop()
            self.macro_depth -= 1
            self.ctrl = saved_ctrl
        for _, _, flags in inner:
            self.dep |= flags
        return str(self.checked(self.side_text))


_NONE: Final = 0
_TOO_BIG: Final = (
    f"a value grows beyond {MAX_VALUE_SIZE:,} characters or an array beyond {MAX_ITEMS:,} items"
)
_FUNCTIONS: Final = frozenset({"get_env", "range", "now", "get_random", "throw"})


class _EnvMissing(TeraFailure):
    """get_env found no variable and had no default."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f'environment variable "{name}" is not set and the template gives no default '
            f'(add one: get_env(name="{name}", default="..."))'
        )
        self.name = name


def _finite(f: float) -> float:
    if not math.isfinite(f):
        raise TeraCrash("a float literal this large makes Tera crash (it is not a JSON number)")
    return f


def _math(left: int | float, op: str, right: int | float) -> int | float | None:
    """tera's eval_as_number for `+ - * / %`: i64, then u64, then f64; None is NaN."""
    both_i64 = is_i64(left) and is_i64(right)
    both_u64 = is_u64(left) and is_u64(right)
    if op == "/":
        a, b = float(left), float(right)
        if b == 0.0:
            return None  # NaN or an infinity: not a JSON number, so Tera renders `NaN`
        q = a / b
        if not math.isfinite(q):
            return None
        if q == round(q):
            return max(I64_MIN, min(I64_MAX, int(q)))  # `res as i64` saturates
        return q
    if op == "%":
        if both_i64 or both_u64:
            assert isinstance(left, int) and isinstance(right, int)
            if right == 0:
                raise TeraFailure("Tried to do a modulo by zero")
            if both_i64 and left == I64_MIN and right == -1:
                raise TeraCrash("i64::MIN % -1 overflows: Tera crashes")
            rem = abs(left) % abs(right)
            return -rem if left < 0 else rem
        a, b = float(left), float(right)
        if b == 0.0:
            return None
        return math.fmod(a, b)
    if both_i64 or both_u64:
        assert isinstance(left, int) and isinstance(right, int)
        result = left + right if op == "+" else left - right if op == "-" else left * right
        lo, hi, kind = (I64_MIN, I64_MAX, "i64") if both_i64 else (0, U64_MAX, "u64")
        if not lo <= result <= hi:
            shown = {"+": "+", "-": "-", "*": "x"}[op]
            raise TeraFailure(f"{left} {shown} {right} results in an out of bounds {kind}")
        return result
    a, b = float(left), float(right)
    try:
        f = a + b if op == "+" else a - b if op == "-" else a * b
    except OverflowError:  # pragma: no cover - floats overflow to inf, not an exception
        f = float("inf")
    if not math.isfinite(f):
        if op == "*":
            return None
        raise TeraCrash(
            f"a float {'sum' if op == '+' else 'difference'} this large makes Tera crash"
        )
    return f


def _grown_size(name: str, value: Any, args: Mapping[str, Any]) -> int:
    """The size a filter's result would have, for the filters that multiply their input."""
    if name == "indent" and isinstance(value, str):
        prefix = args.get("prefix", "    ")
        return len(value) + (len(prefix) if isinstance(prefix, str) else 0) * (
            value.count("\n") + 1
        )
    if name == "replace" and isinstance(value, str):
        old, new = args.get("from"), args.get("to")
        if isinstance(old, str) and isinstance(new, str):
            count = len(value) + 1 if old == "" else value.count(old)
            return len(value) + count * len(new)
    if name == "join" and isinstance(value, list):
        sep = args.get("sep", "")
        return sum(len(display(x)) if isinstance(x, str) else 1 for x in value) + len(
            sep if isinstance(sep, str) else ""
        ) * len(value)
    return 0


def _pull_out_square_bracket(s: str) -> list[str]:
    """tera's pull_out_square_bracket: the variable names used as indexes."""
    results: list[str] = []
    i = 0
    n = len(s)
    while i < n:
        if s[i] != "[":
            i += 1
            continue
        i += 1
        if i >= n:
            break
        c = s[i]
        i += 1
        if c in "\"'":
            continue
        inside = [c]
        count = 1
        while i < n:
            ch = s[i]
            i += 1
            if ch == "]":
                count -= 1
            elif ch == "[":
                count += 1
            if count == 0:
                sub = "".join(inside)
                if not (sub.isascii() and sub.isdigit()):
                    results.append(sub)
                break
            inside.append(ch)
    return results
