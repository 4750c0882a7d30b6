"""Tests for mirrord_ls.config.template: Tera rendering as mirrord does it, and the position map."""

from __future__ import annotations

import datetime
import json
import random
import time
import tomllib
from collections.abc import Callable

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mirrord_ls.config.template import (
    Dependence,
    Rendered,
    TemplateError,
    has_template_syntax,
    mirrord_variables,
    render,
)

ENV = {"TARGET": "pod/bear", "NS": "dev", "PORT": "8080", "EMPTY": ""}


def tag_span(source: str, tag: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = source.index(tag, start + 1)
    return start, start + len(tag)


def span_of(rendered: Rendered, needle: str) -> tuple[int, int]:
    start = rendered.text.index(needle)
    return start, start + len(needle)


# -- identity ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "{}", '{"target": "pod/x"}', "a { b } c", "{ {", "100%} #} }}", "héllo 🐻 wörld"],
)
def test_identity_without_template_syntax(text: str) -> None:
    assert not has_template_syntax(text)
    r = render(text, ENV)
    assert r.text == text
    assert r.errors == ()
    assert all(r.to_source(i) == i for i in range(len(text) + 1))
    assert r.source_span(0, len(text)) == (0, len(text))
    assert not r.templated(0, len(text))


@pytest.mark.parametrize("text", ["{{", "{%", "{#", 'x "{{ y }}"'])
def test_has_template_syntax(text: str) -> None:
    assert has_template_syntax(text)


# -- get_env ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected", "error"),
    [
        ('{{ get_env(name="TARGET") }}', "pod/bear", None),
        ('{{ get_env(name="TARGET", default="pod/x") }}', "pod/bear", None),
        ('{{ get_env(name="NOPE", default="pod/x") }}', "pod/x", None),
        ("{{ get_env(name='NOPE', default='single') }}", "single", None),
        ('{{ get_env(name="NOPE", default=3) }}', "3", None),
        ('{{ get_env(name="EMPTY", default="x") }}', "", None),
        ('{{ get_env(name="NOPE") }}', "", 'environment variable "NOPE" is not set'),
        ("{{ get_env() }}", "", "didn't receive a `name` argument"),
        ("{{ get_env(name=1) }}", "", "`name` can only be a string"),
        # Tera's `default` filter is inert after a function call: this fails in mirrord too
        ('{{ get_env(name="NOPE") | default(value="x") }}', "", "`| default` does not apply"),
    ],
)
def test_get_env(source: str, expected: str, error: str | None) -> None:
    r = render(source, ENV)
    assert r.text == expected
    if error is None:
        assert r.errors == ()
    else:
        assert len(r.errors) == 1
        assert error in r.errors[0].message
        assert (r.errors[0].start, r.errors[0].end) == (0, len(source))


def test_env_is_explicit_not_the_process_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONLY_IN_PROCESS", "x")
    r = render('{{ get_env(name="ONLY_IN_PROCESS") }}', {})
    assert r.text == ""
    assert len(r.errors) == 1


# -- context variables ------------------------------------------------------------------------


def test_mirrord_variables() -> None:
    assert mirrord_variables({})["key"]
    assert "git_branch" not in mirrord_variables({})
    assert mirrord_variables({}, git_branch="feat")["git_branch"] == "feat"
    assert mirrord_variables({"MIRRORD_BRANCH_NAME": "jb"}, "feat")["git_branch"] == "jb"
    assert mirrord_variables({"MIRRORD_BRANCH_NAME": ""}, "feat")["git_branch"] == "feat"
    assert mirrord_variables({"MIRRORD_KEY": "k1"})["key"] == "k1"


