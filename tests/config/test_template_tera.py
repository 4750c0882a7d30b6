"""Differential test: mirrord-ls's Tera against the real engine (tera 1.20 through pytera).

Both render the same template with the same context and the same environment (``get_env``
reads the worker's process environment, which the oracle sets per template). They must agree
on success or failure, and on the text when both succeed; a Tera crash (a Rust panic) must be
an error for mirrord-ls too. Output that depends on the time or chance (``now()``,
``get_random``) is compared on success only.

Hypothesis keeps to 300 templates by default; ``MIRRORD_LS_TERA_EXAMPLES=5000`` runs longer.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tera_oracle import TeraOracle

from mirrord_ls.config.template import Dependence, render

pytest.importorskip("pytera")

ENV = {"MLS_A": "alpha", "MLS_NUM": "42", "MLS_EMPTY": "", "MLS_SP": " x y "}
CONTEXT = {
    "key": "k-1",
    "git_branch": "main",
    "num": 7,
    "neg": -3,
    "big": 9223372036854775807,
    "f": 2.5,
    "s": "Hello World",
    "arr": [3, 1, 2],
    "words": ["b", "a", "b"],
    "objs": [{"name": "a", "n": 1}, {"name": "b", "n": 2}, {"name": "a", "n": 3}],
    "obj": {"x": 1, "y": [1, 2]},
    "nul": None,
    "t": True,
}
EXAMPLES = int(os.environ.get("MIRRORD_LS_TERA_EXAMPLES", "300"))


@pytest.fixture(scope="module")
def oracle() -> Iterator[TeraOracle]:
    engine = TeraOracle()
    yield engine
    engine.close()


def check(oracle: TeraOracle, template: str) -> None:
    ours = render(template, ENV, variables=CONTEXT, rng=random.Random(0))
    theirs = oracle.render(template, CONTEXT, ENV)
    ok = not ours.errors
    assert ok == (theirs.outcome == "ok"), (
        f"template {template!r}: Tera says {theirs.outcome} ({theirs.text[:300]!r}), "
        f"mirrord-ls says {[e.message for e in ours.errors]} / {ours.text!r}"
    )
    if ok and not ours.depends_on(0, len(ours.text)) & (Dependence.TIME | Dependence.RANDOM):
        assert ours.text == theirs.text, f"template {template!r}"


# -- the classes issue 12 names, each against the real engine ---------------------------------


@pytest.mark.parametrize(
    "template",
    [
        # division by zero: Tera renders NaN, whatever the sign; modulo by zero is an error
        "{{ 1 / 0 }}|{{ 0 / 0 }}|{{ -1 / 0 }}|{{ 1.5 / 0 }}|{{ 1 / 0.0 }}",
        "{{ 1 % 0 }}",
        "{{ 1.5 % 0 }}",
        "{{ (1 / 0) + 1 }}",
        "{% if 1 / 0 %}yes{% else %}no{% endif %}",
        "{% if 1 / 0 > 1 %}yes{% endif %}",
        # huge integers: literals beyond i64 do not parse, i64 overflow is an error
        "{{ 9223372036854775807 }}|{{ -9223372036854775808 }}",
        "{{ 9223372036854775808 }}",
        "{{ 9223372036854775807 + 1 }}",
        "{{ -9223372036854775808 - 1 }}",
        "{{ 4611686018427387904 * 2 }}",
        "{{ big + 0 }}|{{ big / 1 }}|{{ big * 1.0 }}",
        "{{ 10000000000000000000000.0 / 1 }}",
        "{{ 9007199254740993 | int }}",
        "{{ -9223372036854775808 | abs }}",
        # -0.0
        "{{ -0.0 }}|{{ -0.0 / 1 }}|{{ 0.0 * -1 }}|{{ -0.0 | json_encode }}|{{ -0.0 == 0.0 }}",
        "{{ -0.0 | round }}|{{ -0.0 | abs }}|{{ [-0.0] }}",
        # float formatting: Rust's Display in the output, ryu in JSON
        "{{ 0.1 + 0.2 }}|{{ 1.0 }}|{{ 100000000000000000000.0 }}|{{ 0.000001 }}|{{ 2.5 * 2 }}",
        "{{ 100000000000000000000.0 | json_encode }}|{{ 0.000001 | json_encode }}"
        "|{{ 1.0 | json_encode }}",
        "{{ 1234567.125 | json_encode }}|{{ [1.5, 2] | json_encode }}|{{ 1e3 }}",
        "{{ 'a' ~ 1.0 ~ 2 }}|{{ 'a' ~ f }}|{{ 2.5 | round }}|{{ -2.5 | round }}",
        "{{ 3.14159 | round(precision=2) }}|{{ 3.14159 | round(method='floor', precision=3) }}",
        # string escapes: Tera strings have none; json_encode escapes like serde_json
        r"{{ 'a\nb' }}|{{ 'a\tb' | json_encode }}|{{ `tick \ ` }}|{{ 'say \"hi\"' }}",
        "{{ 'line\none' | json_encode }}|{{ 'é/<' | json_encode }}|{{ 'a\"b' | json_encode }}",
        r"{{ 'a,b\nc' | split(pat='\n') | join(sep='\t') }}",
        '{{ s | addslashes }}|{{ "it\'s" | addslashes }}|{{ \'<a href="x">\' | escape }}',
        # equality across types
        "{{ 1 == 1.0 }}|{{ 1 != 'a' }}|{{ 1 == 'a' }}|{{ [1] == [1.0] }}|{{ 'a' == 'a' }}",
        "{{ 1 in [1.0] }}|{{ 1 in [1] }}|{{ 'b' in 'abc' }}|{{ 'x' in obj }}",
        # the grammar's corners
        "{{ trueish }}",
        "{{ x inside }}",
        "{{ not(true) }}",
        "{{ (not true) }}",
        "{{ not 1 == 1 }}",
        "{% for c in 'ab' %}{{ c }}{% endfor %}",
        "{% set v = 'ab' %}{% for c in v %}{{ c }}{% endfor %}",
        "{% break %}",
        "{% for i in arr %}{% filter upper %}{% break %}{% endfilter %}{% endfor %}",
        "{##}",
        "{#- c -#}   x",
        "x {#- c -#}   y",
        "{% for i in [] %}a{% else -%}   b   {%- endfor %}",
        "{% if true -%}   a   {%- else -%}   b   {%- endif %}",
        "{% raw -%}   {{ x }}   {%- endraw %}",
        "{{ range (end=2) }}",
        "{{ x is containing([1]) }}",
        "{% macro m(a, b=2) %}[{{ a }}{{ b }}]{% endmacro %}{{ self::m(a=1) }}",
        "{{ __tera_context }}",
        "{{ arr[num] }}|{{ objs[1].name }}|{{ obj['x'] }}|{{ obj.y[1] }}|{{ arr.1 }}",
        "{{ get_env(name='MLS_A') }}|{{ get_env(name='MLS_MISSING', default=1.5) }}",
        "{{ get_env(name='MLS_MISSING') }}",
        "{{ get_env(name='MLS_MISSING') | default(value='x') }}",
        "{{ nul | default(value='d') }}|{{ nope | default(value='d') }}|{{ nul }}",
        # the built-ins issue 12 names
        "{{ 'a\nb\n\nc' | indent }}|{{ 'a\nb' | indent(prefix='> ', first=true, blank=true) }}",
        "{% for n in [0, 1, 1023, 1024, 1536, 1048576, 123456789] %}{{ n | filesizeformat }},"
        "{{ n | filesizeformat(binary=true) }};{% endfor %}",
        "{{ 0 | date }}|{{ 1700000000 | date(format='%Y-%m-%d %H:%M:%S %a %b %j') }}",
        "{{ '2019-09-19T13:18:48.731+02:00' | date(format='%d.%m.%Y %H:%M %z') }}",
        "{{ '2019-09-19' | date(format='%A %B %e') }}"
        "|{{ 1700000000 | date(timezone='Europe/Paris', format='%H:%M %Z') }}",
        "{{ 'a' | date }}",
        "{{ '<p>a <b>b</b></p><!-- c -->' | striptags }}|{{ '<a>  <b>' | spaceless }}",
        "{{ 'a\nb\r\nc' | linebreaksbr }}",
        "{{ arr | slice(start=1) }}|{{ arr | slice(end=-1) }}|{{ arr | slice(start=5) }}",
        "{{ objs | group_by(attribute='name') | json_encode }}",
        "{{ objs | filter(attribute='name', value='a') | map(attribute='n') }}",
        "{{ 1 | pluralize }}|{{ 2 | pluralize }}|{{ -1 | pluralize(singular='y', plural='ies') }}",
        "{{ now() | length > 10 }}|{{ now(timestamp=true) > 0 }}|{{ get_random(end=1) }}",
        "{{ get_random(start=5, end=5) }}",
        "{{ 'Hello World' | truncate(length=5) }}|{{ 'ab' | wordcount }}|{{ s | title }}",
        "{{ 'a b/c?d' | urlencode }}|{{ 'a b/c' | urlencode_strict }}|{{ 'Hé Wörld!' | slugify }}",
        "{{ ' 0x1F ' | int(base=16) }}|{{ '1.9' | int }}|{{ 'x' | int(default=3) }}"
        "|{{ 'inf' | float }}",
        "{{ words | unique }}|{{ arr | sort }}|{{ words | sort | reverse }}|{{ arr | first }}",
        "{{ [] | first }}|{{ arr | nth(n=9) }}|{{ arr | concat(with=4) }}|{{ obj | get(key='x') }}",
        "{% if s is matching('^H.*d$') %}m{% endif %}{% if num is odd %}o{% endif %}",
        "{% if num is divisibleby(0) %}d{% endif %}",
    ],
)
def test_agrees_with_tera(oracle: TeraOracle, template: str) -> None:
    check(oracle, template)


# Corner cases, one per entry, separated by a `====` line (each once differed or might)
_CASES = (Path(__file__).parent / "tera_cases.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "template", [case.strip("\n") for case in _CASES.split("\n====\n") if case.strip("\n")]
)
def test_corner_cases_agree_with_tera(oracle: TeraOracle, template: str) -> None:
    check(oracle, template)


# -- generated templates ----------------------------------------------------------------------

_INTS = [
    "0",
    "1",
    "-1",
    "7",
    "42",
    "9223372036854775807",
    "-9223372036854775808",
    "00",
    "4294967296",
    "1" + "0" * 25,
]
_FLOATS = [
    "0.0",
    "-0.0",
    "1.5",
    "0.1",
    "-2.25",
    "1.0",
    "100000000000000000000.0",
    "0.000001",
    "1" + "0" * 310 + ".0",
    "123456789.123456789",
]
_IDENTS = [
    "key",
    "git_branch",
    "num",
    "neg",
    "big",
    "f",
    "s",
    "arr",
    "words",
    "objs",
    "obj",
    "nul",
    "t",
    "undefined_x",
    "arr[0]",
    "arr.1",
    "obj.x",
    "obj.y[1]",
    "objs[1].name",
    'obj["x"]',
    "arr[num]",
    "x",
    "i",
    "loop.index",
    "loop.last",
]
_CALLS = [
    'get_env(name="MLS_A")',
    'get_env(name="MLS_NUM")',
    'get_env(name="MLS_MISSING", default="d")',
    'get_env(name="MLS_MISSING")',
    "get_env(name='MLS_EMPTY', default=1)",
    "range(end=3)",
    "range(start=1, end=4, step_by=2)",
    "range(end=0)",
    'throw(message="boom")',
    "nope()",
    "self::m(a=1)",
    "self::m(b=1)",
    "now() | length > 0",
]
_FILTERS = [
    "upper",
    "lower",
    "trim",
    "length",
    "reverse",
    "first",
    "last",
    'join(sep=",")',
    "sort",
    "unique",
    "json_encode",
    "json_encode(pretty=true)",
    "as_str",
    "int",
    "float",
    "abs",
    "round",
    'round(method="ceil", precision=1)',
    "capitalize",
    "title",
    "wordcount",
    "truncate(length=3)",
    'replace(from="l", to="L")',
    'split(pat=" ")',
    "slugify",
    "urlencode",
    "urlencode_strict",
    "addslashes",
    "escape",
    "escape_xml",
    "striptags",
    "spaceless",
    "linebreaksbr",
    "indent",
    'indent(prefix="> ", first=true)',
    "pluralize",
    "filesizeformat",
    "date",
    'date(format="%d/%m/%Y %H:%M")',
    "slice(start=1)",
    "slice(end=-1)",
    'group_by(attribute="name")',
    'filter(attribute="name", value="a")',
    'map(attribute="n")',
    "concat(with=[9])",
    'get(key="x")',
    'get(key="zz", default=0)',
    "nth(n=1)",
    'default(value="dv")',
    "safe",
    'trim_start_matches(pat="H")',
    'trim_end_matches(pat="d")',
    "nope",
    'truncate(length="a")',
    "round(precision=-1)",
    "int(base=1)",
    "indent(first=1)",
    "slice(start=-10)",
    "nth(n=-1)",
    'date(timezone="Nope/Zone")',
    'date(format="%Q")',
    "filesizeformat(binary=1)",
    "pluralize(plural=1)",
    'split(pat="")',
    'replace(from="", to="-")',
    "join(sep=1)",
    'sort(attribute="name")',
    'unique(attribute="name")',
    "unique(case_sensitive=true)",
    "json_encode(pretty=1)",
]
_TESTS = [
    "defined",
    "undefined",
    "odd",
    "even",
    "string",
    "number",
    "iterable",
    "object",
    "divisibleby(2)",
    'starting_with("H")',
    'ending_with("d")',
    'containing("l")',
    'matching("^[A-Z]")',
    "nope",
]
_STRING_CHARS = st.sampled_from([*"ab Z09-_,.|{}%#é\n\t'\"`\\/<>&", "\\n", "e\u0301"])


@st.composite
def _string(draw: st.DrawFn) -> str:
    quote = draw(st.sampled_from(['"', "'", "`"]))
    body = "".join(draw(st.lists(_STRING_CHARS, max_size=6)))
    return quote + body.replace(quote, "") + quote


_ATOMS = st.one_of(
    st.sampled_from(_INTS),
    st.sampled_from(_FLOATS),
    _string(),
    st.sampled_from(["true", "false", "True", "False"]),
    st.sampled_from(_IDENTS),
    st.sampled_from(_CALLS),
)
_SP = st.sampled_from(["", " ", "  ", "\n"])


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    ops = ["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "and", "or", "~", "in"]
    return st.one_of(
        st.tuples(inner, _SP, st.sampled_from(ops), _SP, inner).map("".join),
        st.tuples(st.just("not "), inner).map("".join),
        st.tuples(st.just("("), inner, st.just(")")).map("".join),
        st.tuples(inner, _SP, st.just("|"), _SP, st.sampled_from(_FILTERS)).map("".join),
        st.tuples(
            st.sampled_from(_IDENTS),
            st.sampled_from([" is ", " is not "]),
            st.sampled_from(_TESTS),
        ).map("".join),
        st.lists(inner, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
    )


_EXPR = st.recursive(_ATOMS, lambda inner: _extend(inner), max_leaves=6)
_TEXT = st.sampled_from(["a", " ", "\n", "x y", "{", "}", "#", "%", "-", "é", "\t", "  \n  "])
_DASH = st.sampled_from(["", "-"])


def _tag(open_: str, body: str, close: str, left: str, right: str) -> str:
    return f"{open_}{left} {body} {right}{close}"


@st.composite
def _statements(draw: st.DrawFn, depth: int = 0, in_loop: bool = False) -> str:
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 4))):
        kinds = ["text", "var", "var", "set", "comment"]
        if depth < 2:
            kinds.extend(["if", "for", "filter", "raw"])
        if in_loop:
            kinds.append("break")
        kind = draw(st.sampled_from(kinds))
        d = lambda: draw(_DASH)  # noqa: E731 - a fresh dash for each side
        if kind == "text":
            parts.append(draw(_TEXT))
        elif kind == "var":
            parts.append(_tag("{{", draw(_EXPR), "}}", d(), d()))
        elif kind == "set":
            word = draw(st.sampled_from(["set", "set_global"]))
            parts.append(_tag("{%", f"{word} x = {draw(_EXPR)}", "%}", d(), d()))
        elif kind == "comment":
            parts.append(_tag("{#", draw(st.sampled_from(["c", "{{ x }}", "%}"])), "#}", d(), d()))
        elif kind == "break":
            parts.append(_tag("{%", draw(st.sampled_from(["break", "continue"])), "%}", d(), d()))
        elif kind == "if":
            out = _tag("{%", f"if {draw(_EXPR)}", "%}", d(), d())
            out += draw(_statements(depth + 1, in_loop))
            if draw(st.booleans()):
                out += _tag("{%", f"elif {draw(_EXPR)}", "%}", d(), d())
                out += draw(_statements(depth + 1, in_loop))
            if draw(st.booleans()):
                out += _tag("{%", "else", "%}", d(), d()) + draw(_statements(depth + 1, in_loop))
            parts.append(out + _tag("{%", "endif", "%}", d(), d()))
        elif kind == "for":
            head = draw(
                st.sampled_from(
                    [
                        "i in arr",
                        "i in words",
                        "i in objs",
                        "i in range(end=3)",
                        "i in s",
                        "i in [1, 'a']",
                        "k, i in obj",
                        "i in obj",
                        "k, i in arr",
                        "i in num",
                        "i in arr | reverse",
                    ]
                )
            )
            out = _tag("{%", f"for {head}", "%}", d(), d())
            out += draw(_statements(depth + 1, True))
            if draw(st.booleans()):
                out += _tag("{%", "else", "%}", d(), d()) + draw(_statements(depth + 1, False))
            parts.append(out + _tag("{%", "endfor", "%}", d(), d()))
        elif kind == "filter":
            name = draw(st.sampled_from(["upper", "trim", 'replace(from="a", to="b")', "length"]))
            out = _tag("{%", f"filter {name}", "%}", d(), d())
            out += draw(_statements(depth + 1, False))
            parts.append(out + _tag("{%", "endfilter", "%}", d(), d()))
        else:
            out = _tag("{%", "raw", "%}", d(), d()) + draw(st.sampled_from(["{{ x }}", " a "]))
            parts.append(out + _tag("{%", "endraw", "%}", d(), d()))
    return "".join(parts)


@st.composite
def _templates(draw: st.DrawFn) -> str:
    template = draw(_statements())
    if draw(st.integers(0, 3)) == 0:  # macros are defined at the top level only
        body = draw(st.sampled_from(["{{ a }}-{{ b }}", "{{ a + b }}", "{% if a %}y{% endif %}"]))
        template = f"{{% macro m(a, b=2) %}}{body}{{% endmacro %}}" + template
    if template and draw(st.integers(0, 4)) == 0:  # now and then, a typo
        i = draw(st.integers(0, len(template) - 1))
        junk = draw(st.sampled_from(["", "{{", "}}", "{%", "%}", "-", "(", ")", "|", "'", "x"]))
        template = template[:i] + junk + template[i + 1 :]
    return template


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(_templates())
def test_generated_templates_agree_with_tera(oracle: TeraOracle, template: str) -> None:
    check(oracle, template)
