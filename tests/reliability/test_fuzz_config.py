"""Fuzzing the config pipeline: `analyze` never raises, and every finding lies in the text.

Two sources of text for each format: arbitrary text, and mirrord-like configs rendered to
JSON, TOML or YAML then mutated (cut short, junk inserted, Tera tags sprinkled in). The
properties hold for offsets and, through `LineIndex`, for LSP positions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.document import LineIndex, split_lines
from mirrord_ls.config.files import Format
from mirrord_ls.config.schema import Schema, builtin_schema, load_configured

FORMATS: tuple[Format, ...] = ("json", "toml", "yaml")
FUZZ = settings(
    deadline=None,
    max_examples=int(os.environ.get("MIRRORD_LS_FUZZ_EXAMPLES", "500")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REFERENCE = Path(__file__).resolve().parents[2].parent / "shared/reference/mirrord-schema.json"


def _schemas() -> list[Schema]:
    schemas = [builtin_schema()]
    if REFERENCE.exists():
        schemas.append(load_configured(str(REFERENCE)))
    return schemas


SCHEMAS = _schemas()


def check_spans(text: str, fmt: Format, schema: Schema | None) -> None:
    analysis = analyze(text, fmt, schema, env={"APP": "web"}, git_branch="main")
    lines = LineIndex(text)
    rows = [r.rstrip("\r\n") for r in split_lines(text)]  # LSP line breaks: \n, \r\n, \r
    n_lines = len(rows)
    for f in analysis.findings:
        assert 0 <= f.start <= f.end <= len(text), (f, len(text))
        (sl, sc), (el, ec) = lines.position(f.start), lines.position(f.end)
        assert 0 <= sl <= el < n_lines, f
        assert (sl, sc) <= (el, ec), f
        for line, char in ((sl, sc), (el, ec)):
            row = rows[line]
            assert 0 <= char <= sum(2 if ord(c) > 0xFFFF else 1 for c in row), f
        assert isinstance(f.message, str) and f.message
    # What hover and completion use must not raise either.
    for offset in {0, len(text) // 2, len(text)}:
        analysis.rendered_offset(offset)


# -- mirrord-like configs ------------------------------------------------------------------

_names = st.text("abcdefghijklmnopqrstuvwxyz-_", min_size=1, max_size=12)
_scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.text(max_size=20),
    st.sampled_from(["targetless", "deployment/web", "pod/x/container/y", "label/app=web"]),
)
_known = {
    "target": st.one_of(_scalars, st.fixed_dictionaries({"path": _scalars, "namespace": _scalars})),
    "operator": st.one_of(st.booleans(), _scalars),
    "kube_context": st.one_of(_names, _scalars),
    "kubeconfig": st.one_of(st.just("~/.kube/config"), _scalars),
    "agent": st.fixed_dictionaries({}, optional={"namespace": _names, "ttl": _scalars}),
    "feature": st.fixed_dictionaries(
        {},
        optional={
            "env": st.one_of(st.booleans(), st.fixed_dictionaries({"include": _names})),
            "fs": st.one_of(st.sampled_from(["read", "write", "local"]), _scalars),
            "network": st.fixed_dictionaries(
                {}, optional={"incoming": st.sampled_from(["steal", "mirror", "off", 3])}
            ),
        },
    ),
}
mirrord_configs = st.fixed_dictionaries(
    {}, optional={**_known, "unknwon_field": _scalars}
) | st.dictionaries(_names, st.recursive(_scalars, lambda c: st.lists(c, max_size=3)), max_size=4)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))


def render_config(doc: dict[str, Any], fmt: Format) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2)
    if fmt == "yaml":
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in doc.items())


_junk = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        [
            "{{",
            "}}",
            "{%",
            "%}",
            "{#",
            "#}",
            '{{ get_env(name="APP") }}',
            '{{ get_env(name="NOPE") }}',
            "{% if x %}",
            "{% endif %}",
            "{% for i in range(end=3) %}{{ i }}{% endfor %}",
            "{{ undefined_thing | upper }}",
            '{{ "a" ~ 1 }}',
            "{{ git_branch }}",
            "\\u",
            '"\\',
            "\ufeff",
            "\r\n",
            "\u2028",
            "\x00",
            "𝄞",
            "\t",
            "[[",
            "- ",
            ": ",
            "&a *a",
            "!!binary",
            "<<: *x",
            "---\n",
        ]
    ),
)


@st.composite
def mutated(draw: st.DrawFn, fmt: Format) -> str:
    text = render_config(draw(mirrord_configs), fmt)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["cut", "insert", "delete"]))
        pos = draw(st.integers(0, len(text)))
        if op == "cut":
            text = text[:pos]
        elif op == "insert":
            text = text[:pos] + draw(_junk) + text[pos:]
        else:
            end = draw(st.integers(pos, min(len(text), pos + 10)))
            text = text[:pos] + text[end:]
    return text


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(text=st.text(max_size=300), schema=st.sampled_from(SCHEMAS))
@example(text='"\\u', schema=SCHEMAS[0])
@example(text='{"a": "\\', schema=SCHEMAS[0])
@example(text="{} \u2000", schema=SCHEMAS[0])
@example(text="\ufeff{}", schema=SCHEMAS[0])
@example(text="a: 😀\nb: [", schema=SCHEMAS[0])
@example(text="<<: 3\n", schema=SCHEMAS[0])  # a merge of a scalar: raised ConstructorError
@example(text="x: &a 1\ny:\n  <<: *a\n", schema=SCHEMAS[0])
@example(text="a: \ud800", schema=SCHEMAS[0])  # a lone surrogate: libyaml could not encode it
def test_any_text(fmt: Format, text: str, schema: Schema) -> None:
    check_spans(text, fmt, schema)


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(data=st.data(), schema=st.sampled_from([*SCHEMAS, None]))
def test_mutated_configs(fmt: Format, data: st.DataObject, schema: Schema | None) -> None:
    check_spans(data.draw(mutated(fmt)), fmt, schema)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000,
        "{" * 5000,
        '{"a":' * 3000,
        "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 400)),
        "- " * 3000,
        "x = " + "[" * 3000,
        "a = {" * 2000,
        "{{" * 3000,
        "{% if a %}" * 500,
        "\x00" * 1000,
        "\ud800",
        "\r\n" * 100 + "{",
    ],
    ids=lambda t: repr(t[:12]),
)
def test_pathological_texts(fmt: Format, text: str) -> None:
    check_spans(text, fmt, SCHEMAS[-1])
