"""ClusterInputs from configs in JSON, YAML and TOML: values, equality, key, and anchors."""

from __future__ import annotations

import pytest

from mirrord_ls.cluster.inputs import ClusterInputs, FrozenDict, checked_target, from_analysis
from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.files import Format
from mirrord_ls.config.schema import builtin_schema
from mirrord_ls.config.targets import Target, TargetError

CONFIGS: dict[Format, str] = {
    "json": (
        '{\n  "kube_context": "dev",\n  "operator": true,\n'
        '  "target": {"path": "deployment/web", "namespace": "shop"},\n'
        '  "agent": {"namespace": "mirrord", "ttl": 30}\n}\n'
    ),
    "yaml": (
        "kube_context: dev\noperator: true\ntarget:\n  path: deployment/web\n"
        "  namespace: shop\nagent:\n  namespace: mirrord\n  ttl: 30\n"
    ),
    "toml": (
        'kube_context = "dev"\noperator = true\n[target]\npath = "deployment/web"\n'
        'namespace = "shop"\n[agent]\nnamespace = "mirrord"\nttl = 30\n'
    ),
}


def inputs_of(text: str, fmt: Format) -> ClusterInputs:
    return from_analysis(analyze(text, fmt, builtin_schema(), {}, None))


@pytest.mark.parametrize("fmt", list(CONFIGS))
def test_values_and_spans_in_every_format(fmt: Format) -> None:
    text = CONFIGS[fmt]
    inputs = inputs_of(text, fmt)
    assert inputs.kube_context == "dev" and inputs.operator is True
    assert checked_target(inputs) == Target("deployment", "web", namespace="shop")
    assert inputs.target_path == ("target", "path")
    assert inputs.value(("agent", "namespace")) == "mirrord"
    start, end = inputs.anchor(("agent", "namespace"))
    assert text[start:end].strip("\"'") == "mirrord"
    start, end = inputs.anchor(("target", "path"))
    assert text[start:end].strip("\"'") == "deployment/web"


@pytest.mark.parametrize("fmt", list(CONFIGS))
def test_an_unwritten_key_anchors_at_its_nearest_written_parent(fmt: Format) -> None:
    text = CONFIGS[fmt]
    inputs = inputs_of(text, fmt)
    assert inputs.anchor(("agent", "privileged")) == inputs.span(("agent",))
    assert inputs.anchor(("feature", "network")) == inputs.first_line
    assert inputs.anchor(("kubeconfig",), ("kube_context",)) == inputs.span(("kube_context",))


def test_moving_text_keeps_the_inputs_equal_and_a_value_change_does_not() -> None:
    before = inputs_of('{"kube_context": "dev", "agent": {"ttl": 1}}', "json")
    moved = inputs_of('{\n\n   "kube_context": "dev",\n "agent": {"ttl": 1}}', "json")
    changed = inputs_of('{"kube_context": "dev", "agent": {"ttl": 2}}', "json")
    assert before == moved and hash(before) == hash(moved)
    assert before.spans != moved.spans
    assert before != changed
    assert before.cluster_key == changed.cluster_key  # the cluster is the same one


def test_a_malformed_target_is_kept_for_its_finding_but_not_looked_up() -> None:
    inputs = inputs_of('{"target": "deployment/"}', "json")
    assert isinstance(inputs.target, TargetError)
    assert checked_target(inputs) is None


def test_targetless_and_not_an_object() -> None:
    assert checked_target(inputs_of('{"target": "targetless"}', "json")) is None
    assert inputs_of("[1, 2]", "json").is_object is False


def test_duplicate_keys_anchor_at_the_last_one_as_mirrord_reads_it() -> None:
    text = '{"kube_context": "a", "kube_context": "b"}'
    inputs = inputs_of(text, "json")
    start, end = inputs.anchor(("kube_context",))
    assert inputs.kube_context == "b" and text[start:end] == '"b"'


def test_frozen_dicts_are_hashable_and_compare_by_value() -> None:
    assert FrozenDict({"a": [1, {"b": 2}]}) == FrozenDict({"a": [1, {"b": 2}]})
    assert hash(FrozenDict({"a": [1]})) == hash(FrozenDict({"a": [1]}))
    assert FrozenDict({"a": [1]})["a"] == (1,)
