"""The MirrordOperator object read with mirrord's serde rules (mirrord 3.250).

Line numbers: `mirrord/operator/src/crd.rs` (MirrordOperatorSpec :176-:210,
supported_features() :242, MirrordOperatorStatus :337, Session :360-:377,
LockedPortCompat :460, statistics :427), `types.rs` :9 (expire_at: NaiveDate).
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from mirrord_ls.cluster.preflight.operator_object import (
    InvalidOperator,
    MirrordOperator,
    parse_operator,
)
from mirrord_ls.loopback import operator_samples as ops

TODAY = datetime.date(2026, 6, 15)


def _edit(path: str, value: Any = ..., doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """The healthy object with `path` (dotted; `[i]` for list items) set, or deleted (...)."""
    doc = copy.deepcopy(doc or ops.operator_object(today=TODAY))
    keys: list[Any] = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        keys.append(name)
        if index:
            keys.append(int(index.rstrip("]")))
    parent: Any = doc
    for key in keys[:-1]:
        parent = parent[key]
    if value is ...:
        del parent[keys[-1]]
    else:
        parent[keys[-1]] = value
    return doc


def test_the_healthy_sample_reads_fully():
    op = parse_operator(ops.operator_object(today=TODAY))
    assert isinstance(op, MirrordOperator)
    assert str(op.operator_version) == "3.250.0"
    assert op.license.expire_at == TODAY + datetime.timedelta(days=365)
    assert op.supports("ExtendableUserCredentials") and op.advertises_features
    assert op.sessions is not None and op.sessions[0].locked_ports[0].port == 8080


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        # crd.rs:176 `operator_version: Version` (semver, required)
        ("spec.operator_version", ..., "spec.operator_version: missing"),
        ("spec.operator_version", "v3.250.0", "not a semantic version"),
        ("spec.operator_version", 3, "a number where a string belongs"),
        # crd.rs:177 `default_namespace: String`
        ("spec.default_namespace", ..., "spec.default_namespace: missing"),
        ("spec.default_namespace", None, "null where a string belongs"),
        # types.rs LicenseInfoOwned: name, organization, expire_at all required
        ("spec.license", ..., "spec.license: missing"),
        ("spec.license.name", ..., "spec.license.name: missing"),
        ("spec.license.organization", ..., "spec.license.organization: missing"),
        ("spec.license.expire_at", ..., "spec.license.expire_at: missing"),
        ("spec.license.expire_at", "31/12/2099", "not a date"),
        ("spec.license.fingerprint", 7, "a number where a string belongs"),
        # crd.rs:337 `sessions: Vec<Session>`: required once `status` is there
        ("status.sessions", ..., "status.sessions: missing"),
        ("status.sessions", None, "null where a list belongs"),
        ("status", [], "a list where an object belongs"),
        # crd.rs Session: duration_secs u64, user and target String
        ("status.sessions[0].duration_secs", -1, "not a whole number"),
        ("status.sessions[0].duration_secs", 1.5, "not a whole number"),
        ("status.sessions[0].user", ..., "status.sessions[0].user: missing"),
        ("status.sessions[0].target", None, "null where a string belongs"),
        # crd.rs:460 LockedPortCompat: {port u16, kind, filter?} or [port, kind, filter]
        ("status.sessions[0].locked_ports[0].port", 70000, "not a whole number"),
        ("status.sessions[0].locked_ports[0]", [80, "Steal"], "neither"),
        # crd.rs:427 statistics: dau and mau required when present
        ("status.statistics", {"dau": 1}, "status.statistics.mau: missing"),
        # crd.rs: OperatorFeatures has only ProxyApi and no `#[serde(other)]`
        ("spec.features", ["ProxyApi", "CopyTarget"], "not a feature this list may hold"),
        ("spec.supported_features", [1], "where a feature name belongs"),
        ("spec.copy_target_enabled", "yes", "where true or false belongs"),
        ("metadata", ..., "metadata: missing"),
        ("spec", ..., "spec: missing"),
    ],
)
def test_objects_mirrord_cannot_deserialize(path, value, problem):
    parsed = parse_operator(_edit(path, value))
    assert isinstance(parsed, InvalidOperator)
    assert any(problem in p for p in parsed.problems), parsed.problems


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("status", ...),  # `status: Option<...>`
        ("status", None),
        ("status.statistics", None),
        ("status.copy_targets", ...),
        ("spec.protocol_version", ...),
        ("spec.protocol_version", None),
        ("spec.license.fingerprint", ...),
        ("spec.license.subscription_id", None),
        ("spec.supported_features", ["ProxyApi", "SomeFeatureFromTheFuture"]),  # serde(other)
        ("spec.supported_features", [{"ProxyApi": None}]),  # serde's one-key map for a variant
        ("status.sessions[0].locked_ports[0]", [8080, "Steal", None]),  # the legacy tuple form
        ("status.sessions[0].namespace", None),
        ("apiVersion", ...),  # kube-derive's root struct ignores apiVersion and kind
        ("spec.unknown_new_field", {"anything": True}),  # no deny_unknown_fields
        ("spec.license.expire_at", " 2099 - 1 - 2 "),  # chrono's Item::Space
    ],
)
def test_objects_mirrord_reads(path, value):
    assert isinstance(parse_operator(_edit(path, value)), MirrordOperator)


@pytest.mark.parametrize("body", [None, [], "operator", 42])
def test_answers_that_are_no_object(body):
    assert isinstance(parse_operator(body), InvalidOperator)


@pytest.mark.parametrize(
    ("spec_edits", "features", "advertised"),
    [
        # crd.rs:242 supported_features(): the new list wins when present
        ({"supported_features": ["CopyTarget"], "features": ["ProxyApi"]}, {"CopyTarget"}, True),
        # ... else the deprecated `features` plus CopyTarget when copy_target_enabled
        (
            {"supported_features": ..., "features": ["ProxyApi"], "copy_target_enabled": True},
            {"ProxyApi", "CopyTarget"},
            False,
        ),
        (
            {"supported_features": ..., "features": ["ProxyApi"], "copy_target_enabled": False},
            {"ProxyApi"},
            False,
        ),
        # copy_target_enabled alone derives nothing: `features.as_ref().map(...)` is None
        ({"supported_features": ..., "copy_target_enabled": True}, set(), False),
        ({"supported_features": ...}, set(), False),
    ],
)
def test_supported_features_derived_as_mirrord_derives_them(spec_edits, features, advertised):
    doc = ops.operator_object(today=TODAY)
    for key, value in spec_edits.items():
        doc = _edit(f"spec.{key}", value, doc)
    op = parse_operator(doc)
    assert isinstance(op, MirrordOperator)
    assert set(op.supported_features) == features
    assert op.advertises_features is advertised


@pytest.mark.parametrize("name", sorted(ops.VARIANTS))
def test_every_loopback_variant_reads_as_its_name_says(name):
    parsed = parse_operator(ops.VARIANTS[name](TODAY))
    invalid = name in ("invalid", "no-namespace")
    assert isinstance(parsed, InvalidOperator) is invalid
