"""Render mirrord config files the way mirrord does, with Tera templates, and map positions back.

mirrord (``mirrord/config/src/lib.rs``, ``LayerFileConfig::from_path``) renders the *whole*
config file with Tera 1.x (``Tera::default()``, ``add_raw_template("main", ...)``, so no HTML
autoescaping) before it parses the result as JSON, TOML or YAML. Its Tera context holds only
two variables:

- ``key``: the session key (``MIRRORD_KEY`` from the environment, else the file's own ``key``
  field rendered first, else a random key); always defined.
- ``git_branch``: ``MIRRORD_BRANCH_NAME`` when non-empty, else ``git branch --show-current``;
  left out of the context when unknown, so ``{{ git_branch }}`` then fails to render.

Everything else is Tera's built-ins: ``get_env(name=..., default=...)``, ``range``, ``now``,
``get_random``, ``throw``, the built-in filters and tests (:mod:`tera_filters`).

This module evaluates templates itself rather than binding the real engine, because a language
server needs more than the rendered text: every character of the output maps back to the
character (literal text) or the tag (template output) it came from, the environment is the one
the server passes in (not the process environment), and a broken tag must not lose the rest of
the file. Parsing (:mod:`tera_syntax`) and evaluation follow tera 1.20's source step by step,
and a differential test checks them against the real engine. Tera stops at the first error;
here each failing tag gets a :class:`TemplateError` and renders as an empty string, so a file
with one typo still gets its other diagnostics.

The output also says where it depends on more than the file (:class:`Dependence`): text that
came from ``now()``, ``get_random()``, ``get_env()`` or the session key, or that is there only
because a condition on one of those held. And evaluation is bounded (steps, output size, value
size): a hostile template stops with a ``template`` finding instead of taking the editor down.
"""

from __future__ import annotations

import bisect
import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from mirrord_ls.config.tera_eval import ENV, LITERAL, OUTPUT, RANDOM, TIME, Piece, evaluate
from mirrord_ls.findings import Severity

__all__ = [
    "Dependence",
    "Rendered",
    "TemplateError",
    "has_template_syntax",
    "mirrord_variables",
    "render",
]


@dataclass(frozen=True)
class TemplateError:
    """A template problem, placed on the original text (Python ``str`` offsets).

    ``severity`` is ``error`` when mirrord fails to render the file; a bound that stops
    mirrord-ls (not mirrord) is a ``warning``.
    """

    start: int
    end: int
    message: str
    severity: Severity = "error"


class Dependence(enum.Flag):
    """What a stretch of rendered text depends on besides the file itself."""

    NONE = 0
    TIME = TIME  # now()
    RANDOM = RANDOM  # get_random(), or the session key mirrord makes up
    ENV = ENV  # get_env(), MIRRORD_KEY, MIRRORD_BRANCH_NAME


_LITERAL: Final = LITERAL
_OUTPUT: Final = OUTPUT
_Piece = Piece


@dataclass(frozen=True)
class Rendered:
    """The rendered text, the template errors, and the map back to the source.

    ``truncated`` is true when a bound stopped the rendering: the text is then incomplete and
    should not be judged as a config.
    """

    text: str
    errors: tuple[TemplateError, ...]
    _source_len: int = field(default=0, repr=False, compare=False)
    # None means identity (no template syntax at all): the common, zero-cost case.
    _pieces: tuple[_Piece, ...] | None = field(default=None, repr=False, compare=False)
    _starts: tuple[int, ...] = field(default=(), repr=False, compare=False)
    # Output-of-a-tag intervals in the rendered text, zero-length ones included: a tag that
    # rendered to nothing (or failed) still explains a parse error right where it stood.
    _templated: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)
    # (start, end, Dependence value) of the rendered text that depends on time, chance or env
    _dependent: tuple[tuple[int, int, int], ...] = field(default=(), repr=False, compare=False)
    truncated: bool = False

    def _piece_at(self, offset: int) -> _Piece | None:
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
        return _overlaps(((a, b) for a, b in self._templated), start, end)

    def depends_on(self, start: int, end: int) -> Dependence:
        """What the rendered span [start, end) depends on: the time, chance, the environment.

        A check whose verdict rests on such a span can say so ("depends on the time"), and a
        value that depends on the environment must not be sent to a cluster the user did not
        choose. Empty when the span is plain file text.
        """
        found = Dependence.NONE
        for a, b, flags in self._dependent:
            if _overlaps(((a, b),), start, end):
                found |= Dependence(flags)
        return found

    @property
    def dependent_spans(self) -> tuple[tuple[int, int, Dependence], ...]:
        """Every stretch of rendered text that depends on the time, chance or the environment."""
        return tuple((a, b, Dependence(flags)) for a, b, flags in self._dependent)


def _overlaps(intervals: Any, start: int, end: int) -> bool:
    for a, b in intervals:
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
    text: str,
    env: Mapping[str, str],
    *,
    variables: Mapping[str, Any] | None = None,
    rng: random.Random | None = None,
) -> Rendered:
    """Render ``text`` like mirrord; never raises.

    ``env`` stands in for the process environment (``get_env``). ``variables`` is the Tera
    context; by default :func:`mirrord_variables` of ``env`` (no git branch known).
    ``rng`` draws ``get_random``'s numbers (tests pass a seeded one).
    """
    if not has_template_syntax(text):
        return Rendered(text, (), len(text))
    context = dict(mirrord_variables(env) if variables is None else variables)
    try:
        out = evaluate(text, env, context, rng or random.Random(), _KEY_PLACEHOLDER)
    except RecursionError:
        message = "mirrord-ls could not evaluate the template: it nests too deeply"
        return Rendered(text, (TemplateError(0, 0, message, "warning"),), len(text), truncated=True)
    except Exception as exc:  # a bug or pathological input must not take the server down
        message = f"mirrord-ls could not evaluate the template: {type(exc).__name__}"
        return Rendered(text, (TemplateError(0, 0, message, "warning"),), len(text), truncated=True)
    errors = tuple(
        TemplateError(start, end, message, "warning" if severity == "warning" else "error")
        for start, end, message, severity in out.errors
    )
    if out.truncated and not out.pieces:
        return Rendered(out.text, errors, len(text), truncated=True)
    return Rendered(
        out.text,
        errors,
        len(text),
        out.pieces,
        tuple(p[0] for p in out.pieces),
        out.templated,
        out.dependent,
        out.truncated,
    )