@pytest.mark.parametrize(
    ("source", "variables", "expected", "error"),
    [
        ("{{ key }}", {"key": "abc"}, "abc", None),
        ("{{ git_branch }}", {"key": "k", "git_branch": "main"}, "main", None),
        ("{{ git_branch }}", {"key": "k"}, "", "Variable `git_branch` not found"),
        ("{{ git_branch | default(value='shared') }}", {"key": "k"}, "shared", None),
        ("{{ x.y }}", {"x": {"y": 1}}, "1", None),
        ("{{ x[0] }}-{{ x.1 }}", {"x": ["a", "b"]}, "a-b", None),
        ('{{ x["k"] }}', {"x": {"k": "v"}}, "v", None),
        ("{{ nope }}", {}, "", "Variable `nope` not found in context"),
    ],
)
def test_variables(
    source: str, variables: dict[str, object], expected: str, error: str | None
) -> None:
    r = render(source, {}, variables=variables)
    assert r.text == expected
    assert [e.message for e in r.errors if error is None] == []
    if error is not None:
        assert len(r.errors) == 1 and error in r.errors[0].message


def test_default_context_has_key_but_no_git_branch() -> None:
    assert render("{{ key }}", {"MIRRORD_KEY": "mine"}).text == "mine"
    assert render("{{ git_branch }}", {"MIRRORD_BRANCH_NAME": "b"}).text == "b"
    assert render("{{ git_branch }}", {}).errors


# -- expressions, filters, comments, whitespace, blocks -----------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'a' }}{{ \"b\" }}{{ `c` }}", "abc"),
        ("{{ 1 + 2 * 3 }}", "7"),
        ("{{ 7 / 2 }} {{ 6 / 3 }} {{ 7 % 3 }} {{ 2 - 5 }}", "3.5 2 1 -3"),
        ("{{ 1.5 }} {{ 0.1 + 0.2 }}", "1.5 0.30000000000000004"),
        ("{{ true }} {{ 1 == 1 }} {{ 1 == 1.0 }} {{ 'a' == 1 }}", "true true true false"),
        ('{{ "a" ~ 1 ~ "b" }}', "a1b"),
        ("{{ [1, 'x'] }}", "[1, x]"),
        ('{{ "x}}y" }}', "x}}y"),
        ('{{ get_env(name="NS") | upper }}', "DEV"),
        ('{{ "Hello" | lower | replace(from="l", to="L") }}', "heLLo"),
        ('{{ "  pad " | trim }}|', "pad|"),
        ('{{ "a,b" | split(pat=",") | join(sep="-") }}', "a-b"),
        ('{{ "abc" | length }} {{ "abc" | reverse }} {{ "abc" | capitalize }}', "3 cba Abc"),
        ('{{ get_env(name="PORT") | int + 1 }}', "8081"),
        ('{{ "hello world" | title }}', "Hello World"),
        ('{{ "abcdef" | truncate(length=3) }}', "abc…"),
        ('{{ "x" | json_encode }}', '"x"'),
        ("{{ nope | default(value='d') | upper }}", "D"),
        ('{{ "a" | safe }}', "a"),
        ("{{ not nope }}", "true"),
        ("a{# a comment {{ with }} tags #}b", "ab"),
        ("a {#- trimmed -#} b", "ab"),
        ("a  {{- 'x' -}}  b", "axb"),
        ("a\n  {%- if true %}x{% endif -%}\n  b", "axb"),
        ("{% if false %}no{% elif 1 > 0 %}yes{% else %}else{% endif %}", "yes"),
        ("{% if nope %}no{% else %}undefined is false{% endif %}", "undefined is false"),
        ("{% if nope is defined %}d{% else %}u{% endif %}", "u"),
        ("{% if 'b' in ['a', 'b'] and not false %}in{% endif %}", "in"),
        ('{% if get_env(name="NS") == "dev" %}dev{% endif %}', "dev"),
        ("{% for i in range(end=3) %}{{ i }}{% endfor %}", "012"),
        ("{% for i in [] %}x{% else %}empty{% endfor %}", "empty"),
        ("{% set s = 'ab' %}{% for c in s %}{{ loop.index }}{{ c }}{% endfor %}", "1a2b"),
        (
            "{% for i in range(end=5) %}{% if i == 2 %}{% break %}{% endif %}{{ i }}{% endfor %}",
            "01",
        ),
        (
            "{% for i in range(end=3) %}{% if i == 1 %}{% continue %}{% endif %}{{ i }}"
            "{% endfor %}",
            "02",
        ),
        ("{% set x = 'v' %}{{ x }}", "v"),
        ("{% filter upper %}abc{{ 'd' }}{% endfilter %}", "ABCD"),
        ("{% raw %}{{ left }}{% endraw %}", "{{ left }}"),
        ("{{-1}}", "1"),
    ],
)
def test_render_values(source: str, expected: str) -> None:
    r = render(source, ENV)
    assert r.errors == ()
    assert r.text == expected


