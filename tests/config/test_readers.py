"""Readers and locating: the same tree, with exact spans, from JSON, TOML and YAML."""

from __future__ import annotations

import pytest

from mirrord_ls.config.document import LineIndex, locate, node_at
from mirrord_ls.config.parse_json import parse_json
from mirrord_ls.config.parse_toml import parse_toml
from mirrord_ls.config.parse_yaml import parse_yaml

SAME_CONFIG = {
    "json": '{\n  "operator": true,\n  "target": {"path": "deploy/web", "namespace": "ns"},\n'
    '  "feature": {"network": {"incoming": {"mode": "steal", "ports": [80, 81]}}}\n}\n',
    "toml": 'operator = true\ntarget = { path = "deploy/web", namespace = "ns" }\n'
    '[feature.network.incoming]\nmode = "steal"\nports = [80, 81]\n',
    "yaml": "operator: true\ntarget:\n  path: deploy/web\n  namespace: ns\n"
    "feature:\n  network:\n    incoming:\n      mode: steal\n      ports: [80, 81]\n",
}
READERS = {"json": parse_json, "toml": parse_toml, "yaml": parse_yaml}
EXPECTED = {
    "operator": True,
    "target": {"path": "deploy/web", "namespace": "ns"},
    "feature": {"network": {"incoming": {"mode": "steal", "ports": [80, 81]}}},
}


@pytest.mark.parametrize("fmt", ["json", "toml", "yaml"])
def test_same_values_in_every_format(fmt: str) -> None:
    parsed = READERS[fmt](SAME_CONFIG[fmt])
    assert parsed.issues == []
    assert parsed.root is not None
    assert parsed.root.to_python() == EXPECTED


@pytest.mark.parametrize("fmt", ["json", "toml", "yaml"])
@pytest.mark.parametrize(
    ("path", "key_text", "value_text"),
    [
        (("operator",), "operator", "true"),
        (("target", "path"), "path", "deploy/web"),
        (("feature", "network", "incoming", "mode"), "mode", "steal"),
    ],
)
def test_spans_point_at_key_and_value(
    fmt: str, path: tuple[str, ...], key_text: str, value_text: str
) -> None:
    text = SAME_CONFIG[fmt]
    found = locate(READERS[fmt](text).root, path)
    assert found is not None and found.member is not None
    assert text[found.member.key_start : found.member.key_end].strip("\"'") == key_text
    assert text[found.node.start : found.node.end].strip("\"'") == value_text


@pytest.mark.parametrize("fmt", ["json", "toml", "yaml"])
def test_array_items_have_spans(fmt: str) -> None:
    text = SAME_CONFIG[fmt]
    found = locate(READERS[fmt](text).root, ("feature", "network", "incoming", "ports", 1))
    assert found is not None
    assert text[found.node.start : found.node.end] == "81"


@pytest.mark.parametrize(
    ("text", "message", "span_text"),
    [
        ('{"a": 1,}', "Trailing comma", ","),
        ('{"a": 1 // why\n}', "Comments are not allowed", "// why"),
        ('{"a": 01}', "leading zeros", "01"),
        ('{"a": NaN}', "NaN", "NaN"),
        ("{'a': 1}", "double quotes", "'"),
        ('{"a": 1} {}', "after the end", "{}"),
        ('{"a" 1}', "Expected ':'", '"a"'),
        ('{"a": True}', "lower case", "True"),
        ('{"a": "x\ny"}', "Unterminated string", '"x'),
    ],
)
def test_json_is_strict_like_mirrord(text: str, message: str, span_text: str) -> None:
    parsed = parse_json(text)
    assert parsed.issues, text
    issue = parsed.issues[0]
    assert message in issue.message
    assert text[issue.start : issue.end] == span_text


def test_json_recovers_from_comments_and_trailing_commas() -> None:
    parsed = parse_json('{\n  // note\n  "a": [1, 2,],\n  "b": {"c": 1,},\n}')
    assert len(parsed.issues) == 4
    assert parsed.root is not None and parsed.root.to_python() == {"a": [1, 2], "b": {"c": 1}}


def test_json_deep_nesting_is_bounded() -> None:
    parsed = parse_json("[" * 5000 + "]" * 5000)
    assert parsed.root is None
    assert "Nesting is too deep" in parsed.issues[0].message


