"""Schema checks against mirrord's own schema (when present) and the built-in subset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.schema import Schema, builtin_schema, load_configured


@pytest.fixture
def schema(reference_schema: Path) -> Schema:
    return load_configured(str(reference_schema))


CASES = [
    # (format, text, code, text under the range, words in the message)
    ("json", '{"feature": {"nework": {}}}', "unknown-field", '"nework"', 'Did you mean "network"'),
    ("toml", "[feature.network]\nincomin = 1\n", "unknown-field", "incomin", '"incoming"'),
    ("yaml", "feature:\n  env:\n    includ: A\n", "unknown-field", "includ", '"include"'),
    ("json", '{"operator": "yes"}', "invalid-value", '"yes"', "true or false"),
    ("toml", "operator = 1\n", "invalid-value", "1", "true or false"),
    ("yaml", "feature:\n  fs: wirte\n", "invalid-value", "wirte", '"write"'),
    ("json", '{"agent": {"ttl": -1}}', "invalid-value", "-1", "at least 0"),
    (
        "json",
        '{"target": {"path": "deploy/x", "namepsace": "y"}}',
        "unknown-field",
        '"namepsace"',
        '"namespace"',
    ),
    (
        "yaml",
        "feature:\n  network:\n    incoming:\n      port_mapping: [[1, a]]\n",
        "invalid-value",
        "a",
        "whole number",
    ),
]


@pytest.mark.parametrize(("fmt", "text", "code", "span", "words"), CASES)
def test_findings_are_explained_on_the_exact_span(
    schema: Schema, fmt: str, text: str, code: str, span: str, words: str
) -> None:
    analysis = analyze(text, fmt, schema)  # type: ignore[arg-type]
    assert [f.code for f in analysis.findings] == [code]
    finding = analysis.findings[0]
    assert text[finding.start : finding.end] == span
    assert words in finding.message
    assert "is not valid under any of the given schemas" not in finding.message


@pytest.mark.parametrize("fmt", ["json", "toml", "yaml"])
def test_valid_config_has_no_findings(schema: Schema, fmt: str) -> None:
    text = {
        "json": json.dumps(
            {
                "operator": True,
                "target": {"path": "deployment/web", "namespace": "default"},
                "feature": {"network": {"incoming": "steal", "dns": False}, "fs": "read"},
                "agent": {"namespace": "mirrord", "ttl": 30},
            }
        ),
        "toml": 'operator = true\n[target]\npath = "deployment/web"\n'
        '[feature.network]\nincoming = "steal"\n',
        "yaml": "operator: true\ntarget: deployment/web\nfeature:\n  fs: read\n",
    }[fmt]
    assert analyze(text, fmt, schema).findings == []  # type: ignore[arg-type]


def test_templated_value_is_checked_as_rendered_and_mapped_to_the_tag(schema: Schema) -> None:
    text = '{"operator": {{ get_env(name="USE_OP", default="true") }}}'
    assert analyze(text, "json", schema, env={}).findings == []
    bad = analyze(text, "json", schema, env={"USE_OP": '"maybe"'})
    assert [f.code for f in bad.findings] == ["invalid-value"]
    finding = bad.findings[0]
    assert text[finding.start : finding.end] == '{{ get_env(name="USE_OP", default="true") }}'
    assert finding.severity == "warning"  # the run-time environment may differ


def test_template_that_cannot_render_gets_a_template_finding(schema: Schema) -> None:
    text = '{"kube_context": "{{ get_env(name="NOPE") }}"}'
    findings = analyze(text, "json", schema, env={}).findings
    assert [f.code for f in findings] == ["template"]
    assert "NOPE" in findings[0].message
    assert text[findings[0].start : findings[0].end] == '{{ get_env(name="NOPE") }}'


def test_builtin_schema_flags_types_and_unknown_fields() -> None:
    builtin = builtin_schema()
    analysis = analyze('{"operator": "yes", "something_new": 1}', "json", builtin)
    assert [f.code for f in analysis.findings] == ["invalid-value", "unknown-field"]


def test_root_must_be_an_object(schema: Schema) -> None:
    analysis = analyze("[1, 2]", "json", schema)
    assert [f.code for f in analysis.findings] == ["invalid-value"]


def test_deprecated_fields_warn(tmp_path: Path) -> None:
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"old": {"type": "boolean", "deprecated": True, "description": "Use new."}},
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(doc))
    analysis = analyze("old = true\n", "toml", load_configured(str(path)))
    assert [(f.code, f.severity) for f in analysis.findings] == [("deprecated", "warning")]
    assert "Use new." in analysis.findings[0].message
