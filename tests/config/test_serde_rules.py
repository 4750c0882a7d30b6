"""What serde_json, the toml crate and serde-saphyr refuse that JSON Schema alone accepts.

- A byte-order mark: serde_json refuses it (mirrord reads the file with
  `std::fs::read_to_string`, lib.rs `LayerFileConfig::from_path`, which keeps the mark);
  serde-saphyr skips it.
- Repeated keys: serde's derived struct visitor refuses a repeated field; a map keeps the last
  (`env.override`, a HashMap) or every entry (`split_queues`, feature/split_queues.rs
  `SplitQueuesVisitor::visit_map`); serde-saphyr's `DuplicateKeyPolicy::Error` refuses all.
- A float or an exponent where an integer is expected (serde: "invalid type: floating point").
"""

from __future__ import annotations

import pytest

from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.schema import builtin_schema


def findings(text: str, fmt: str) -> list[tuple[str, str, str]]:
    analysis = analyze(text, fmt, builtin_schema())  # type: ignore[arg-type]
    return [(f.code, f.severity, text[f.start : f.end]) for f in analysis.findings]


def test_json_byte_order_mark_is_an_error_with_a_fix() -> None:
    text = '\ufeff{"operator": true}'
    analysis = analyze(text, "json", builtin_schema())
    assert [(f.code, f.severity) for f in analysis.findings] == [("syntax", "error")]
    fix = analysis.findings[0].data["fix"]
    assert fix["edits"] == [{"start": 0, "end": 1, "newText": ""}]
    edit = fix["edits"][0]
    assert (text[: edit["start"]] + edit["newText"] + text[edit["end"] :]) == '{"operator": true}'


def test_yaml_byte_order_mark_is_skipped_as_serde_saphyr_does() -> None:
    assert findings("\ufeffoperator: true\n", "yaml") == []


def test_toml_byte_order_mark_is_a_warning() -> None:
    assert findings("\ufeffoperator = true\n", "toml") == [("syntax", "warning", "\ufeff")]


@pytest.mark.parametrize(
    "text",
    [
        '{"feature": {"env": {"override": {"PORT": "1", "PORT": "2"}}}}',
        '{"feature": {"split_queues": {"q": {"queue_type": "SQS"}, "q": {"queue_type": "SQS"}}}}',
        '{"feature": {"split_queues": {"q": {"queue_type": "SQS",'
        ' "message_filter": {"a": "x", "a": "y"}}}}}',
    ],
)
def test_json_maps_accept_repeated_keys(text: str) -> None:
    assert findings(text, "json") == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ('{"agent": {"ttl": 1, "ttl": 2}}', '"ttl"'),
        ('{"operator": true, "operator": false}', '"operator"'),
        ('{"target": {"path": "pod/a", "path": "pod/b"}}', '"path"'),
    ],
)
def test_json_structs_refuse_repeated_fields(text: str, span: str) -> None:
    found = findings(text, "json")
    assert ("syntax", "error", span) in found
    # the second one is the one marked
    assert text.rindex(span) == next(
        analyze(text, "json", builtin_schema()).findings[i].start
        for i, f in enumerate(found)
        if f[0] == "syntax"
    )


@pytest.mark.parametrize(
    "text",
    [
        "feature:\n  env:\n    override:\n      PORT: 1\n      PORT: 2\n",
        "agent:\n  ttl: 1\n  ttl: 2\n",
    ],
)
def test_yaml_refuses_every_repeated_key(text: str) -> None:
    assert [f[:2] for f in findings(text, "yaml")] == [("syntax", "error")]


@pytest.mark.parametrize(
    ("fmt", "text", "span"),
    [
        ("json", '{"agent": {"ttl": 30.0}}', "30.0"),
        ("json", '{"agent": {"ttl": 3e1}}', "3e1"),
        ("json", '{"agent": {"ttl": 3E+1}}', "3E+1"),
        ("toml", "[agent]\nttl = 30.0\n", "30.0"),
        ("toml", "[agent]\nttl = 3e1\n", "3e1"),
        ("yaml", "agent:\n  ttl: 30.0\n", "30.0"),
        ("yaml", "agent:\n  ttl: 3e1\n", "3e1"),
    ],
)
def test_float_where_an_integer_is_expected(fmt: str, text: str, span: str) -> None:
    analysis = analyze(text, fmt, builtin_schema())  # type: ignore[arg-type]
    assert [(f.code, text[f.start : f.end]) for f in analysis.findings] == [("invalid-value", span)]
    assert "whole number" in analysis.findings[0].message
