"""Hostile templates render within bounded time and memory (issue 16).

Loops of millions, strings and lists doubled forty times (``set_global`` in a loop), filters
that multiply their input, endless macro recursion, a range that never ends, a catastrophic
regular expression, deep nesting: each stops with a ``template`` finding that names the bound
and sits on the tag where it was reached, and the file is not judged further.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

from mirrord_ls.config import tera_eval
from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.template import render
from mirrord_ls.config.tera_eval import MAX_OUTPUT_CHARS

# Generous: the machine is shared. A bound that works stops these in well under a second.
TIME_LIMIT_S = 20.0
MEMORY_LIMIT_BYTES = 256 * 1024 * 1024

LOOP = "{% for i in range(end=100000) %}{% for j in range(end=100000) %}x{% endfor %}{% endfor %}"
DOUBLE_STRING = (
    "{% set_global x = 'ab' %}{% for i in range(end=40) %}{% set_global x = x ~ x %}"
    "{% endfor %}{{ x }}"
)
DOUBLE_LIST = (
    "{% set_global l = [1] %}{% for i in range(end=40) %}"
    "{% set_global l = l | concat(with=l) %}{% endfor %}{{ l | length }}"
)
NESTED_LIST = (
    "{% set_global l = [1] %}{% for i in range(end=40) %}{% set_global l = [l, l] %}"
    "{% endfor %}{{ l }}"
)
REPLACE_GROWTH = (
    "{% set_global x = 'abcdefghij' %}{% for i in range(end=10) %}"
    "{% set_global x = x | replace(from='', to=x) %}{% endfor %}{{ x | length }}"
)
INDENT_GROWTH = (
    "{% set_global x = 'a\nb\nc\nd' %}{% for i in range(end=20) %}"
    "{% set_global x = x ~ '\n' ~ x | indent(prefix=x) %}{% endfor %}"
)
MACRO_RECURSION = "{% macro m(n) %}{{ self::m(n=n) }}{% endmacro %}{{ self::m(n=1) }}"
ENDLESS_RANGE = "{% for i in range(end=10, step_by=0) %}x{% endfor %}"
HUGE_RANGE = "{{ range(end=9223372036854775807) | length }}"
OUTPUT_FLOOD = (
    "{% set x = 'xxxxxxxxxx' | indent(prefix='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx') %}"
    "{% set x = x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x ~ x %}"
    "{% for i in range(end=100000) %}{{ x }}{% endfor %}"
)


def _measure(source: str, monkeypatch: pytest.MonkeyPatch) -> tuple[float, int, object]:
    """Time one rendering; then the peak memory of another under tracemalloc, which slows
    Python down several times over (so there the wall-clock backstop is lifted, and the
    deterministic bounds alone stop the template)."""
    began = time.monotonic()
    rendered = render(source, {})
    elapsed = time.monotonic() - began
    with monkeypatch.context() as patch:
        patch.setattr(tera_eval, "MAX_SECONDS", 600.0)
        tracemalloc.start()
        try:
            traced = render(source, {})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert traced.errors == rendered.errors  # the same bound, met at the same tag
    return elapsed, peak, rendered


@pytest.mark.parametrize(
    ("source", "bound", "tag"),
    [
        (LOOP, "evaluation steps", "{% for j in range(end=100000) %}"),
        (DOUBLE_STRING, "a value grows beyond", "{% set_global x = x ~ x %}"),
        (DOUBLE_LIST, "a value grows beyond", "{% set_global l = l | concat(with=l) %}"),
        (NESTED_LIST, "a value grows beyond", "{% set_global l = [l, l] %}"),
        (REPLACE_GROWTH, "a value grows beyond", "{% set_global x = x | replace(from='', to=x) %}"),
        (
            INDENT_GROWTH,
            "a value grows beyond",
            "{% set_global x = x ~ '\n' ~ x | indent(prefix=x) %}",
        ),
        (MACRO_RECURSION, "levels deep", "{{ self::m(n=n) }}"),
        (ENDLESS_RANGE, "never ends", "{% for i in range(end=10, step_by=0) %}"),
        (HUGE_RANGE, "a value grows beyond", HUGE_RANGE),
        (OUTPUT_FLOOD, f"{MAX_OUTPUT_CHARS:,} characters", "{{ x }}"),
    ],
)
def test_hostile_template_stops_at_a_bound(
    source: str, bound: str, tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    elapsed, peak, rendered = _measure(source, monkeypatch)
    assert elapsed < TIME_LIMIT_S
    assert peak < MEMORY_LIMIT_BYTES
    assert rendered.truncated  # type: ignore[attr-defined]
    errors = rendered.errors  # type: ignore[attr-defined]
    stops = [e for e in errors if "stopped rendering" in e.message]
    assert len(stops) == 1, errors
    stop = stops[0]
    assert bound in stop.message
    assert stop.severity == "warning"  # mirrord-ls stopped, not mirrord
    assert source[stop.start : stop.end] == tag


def test_a_bound_becomes_one_template_finding_and_nothing_else() -> None:
    source = '{"target": "{{ key }}", ' + DOUBLE_STRING + "}"
    analysis = analyze(source, "json", None)
    assert [f.code for f in analysis.findings] == ["template"]
    finding = analysis.findings[0]
    assert finding.severity == "warning"
    assert "a value grows beyond" in finding.message
    assert source[finding.start : finding.end] == "{% set_global x = x ~ x %}"


@pytest.mark.parametrize(
    "source",
    [
        "{{ " + "(" * 5000 + "x" + ")" * 5000 + " }}",
        "{% if true %}" * 3000 + "x" + "{% endif %}" * 3000,
        "{{ " + "[" * 3000 + " }}",
        "{% set x = 1 %}" * 1900,
        "{{ x }}" * 20000,
        "{{ s is matching('(a+)+$') }}",
    ],
)
def test_pathological_input_renders_quickly_and_never_raises(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    elapsed, peak, _ = _measure(source.replace("s is", "'" + "a" * 30 + "!' is"), monkeypatch)
    assert elapsed < TIME_LIMIT_S
    assert peak < MEMORY_LIMIT_BYTES


def test_a_file_with_too_many_tags_is_not_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    source = "{{ key }}" * 20000
    elapsed, _, rendered = _measure(source, monkeypatch)
    assert elapsed < TIME_LIMIT_S
    assert rendered.truncated  # type: ignore[attr-defined]
    (error,) = rendered.errors  # type: ignore[attr-defined]
    assert "more than 2,000 template tags" in error.message
    assert error.severity == "warning"


def test_ordinary_configs_stay_far_from_the_bounds() -> None:
    source = (
        "{% for p in range(end=50) %}{% if p is odd %}{{ p }},{% endif %}{% endfor %}"
        "{{ get_env(name='X', default='a') | upper | replace(from='A', to='b') }}"
    )
    rendered = render(source, {})
    assert not rendered.errors
    assert not rendered.truncated