# -- whole config files -----------------------------------------------------------------------

JSON_CONFIG = """{
  "target": "{{ get_env(name="TARGET", default="pod/fallback") }}",
  "namespace": "{{ get_env(name="NS") | upper }}",
  {# a comment that would be invalid JSON #}
  "feature": {"network": {"incoming": {"port": {{ get_env(name="PORT") }}}}}
}"""

TOML_CONFIG = """target = "{{ get_env(name="TARGET") }}"
{% if get_env(name="NS", default="") == "dev" -%}
[agent]
namespace = "{{ get_env(name="NS") }}"
{%- endif %}
"""

YAML_CONFIG = """target:
  path: {{ get_env(name="TARGET") }}
  namespace: {{ get_env(name="MISSING", default="default") }}
feature:
  env:
    include:
{%- for v in ["A", "B"] %}
      - {{ v }}
{%- endfor %}
"""


@pytest.mark.parametrize(
    ("source", "loads", "expected"),
    [
        (
            JSON_CONFIG,
            json.loads,
            {
                "target": "pod/bear",
                "namespace": "DEV",
                "feature": {"network": {"incoming": {"port": 8080}}},
            },
        ),
        (TOML_CONFIG, tomllib.loads, {"target": "pod/bear", "agent": {"namespace": "dev"}}),
        (
            YAML_CONFIG,
            yaml.safe_load,
            {
                "target": {"path": "pod/bear", "namespace": "default"},
                "feature": {"env": {"include": ["A", "B"]}},
            },
        ),
    ],
)
def test_config_files_render_to_parseable_text(
    source: str, loads: Callable[[str], object], expected: object
) -> None:
    r = render(source, ENV)
    assert r.errors == ()
    assert loads(r.text) == expected


# -- position mapping -------------------------------------------------------------------------


def test_templated_value_maps_to_exactly_its_tag() -> None:
    r = render(JSON_CONFIG, ENV)
    for value, tag in [
        ("pod/bear", '{{ get_env(name="TARGET", default="pod/fallback") }}'),
        ("DEV", '{{ get_env(name="NS") | upper }}'),
        ("8080", '{{ get_env(name="PORT") }}'),
    ]:
        start, end = span_of(r, value)
        assert r.source_span(start, end) == tag_span(JSON_CONFIG, tag)
        assert r.templated(start, end)
        # any part of the value maps to the whole tag too
        assert r.source_span(start + 1, end - 1 or end) == tag_span(JSON_CONFIG, tag)
        assert r.to_source(start) == tag_span(JSON_CONFIG, tag)[0]


def test_literal_text_maps_one_to_one() -> None:
    r = render(JSON_CONFIG, ENV)
    for needle in ['"target"', '"namespace"', '"feature"', '"incoming"', "}}\n}"]:
        rs, re_ = span_of(r, needle)
        ss, se = r.source_span(rs, re_)
        assert JSON_CONFIG[ss:se] == needle
        assert not r.templated(rs, re_)
        assert all(JSON_CONFIG[r.to_source(i)] == r.text[i] for i in range(rs, re_))


