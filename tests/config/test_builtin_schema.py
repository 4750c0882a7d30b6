"""The built-in schema: mirrord's whole config structure, offline, as strict as the published one.

It is made by `scripts/build-builtin-schema.py` from a published schema and keeps no text of
mirrord's. The examples of issue 12 run against it alone (no published schema anywhere).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REFERENCE_SCHEMA
from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.schema import builtin_schema

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "server/mirrord_ls/config/builtin-schema.json"


def test_it_records_its_release_and_the_label_names_it() -> None:
    schema = builtin_schema()
    release = schema.document["x-mirrord-release"]
    assert release == "3.250.0"
    assert f"mirrord {release}" in schema.label


def test_it_keeps_no_description_text() -> None:
    text = COMMITTED.read_text("utf-8")
    for word in ('"description"', '"title"', '"examples"', '"markdownDescription"'):
        assert word not in text


def test_the_script_reproduces_it(tmp_path: Path) -> None:
    if not REFERENCE_SCHEMA.exists():
        pytest.skip("mirrord's published schema is not present")
    out = tmp_path / "builtin.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/build-builtin-schema.py"),
            str(REFERENCE_SCHEMA),
            "--release",
            "3.250.0",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    assert json.loads(out.read_text()) == json.loads(COMMITTED.read_text())


# issue 12, "Offline and built-in schema": each typo must be found offline.
INVALID = [
    ("json", '{"kube_contxt": "dev"}', "unknown-field", '"kube_contxt"', '"kube_context"'),
    ("json", '{"agnet": {}}', "unknown-field", '"agnet"', '"agent"'),
    ("json", '{"feature": {"nework": {}}}', "unknown-field", '"nework"', '"network"'),
    (
        "json",
        '{"feature": {"network": {"incoming": "stealz"}}}',
        "invalid-value",
        '"stealz"',
        '"steal"',
    ),
    ("toml", 'kube_contxt = "dev"\n', "unknown-field", "kube_contxt", '"kube_context"'),
    ("toml", '[feature.network]\nincoming = "stealz"\n', "invalid-value", '"stealz"', '"steal"'),
    ("yaml", "agnet:\n  ttl: 3\n", "unknown-field", "agnet", '"agent"'),
    ("yaml", "feature:\n  nework: {}\n", "unknown-field", "nework", '"network"'),
    ("yaml", "agent:\n  ttl: 30.0\n", "invalid-value", "30.0", "whole number"),
    ("json", '{"target": "foo"}', "invalid-value", '"foo"', "pod/foo"),
    (
        "json",
        '{"target": "pod/x/containers/y"}',
        "invalid-value",
        '"pod/x/containers/y"',
        "container",
    ),
    ("json", '{"target": "Deployment/x"}', "invalid-value", '"Deployment/x"', "lower case"),
    ("json", '{"target": "label/app=a,app=b"}', "invalid-value", '"label/app=a,app=b"', "twice"),
]


@pytest.mark.parametrize(("fmt", "text", "code", "span", "words"), INVALID)
def test_invalid_examples_offline(fmt: str, text: str, code: str, span: str, words: str) -> None:
    findings = analyze(text, fmt, builtin_schema()).findings  # type: ignore[arg-type]
    assert [f.code for f in findings] == [code], findings
    assert text[findings[0].start : findings[0].end] == span
    assert words in findings[0].message


VALID = [
    ("json", '{"target": {"deployment": "api", "container": "main"}}'),
    ("json", '{"target": {"path": {"deployment": "api"}, "namespace": "prod"}}'),
    ("json", '{"target": {"path": "deployment/api/container/main", "namespace": "prod"}}'),
    ("json", '{"target": "label/app.kubernetes.io/name=api"}'),
    ("json", '{"target": "label/app=api,tier=web/container/main"}'),
    ("json", '{"target": "targetless"}'),
    ("toml", '[target]\npath = "pod/api"\nnamespace = "prod"\n'),
    ("yaml", "target:\n  deployment: api\n  container: main\n"),
    ("yaml", "feature:\n  network:\n    incoming:\n      mode: off\n"),
    ("json", '{"feature": {"env": {"override": {"A": "1"}}, "fs": "read", "network": true}}'),
    ("yaml", 'skip_processes: [bash, node]\nagent:\n  ttl: "30"\n'),
]


@pytest.mark.parametrize(("fmt", "text"), VALID)
def test_valid_examples_offline(fmt: str, text: str) -> None:
    assert analyze(text, fmt, builtin_schema()).findings == []  # type: ignore[arg-type]
