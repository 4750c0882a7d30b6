"""TOML as mirrord reads it: version 1.1 (mirrord's `toml` crate 1.1.2, spec 1.1.0).

`tomllib` (TOML 1.0) called these syntax errors; mirrord accepts them. A date-time where a
string is expected is refused (serde: "invalid type").
"""

from __future__ import annotations

import pytest

from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.document import locate
from mirrord_ls.config.parse_toml import parse_toml
from mirrord_ls.config.schema import builtin_schema

ACCEPTED = [
    # multi-line inline table with a trailing comma and a comment (TOML 1.1)
    (
        'target = {\n  path = "deployment/api",  # the api\n  namespace = "prod",\n}\n',
        {"target": {"path": "deployment/api", "namespace": "prod"}},
    ),
    ('target = { path = "pod/a", }\n', {"target": {"path": "pod/a"}}),
    # the \e and \xHH escapes (TOML 1.1)
    ('[agent]\nimage = "a\\e[0mb"\n', {"agent": {"image": "a\x1b[0mb"}}),
    ('[agent]\nimage = "\\x41"\n', {"agent": {"image": "A"}}),
]


@pytest.mark.parametrize(("text", "value"), ACCEPTED)
def test_toml_1_1_is_read(text: str, value: dict[str, object]) -> None:
    parsed = parse_toml(text)
    assert parsed.issues == []
    assert parsed.root is not None and parsed.root.to_python() == value
    assert analyze(text, "toml", builtin_schema()).findings == []


def test_spans_inside_a_multi_line_inline_table() -> None:
    text = 'target = {\n  path = "deployment/api",\n  namespace = "prod",\n}\n'
    found = locate(parse_toml(text).root, ("target", "namespace"))
    assert found is not None and found.member is not None
    assert text[found.member.key_start : found.member.key_end] == "namespace"
    assert text[found.node.start : found.node.end] == '"prod"'


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("kube_context = 1979-05-27T07:32:00Z\n", "1979-05-27T07:32:00Z"),
        ("kube_context = 07:32\n", "07:32"),
        ("[target]\nnamespace = 2024-01-01\n", "2024-01-01"),
    ],
)
def test_a_date_time_is_not_a_string(text: str, span: str) -> None:
    findings = analyze(text, "toml", builtin_schema()).findings
    assert [(f.code, text[f.start : f.end]) for f in findings] == [("invalid-value", span)]
    assert "date-time" in findings[0].message


def test_still_refused_in_1_1() -> None:
    parsed = parse_toml("a = 1\na = 2\n")  # a key defined twice
    assert parsed.issues and "TOML syntax error" in parsed.issues[0].message