def test_mapping_through_whitespace_control_and_loops() -> None:
    r = render(YAML_CONFIG, ENV)
    a_start, a_end = span_of(r, "- A")
    b_start, b_end = span_of(r, "- B")
    tag = tag_span(YAML_CONFIG, "{{ v }}")
    # both loop iterations map back to the one `{{ v }}` tag
    assert r.source_span(a_start + 2, a_end) == tag
    assert r.source_span(b_start + 2, b_end) == tag
    # the literal "- " of each iteration maps onto the same source text
    assert r.to_source(a_start) == r.to_source(b_start) == YAML_CONFIG.index("- {{ v }}")


@pytest.mark.parametrize("prefix", ["é", "🐻🐻", "日本語 ", "\u200b\n"])
def test_multibyte_characters_before_a_tag(prefix: str) -> None:
    source = prefix + '"{{ get_env(name="NS") }}" ✓'
    r = render(source, ENV)
    assert r.text == prefix + '"dev" ✓'
    start, end = span_of(r, "dev")
    assert r.source_span(start, end) == tag_span(source, '{{ get_env(name="NS") }}')
    check = r.text.index("✓")
    assert source[r.to_source(check)] == "✓"
    assert r.to_source(len(r.text)) == len(source)


def test_empty_output_is_still_templated_where_it_stood() -> None:
    source = '{"port": {{ get_env(name="NOPE") }}}'
    r = render(source, ENV)
    assert r.text == '{"port": }'
    pos = r.text.index("}")
    # a JSON error at the `}` right after the empty output can be told apart
    assert r.templated(pos, pos + 1)
    assert not r.templated(0, 2)


def test_source_span_edge_cases() -> None:
    r = render("ab{{ 'x' }}cd", ENV)
    assert r.text == "abxcd"
    assert r.source_span(0, 0) == (0, 0)
    assert r.source_span(2, 2) == (2, 2)
    assert r.source_span(0, 5) == (0, 13)
    assert r.source_span(-4, 99) == (0, 13)
    assert r.to_source(3) == 11
    assert r.to_source(99) == 13


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "bad", "message", "text"),
    [
        ('"a": "{{ get_env(name="X" }}"', '{{ get_env(name="X" }}', "expected `)`", '"a": ""'),
        ("x {{ unknown() }} y", "{{ unknown() }}", "Function 'unknown' not found", "x  y"),
        ("x {{ 'a' | nope }} y", "{{ 'a' | nope }}", "Filter 'nope' not found", "x  y"),
        ("x {{ 1 | upper }} y", "{{ 1 | upper }}", "incorrect value", "x  y"),
        ("x {{ key + 1 }} y", "{{ key + 1 }}", "used in a math operation", "x  y"),
        # Tera's grammar has no string on the left of `+`: a syntax error, not a math error
        ("x {{ 'a' + 1 }} y", "{{ 'a' + 1 }}", "Failed to parse", "x  y"),
        ("x {{ }} y", "{{ }}", "Failed to parse", "x  y"),
        ("x {% if %}a{% endif %} y", "{% if %}", "Failed to parse", "x a y"),
        ("x {% include 'a' %} y", "{% include 'a' %}", "other templates", "x  y"),
        ("x {% frobnicate %} y", "{% frobnicate %}", "unknown tag", "x  y"),
        ("x {% endif %} y", "{% endif %}", "without a matching", "x  y"),
        ("x {% if true %} y", "{% if true %}", "never closed", "x  y"),
        ("x {{ throw(message='boom') }} y", "{{ throw(message='boom') }}", "boom", "x  y"),
    ],
)
def test_errors_are_placed_on_the_tag(source: str, bad: str, message: str, text: str) -> None:
    r = render(source, ENV)
    assert len(r.errors) == 1, r.errors
    err = r.errors[0]
    assert (err.start, err.end) == tag_span(source, bad)
    assert message in err.message
    assert r.text == text


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ('{\n  "target": "{{ get_env(name="T"\n}', '{{ get_env(name="T"'),
        ("a {{ 'unterminated }}\nb", "{{ 'unterminated }}"),
        ("a {% if x\nb", "{% if x"),
        ("a {# never closed\nb", "{# never closed"),
    ],
)
def test_unclosed_tags_stay_on_their_line(source: str, bad: str) -> None:
    r = render(source, ENV)
    assert [(e.start, e.end) for e in r.errors] == [tag_span(source, bad)] or (
        # a tag with a closer later on its line gets the span up to that closer
        r.errors[0].start == source.index(bad)
    )
    assert r.text.endswith("\nb") or r.text.endswith("\n}")
    # the next line survives untouched and maps 1:1
    last = len(r.text) - 1
    assert source[r.to_source(last)] == r.text[last]


