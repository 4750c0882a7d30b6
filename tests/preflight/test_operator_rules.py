"""Operator use, the object, the licence, the fallback, agent settings, multi-cluster.

Each case cites the mirrord 3.250 line that decides it: `cli/src/connection.rs`
(try_connect_using_operator :66-:247, create_and_connect :283-:292,
process_config_oss :396-:422), `operator/src/client.rs` (try_new :308-:324,
check_license_validity :499-:535, get_client_certificate :1295),
`auth/src/credentials.rs` :117/:145 (CLOSE_TO_EXPIRATION_DAYS, days_until_expiration),
`config/src/lib.rs` :1020-:1026 (verify: copy_target with operator false).
Every case that must fire has its control next to it.
"""

from __future__ import annotations

import datetime

import pytest

from mirrord_ls.cluster.preflight.operator import (
    agent_config_rules,
    multi_cluster_note,
    operator_object_rules,
    operator_use,
    requires_operator_rules,
    target_resolved_locally,
)
from mirrord_ls.cluster.preflight.operator_object import InvalidOperator, parse_operator
from mirrord_ls.loopback import operator_samples as ops

from .helpers import TODAY, codes, features_but, operator, settings

HEALTHY = operator()
EXPIRED = operator(expires_in_days=-1)


@pytest.mark.parametrize(
    ("discovery", "parsed", "setting", "used", "stops"),
    [
        # connection.rs:79 operator false: no request, open-source mode
        ("disabled", None, False, False, False),
        # connection.rs:86 not installed: error with true, fallback when unset
        ("not-installed", None, True, False, True),
        ("not-installed", None, None, False, False),
        # client.rs:312-316 discovery failed: Ok(None) unless operator is true
        ("check-failed", None, None, False, False),
        ("check-failed", None, True, False, True),
        # client.rs:318 installed but forbidden: the 403 is returned, whatever the setting
        ("forbidden", None, None, False, True),
        ("forbidden", None, True, False, True),
        ("unreachable", None, None, False, True),
        # client.rs:324 a body serde cannot read: `Err(error) => error`
        ("installed", InvalidOperator(("spec: missing",)), None, False, True),
        # connection.rs:101-117 licence: error with true, fallback when unset
        ("installed", EXPIRED, True, False, True),
        ("installed", EXPIRED, None, False, False),
        # the control: a good object and licence
        ("installed", HEALTHY, None, True, False),
        ("installed", HEALTHY, True, True, False),
    ],
)
def test_operator_use(discovery, parsed, setting, used, stops):
    use = operator_use(discovery, parsed, setting, TODAY)
    assert (use.used, use.stops) == (used, stops)
    assert use.open_source is (not used and not stops)
    if use.open_source:
        assert use.reason


@pytest.mark.parametrize(
    ("days", "name", "setting", "expected"),
    [
        # credentials.rs:145 days = expire_at - today; negative -> None -> NoLicense (client.rs:510)
        (-1, "Org Enterprise", None, [("license-expired", "warning")]),
        (-1, "Org Enterprise", True, [("license-expired", "error")]),
        (-400, "Org (Trial)", None, [("license-expired", "warning")]),
        # expire_at == today is still valid (0 days, "today")
        (0, "Org Enterprise", None, []),
        # client.rs:513-527 a trial with <= 2 days left warns
        (0, "Org (Trial)", None, [("license-expiring", "warning")]),
        (2, "Org (Trial)", True, [("license-expiring", "warning")]),
        (3, "Org (Trial)", None, []),
        # only a trial ("(Trial)" in the name, client.rs:515) warns
        (1, "Org Enterprise", None, []),
        (1, "Org trial", None, []),
    ],
)
def test_licence_rules(days, name, setting, expected):
    op = operator(expires_in_days=days, license_name=name)
    assert codes(operator_object_rules(op, setting, TODAY)) == expected


def test_licence_messages_quote_mirrord():
    (expiring,) = operator_object_rules(
        operator(expires_in_days=1, license_name="Org (Trial)"), None, TODAY
    )
    assert "Operator license will expire soon, in 1 day!" in expiring.message
    (today,) = operator_object_rules(
        operator(expires_in_days=0, license_name="Org (Trial)"), None, TODAY
    )
    assert "Operator license will expire today!" in today.message
    (fallback,) = operator_object_rules(EXPIRED, None, TODAY)
    assert "No valid license found for mirrord for Teams" in fallback.message
    assert "open-source mode" in fallback.message
    (stop,) = operator_object_rules(EXPIRED, True, TODAY)
    assert "mirrord operator license expired" in stop.message


def test_licence_is_judged_against_the_day_given():
    op = operator(expires_in_days=0)
    assert operator_object_rules(op, None, TODAY) == []
    tomorrow = TODAY + datetime.timedelta(days=1)
    assert codes(operator_object_rules(op, None, tomorrow)) == [("license-expired", "warning")]


def test_invalid_object_is_an_error_whatever_the_setting():
    invalid = parse_operator(ops.VARIANTS["invalid"](TODAY))
    assert isinstance(invalid, InvalidOperator)
    for setting in (None, True):
        (finding,) = operator_object_rules(invalid, setting, TODAY)
        assert (finding.code, finding.severity) == ("operator-invalid", "error")
        assert "status.sessions: missing" in finding.message
    assert operator_object_rules(invalid, False, TODAY) == []  # no request is made