@pytest.mark.parametrize(
    ("fmt", "text", "line"),
    [
        ("toml", "a = 1\nb = = 2\nc = 3\n", 1),
        ("yaml", "a: 1\nb: [1\nc: 3\n", 1),
        ("yaml", "a: 1\n  b: 2\n", 1),
        ("toml", "[table\na = 1\n", 0),
    ],
)
def test_syntax_errors_point_at_their_line_and_rest_is_read(fmt: str, text: str, line: int) -> None:
    parsed = READERS[fmt](text)
    assert parsed.issues
    lines = LineIndex(text)
    assert lines.position(parsed.issues[0].start)[0] == line


def test_toml_recovery_keeps_the_rest() -> None:
    parsed = parse_toml('operator = true\nbad = = 1\nkube_context = "x"\n')
    assert parsed.root is not None
    assert parsed.root.to_python() == {"operator": True, "kube_context": "x"}
    assert parsed.complete is False


@pytest.mark.parametrize(
    "text",
    [
        "[[experimental.x]]\na = 1\n[[experimental.x]]\na = 2\n",
        'a."b.c".d = 1\n',
        "s = '''\nmulti\nline'''\nn = 1\n",
        "arr = [\n  1, # one\n  2,\n]\n",
        "t = 1979-05-27T07:32:00Z\n",
    ],
)
def test_toml_scanner_agrees_with_tomllib(text: str) -> None:
    import tomllib

    parsed = parse_toml(text)
    assert parsed.issues == []
    assert parsed.root is not None
    expected = tomllib.loads(text)
    got = parsed.root.to_python()
    assert got.keys() == expected.keys()


def test_toml_dotted_quoted_key_span() -> None:
    text = 'a."b.c".d = 1\n'
    found = locate(parse_toml(text).root, ("a", "b.c", "d"))
    assert found is not None and found.member is not None
    assert text[found.member.key_start : found.member.key_end] == "d"


def test_yaml_anchors_and_merge_keys() -> None:
    text = "base: &b\n  x: 1\nfeature:\n  <<: *b\n  y: 2\n"
    parsed = parse_yaml(text)
    assert parsed.root is not None
    assert parsed.root.to_python()["feature"] == {"x": 1, "y": 2}


def test_yaml_multiple_documents_are_flagged() -> None:
    parsed = parse_yaml("a: 1\n---\nb: 2\n")
    assert any("Only one YAML document" in i.message for i in parsed.issues)


def test_empty_json_is_reported() -> None:
    parsed = parse_json("")  # serde_json: EOF while parsing a value
    assert parsed.root is None and parsed.issues


@pytest.mark.parametrize("text", ["", "# only a comment\n", "~\n", "null\n", "---\n"])
def test_empty_yaml_is_the_default_config(text: str) -> None:
    # serde-saphyr reads an empty or null document as the default (mirrord's lib.rs test `empty`)
    parsed = parse_yaml(text)
    assert parsed.issues == [] and parsed.root is not None and parsed.root.to_python() == {}


def test_empty_toml_is_an_empty_config() -> None:
    parsed = parse_toml("")
    assert parsed.issues == [] and parsed.root is not None and parsed.root.to_python() == {}


def test_node_at_finds_key_and_value() -> None:
    text = SAME_CONFIG["json"]
    root = parse_json(text).root
    offset = text.index("steal") + 2
    path, node, _member, on_key = node_at(root, offset)
    assert path == ("feature", "network", "incoming", "mode") and not on_key
    assert node is not None and node.value == "steal"
    path, _node, _member, on_key = node_at(root, text.index('"mode"') + 1)
    assert path == ("feature", "network", "incoming", "mode") and on_key


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [
        ("abc\ndef", 5, (1, 1)),
        ("a😀b\nx", 2, (0, 3)),  # the emoji is two UTF-16 units
        ("é\r\nb", 3, (1, 0)),
    ],
)
def test_line_index_uses_utf16(text: str, offset: int, expected: tuple[int, int]) -> None:
    lines = LineIndex(text)
    assert lines.position(offset) == expected
    assert lines.offset(*expected) == offset