def test_unclosed_tag_text_is_kept_and_flagged() -> None:
    source = '"a": "{{ get_env(name="T"'
    r = render(source, ENV)
    assert r.text == source
    assert r.templated(6, len(source))
    assert r.source_span(6, len(source)) == (6, len(source))
    assert r.errors == (TemplateError(6, len(source), "unclosed `{{`: expected `}}`"),)


def test_all_errors_are_reported_not_only_the_first() -> None:
    source = "{{ a }} {{ b }}"
    r = render(source, {}, variables={})
    assert [(e.start, e.end) for e in r.errors] == [(0, 7), (8, 15)]


def test_errors_inside_loops_report_once() -> None:
    r = render("{% for i in range(end=3) %}{{ nope }}{% endfor %}", ENV)
    assert len(r.errors) == 1


# -- property: never raises, offsets always in range ------------------------------------------

_PIECES = st.sampled_from(
    [
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        "-",
        " ",
        "\n",
        '"',
        "'",
        "`",
        "é",
        "🐻",
        "x",
        "1",
        "get_env(name=",
        '"NS"',
        ")",
        "|",
        "upper",
        "default(value=",
        "if",
        "endif",
        "for",
        "in",
        "endfor",
        "else",
        "raw",
        "endraw",
        "set",
        "=",
        "[",
        "]",
        ".",
        ",",
        "~",
        "+",
        "(",
        "not",
        "and",
        "loop.index",
        "key",
        "git_branch",
        "range(end=3)",
        "break",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(_PIECES, max_size=30).map("".join)))
def test_render_never_raises_and_offsets_stay_in_range(source: str) -> None:
    r = render(source, ENV)
    n = len(source)
    for err in r.errors:
        assert 0 <= err.start <= err.end <= n
    for i in range(len(r.text) + 1):
        assert 0 <= r.to_source(i) <= n
    for i in range(0, len(r.text) + 1, 3):
        for j in range(i, min(len(r.text), i + 7) + 1):
            s, e = r.source_span(i, j)
            assert 0 <= s <= e <= n
        r.templated(i, i + 2)


# -- what the output depends on: time, chance, environment ------------------------------------


def test_now_and_get_random_render_values_of_the_right_type() -> None:
    r = render(
        "{{ now() }}|{{ now(utc=true) }}|{{ now(timestamp=true) }}"
        "|{{ get_random(start=3, end=9) }}",
        ENV,
        rng=random.Random(1),
    )
    assert r.errors == ()
    local, utc, stamp, number = r.text.split("|")
    assert datetime.datetime.fromisoformat(local).tzinfo is not None
    assert utc.endswith("+00:00")
    assert abs(int(stamp) - time.time()) < 3600
    assert 3 <= int(number) < 9