def test_missing_fingerprint_stops_at_the_certificate():
    # client.rs:1295 `let Some(fingerprint) = ... else { return Err(ClientCertError(..)) }`
    found = operator_object_rules(operator(fingerprint=None), None, TODAY)
    assert codes(found) == [("operator-invalid", "error")]
    assert "license fingerprint is missing" in found[0].message
    assert operator_object_rules(HEALTHY, None, TODAY) == []


OSS = operator_use("not-installed", None, None, TODAY)
FALLBACK = operator_use("installed", EXPIRED, None, TODAY)
DISCOVERY_FALLBACK = operator_use("check-failed", None, None, TODAY)
DISABLED = operator_use("disabled", None, False, TODAY)
USED = operator_use("installed", HEALTHY, None, TODAY)


@pytest.mark.parametrize(
    "use", [OSS, FALLBACK, DISCOVERY_FALLBACK, DISABLED], ids=lambda u: u.reason
)
@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # connection.rs:398-413 `Target::requires_operator` -> FeatureRequiresOperatorError
        ({"target": "statefulset/db"}, [("target-requires-operator", "error")]),
        ({"target": "label/app=web"}, [("target-requires-operator", "error")]),
        ({"target": {"path": {"job": "migrate"}}}, [("target-requires-operator", "error")]),
        ({"target": "deployment/web"}, []),
        # connection.rs:415-422 copy_target -> FeatureRequiresOperatorError("copy_target")
        ({"feature": {"copy_target": True}}, [("requires-operator", "error")]),
        # copy_target.rs:90 an object enables it unless `enabled: false`
        ({"feature": {"copy_target": {"scale_down": True}}}, [("requires-operator", "error")]),
        ({"feature": {"copy_target": {"enabled": False}}}, []),
        # the open-source path never reads split_queues or db_branches: ignored silently
        (
            {"feature": {"split_queues": {"q": {"queue_type": "SQS"}}}},
            [("requires-operator", "warning")],
        ),
        (
            {"feature": {"db_branches": [{"type": "pg", "connection": {}}]}},
            [("requires-operator", "warning")],
        ),
        ({"feature": {"split_queues": {}}}, []),
    ],
)
def test_requires_operator_when_mirrord_runs_without_it(use, config, expected):
    assert codes(requires_operator_rules(use, settings(config, use_setting(use)))) == expected


def use_setting(use):
    return False if use is DISABLED else None


def test_requires_operator_is_silent_when_the_operator_is_used_or_mirrord_stops():
    config = {"target": "statefulset/db", "feature": {"copy_target": True}}
    assert requires_operator_rules(USED, settings(config)) == []
    stops = operator_use("forbidden", None, None, TODAY)
    assert requires_operator_rules(stops, settings(config)) == []


def test_fallback_messages_name_the_reason():
    (finding,) = requires_operator_rules(FALLBACK, settings({"target": "service/web"}))
    assert "licence expired" in finding.message
    assert "Feature `target type service` requires using mirrord operator" in finding.message
    (finding,) = requires_operator_rules(
        DISABLED, settings({"feature": {"copy_target": True}}, False)
    )
    # config/src/lib.rs:1021-1026 verify: copy_target with operator false
    assert "The copy target feature requires a mirrord operator" in finding.message


@pytest.mark.parametrize(
    ("agent", "ignored"),
    [
        # connection.rs:283-291: the whole agent config against the default one
        ({"namespace": "mirrord"}, ["namespace"]),
        ({"ttl": 30, "log_level": "info"}, ["ttl"]),  # log_level equals its default
        ({"ttl": 1, "ephemeral": False, "privileged": None}, []),
        ({"image": {"registry": None, "tag": None}}, []),
        ({"image": "ghcr.io/me/agent:dev"}, ["image"]),
        ({"dns": {"timeout": 3}}, ["dns"]),
        ({"check_out_of_pods": 1}, ["check_out_of_pods"]),  # 1 is not the bool default
    ],
)
def test_agent_config_ignored_with_the_operator(agent, ignored):
    found = agent_config_rules(USED, settings({"agent": agent}))
    assert [f.at for f in found] == [("agent", key) for key in ignored]
    assert all(f.severity == "warning" for f in found)
    # control: without the operator mirrord runs its own agent with these settings
    assert agent_config_rules(OSS, settings({"agent": agent})) == []


MC = operator(supported_features=features_but(extra=("MultiClusterPrimary",)))


@pytest.mark.parametrize(
    ("op", "config", "local"),
    [
        # connection.rs:140-146 is_multi_cluster
        (MC, {"target": "deployment/web"}, False),
        (MC, {"target": "deployment/web", "multi_cluster": True}, False),
        (MC, {"target": "deployment/web", "multi_cluster": False}, True),
        (MC, {"target": "label/app=web"}, True),
        (HEALTHY, {"target": "deployment/web"}, True),
    ],
)
def test_multi_cluster_resolves_the_target_remotely(op, config, local):
    use = operator_use("installed", op, None, TODAY)
    s = settings(config)
    assert target_resolved_locally(use, s) is local
    assert (multi_cluster_note(use, s) is None) is local