def test_dependent_spans_say_time_chance_or_environment() -> None:
    source = (
        '{"a": "{{ now() }}", "b": "{{ get_random(end=9) }}", "c": "{{ get_env(name="NS") }}",'
        ' "d": "plain", "e": "{{ 1 + 1 }}"}'
    )
    r = render(source, ENV, variables={"key": "k"})
    assert r.errors == ()

    def dep(value_start: str) -> Dependence:
        start = r.text.index(value_start) + len(value_start)
        end = r.text.index('"', start)
        return r.depends_on(start, end)

    assert dep('"a": "') == Dependence.TIME
    assert dep('"b": "') == Dependence.RANDOM
    assert dep('"c": "') == Dependence.ENV
    assert dep('"d": "') == Dependence.NONE
    assert dep('"e": "') == Dependence.NONE
    assert {d for _, _, d in r.dependent_spans} == {
        Dependence.TIME,
        Dependence.RANDOM,
        Dependence.ENV,
    }


def test_dependence_flows_through_variables_loops_and_conditions() -> None:
    source = (
        '{% set t = get_env(name="NS") | upper %}[{{ t }}]'
        '{% if get_env(name="PORT") == "8080" %}<literal>{% endif %}'
        '{% for c in [get_env(name="NS")] %}({{ loop.index }}){% endfor %}'
        "{{ key }}"
    )
    r = render(source, ENV)  # the default key is the placeholder mirrord replaces at random
    assert r.errors == ()
    assert r.depends_on(*span_of(r, "DEV")) == Dependence.ENV
    assert r.depends_on(*span_of(r, "<literal>")) == Dependence.ENV  # present because of env
    assert r.depends_on(*span_of(r, "(1)")) == Dependence.ENV
    assert r.depends_on(*span_of(r, "mirrord-session-key")) == Dependence.RANDOM
    mine = render("{{ key }}", {"MIRRORD_KEY": "mine"})
    assert mine.depends_on(0, len(mine.text)) == Dependence.ENV


# -- the built-ins that used to render empty (expected values are Tera 1.20's) ------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'a\nb\n\nc' | indent }}", "a\n    b\n\n    c"),
        ("{{ 'a\nb' | indent(prefix='> ', first=true) }}", "> a\n> b"),
        (
            "{{ 1536 | filesizeformat }}|{{ 1048576 | filesizeformat(binary=true) }}",
            "1.50 kB|1 MiB",
        ),
        ("{{ 1700000000 | date(format='%Y-%m-%d %H:%M') }}", "2023-11-14 22:13"),
        ("{{ '2019-09-19' | date(format='%d/%m/%Y') }}", "19/09/2019"),
        ("{{ '<p>a <b>b</b></p><!-- c -->' | striptags }}", "a b"),
        ("{{ 'a\nb\r\nc' | linebreaksbr }}", "a<br>b<br>c"),
        ("{{ '<a>  \n <b>' | spaceless }}", "<a><b>"),
        ("{{ [1, 2, 3] | slice(start=1) }}|{{ [1, 2, 3] | slice(end=-1) }}", "[2, 3]|[1, 2]"),
        # array literals hold no arrays in Tera's grammar: build them from variables
        (
            "{% set a = [1, 'a'] %}{% set b = [2, 'b'] %}"
            "{{ [a, b, a] | group_by(attribute='1') | json_encode }}",
            '{"a":[[1,"a"],[1,"a"]],"b":[[2,"b"]]}',
        ),
        (
            "{% set a = [1, 'a'] %}{% set b = [2, 'b'] %}"
            "{{ [a, b] | filter(attribute='1', value='b') }}|{{ [a, b] | map(attribute='0') }}",
            "[[2, b]]|[1, 2]",
        ),
        ("{{ [[1]] }}", None),
        ("{{ 1 | pluralize }}|{{ 2 | pluralize(singular='y', plural='ies') }}", "|ies"),
    ],
)
def test_builtins_render_as_tera_does(source: str, expected: str | None) -> None:
    r = render(source, ENV)
    if expected is None:
        assert r.errors
        return
    assert r.errors == ()
    assert r.text == expected
