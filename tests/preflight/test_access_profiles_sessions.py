"""RBAC after discovery, mirrord profiles, and other sessions' port locks.

mirrord 3.250: `operator/src/client.rs` get_client_certificate :1309-:1318 with
`auth/src/credential_store.rs` get_or_init (init_regular vs init), connect URLs
:2003-:2011 (ProxyApi -> `/proxy/namespaces/...`, verb proxy), should_copy_target
:1746-:1783, try_reuse_copy_target :2238 (list), copy_target :2204 (create);
`cli/src/profile.rs` ProfileIdentifier :77, 404 :222, UnknownField :122/:168,
UnknownVariant :153, NamespaceConflict :178; `config/.../incoming.rs`
ConcurrentSteal (abort by default), steals_port_without_filter.
"""

from __future__ import annotations

import pytest

from mirrord_ls.cluster.preflight.access import (
    AccessCheck,
    access_checks,
    access_rules,
    certificate_check,
    copy_reason,
)
from mirrord_ls.cluster.preflight.profiles import (
    ProfileAnswer,
    ProfileRef,
    apply_profile,
    profile_ref,
    profile_rules,
)
from mirrord_ls.cluster.preflight.sessions import (
    Identity,
    port_lock_rules,
    session_owner,
    sessions_hover,
)
from mirrord_ls.loopback import operator_samples as ops

from .helpers import codes, features_but, operator, settings

HEALTHY = operator()
LEGACY = operator(supported_features=None, legacy_features=["ProxyApi"])
NO_PROXY = operator(supported_features=features_but("ProxyApi"))


def test_certificate_check_follows_extendable_user_credentials():
    assert certificate_check(HEALTHY) == AccessCheck(
        "create", "mirrordclusteroperatorusercredentials"
    )
    assert certificate_check(LEGACY) == AccessCheck(
        "create", "mirrordoperators", subresource="certificate", name="operator"
    )


@pytest.mark.parametrize(
    ("op", "config", "session"),
    [
        (HEALTHY, {"target": "deployment/web"}, [("proxy", "targets", "deployment.web")]),
        (
            HEALTHY,
            {"target": "pod/web-1/container/app"},
            [("proxy", "targets", "pod.web-1.container.app")],
        ),
        (HEALTHY, {}, [("proxy", "targets", "targetless")]),
        (NO_PROXY, {"target": "deployment/web"}, [("get", "targets", "deployment.web")]),
        (
            HEALTHY,
            {"target": "deployment/web", "feature": {"copy_target": True}},
            [
                ("list", "copytargets", ""),
                ("create", "copytargets", ""),
                ("proxy", "copytargets", ""),
            ],
        ),
        # should_copy_target :1751-:1757 Job/CronJob targets are always copied
        (
            HEALTHY,
            {"target": "job/migrate"},
            [
                ("list", "copytargets", ""),
                ("create", "copytargets", ""),
                ("proxy", "copytargets", ""),
            ],
        ),
    ],
)
def test_session_checks(op, config, session):
    checks = access_checks(op, settings(config), "default")
    assert checks[0] == certificate_check(op)
    assert [(c.verb, c.resource, c.name) for c in checks[1:]] == session
    assert all(c.namespace == "default" for c in checks[1:])


@pytest.mark.parametrize(
    ("op", "split", "reason"),
    [
        # :1760-:1783 SQS (with a message_filter) and Kafka splits copy without ...Direct
        (
            operator(supported_features=features_but("SqsQueueSplittingDirect")),
            {"queue_type": "SQS", "message_filter": {}},
            "SQS splitting",
        ),
        (HEALTHY, {"queue_type": "SQS", "message_filter": {}}, None),
        (
            operator(supported_features=features_but("KafkaQueueSplittingDirect")),
            {"queue_type": "Kafka"},
            "Kafka splitting",
        ),
        (HEALTHY, {"queue_type": "Kafka"}, None),
        (
            operator(supported_features=features_but("SqsQueueSplittingDirect")),
            {"queue_type": "SQS", "jq_filter": "."},
            None,
        ),
    ],
)
def test_copy_reason_for_queue_splitting(op, split, reason):
    config = {"target": "deployment/web", "feature": {"split_queues": {"q": split}}}
    assert copy_reason(op, settings(config)) == reason


@pytest.mark.parametrize(
    ("config", "denied", "expected"),
    [
        (
            {"target": "deployment/web"},
            {("create", "mirrordclusteroperatorusercredentials")},
            [("certificate-forbidden", "error")],
        ),
        ({"target": "deployment/web"}, {("proxy", "targets")}, [("session-forbidden", "error")]),
        (
            {"target": "deployment/web", "feature": {"copy_target": True}},
            {("create", "copytargets")},
            [("session-forbidden", "error")],
        ),
        (
            {"target": "deployment/web", "feature": {"copy_target": True}},
            {("list", "copytargets"), ("create", "copytargets")},
            [("session-forbidden", "error"), ("session-forbidden", "error")],
        ),
        # a denial mirrord never asks for says nothing
        ({"target": "deployment/web"}, {("create", "copytargets")}, []),
        ({"target": "deployment/web"}, set(), []),
    ],
)
def test_access_rules(config, denied, expected):
    s = settings(config)
    answers = {c: (c.verb, c.resource) not in denied for c in access_checks(HEALTHY, s, "default")}
    found = access_rules(HEALTHY, s, "default", answers)
    assert codes(found) == expected
    for f in found:
        assert f.data["missing"] in f.message
        assert "mirrord-operator-user" in f.message


def test_unknown_answers_are_silent():
    s = settings({"target": "deployment/web"})
    assert access_rules(HEALTHY, s, "default", {}) == []
    unknown = dict.fromkeys(access_checks(HEALTHY, s, "default"))
    assert access_rules(HEALTHY, s, "default", unknown) == []


def test_session_forbidden_names_the_namespace_and_mirrords_words():
    s = settings({"target": "deployment/web"})
    (check,) = access_checks(HEALTHY, s, "staging")[1:]
    (f,) = access_rules(HEALTHY, s, "staging", {check: False})
    assert 'in namespace "staging"' in f.message
    assert "mirrord operator rejected creating a websocket connection" in f.message
    assert f.data["resourceAttributes"] == {
        "group": "operator.metalbear.co",
        "version": "v1",
        "resource": "targets",
        "verb": "proxy",
        "namespace": "staging",
        "name": "deployment.web",
    }


@pytest.mark.parametrize(
    ("value", "ref"),
    [
        ("team", ProfileRef("team")),
        ("dev/team", ProfileRef("team", "dev")),
        ("a/b/c", ProfileRef("b/c", "a")),  # split_once('/')
        ("/team", ProfileRef("team", "")),
    ],
)
def test_profile_ref(value, ref):
    assert profile_ref(settings({"profile": value})) == ref


def test_profile_paths():
    assert ProfileRef("team").path == (
        "/apis/profiles.mirrord.metalbear.co/v1alpha/mirrordclusterprofiles/team"
    )
    assert ProfileRef("team", "dev").path == (
        "/apis/profiles.mirrord.metalbear.co/v1alpha/namespaces/dev/mirrordprofiles/team"
    )


STEAL = ops.cluster_profile("team-steal")


@pytest.mark.parametrize(
    ("config", "answer", "expected"),
    [
        ({"profile": "team"}, ProfileAnswer(404), [("profile-not-found", "error")]),
        ({"profile": "dev/team"}, ProfileAnswer(403), [("profile-forbidden", "error")]),
        ({"profile": "team"}, ProfileAnswer(200, STEAL), []),
        (
            {"profile": "team"},
            ProfileAnswer(200, ops.cluster_profile("x", ("incoming-teleport",))),
            [("profile-invalid", "error")],
        ),
        (
            {"profile": "team"},
            ProfileAnswer(200, {"spec": {"featureAdjustments": [], "newThing": 1}}),
            [("profile-invalid", "error")],
        ),
        ({"profile": "team"}, ProfileAnswer(200, {"spec": {}}), [("profile-invalid", "error")]),
        # profile.rs :172-:182 a namespaced profile must match target.namespace ...
        (
            {"profile": "dev/team", "target": {"path": "deployment/web", "namespace": "prod"}},
            ProfileAnswer(200, ops.namespaced_profile("team", "dev")),
            [("profile-invalid", "error")],
        ),
        (
            {"profile": "dev/team", "target": {"path": "deployment/web", "namespace": "dev"}},
            ProfileAnswer(200, ops.namespaced_profile("team", "dev")),
            [],
        ),
        # ... and fills it when unset
        (
            {"profile": "dev/team", "target": "deployment/web"},
            ProfileAnswer(200, ops.namespaced_profile("team", "dev")),
            [],
        ),
        # no HTTP answer, or a server failure: the cluster verdict says it
        ({"profile": "team"}, ProfileAnswer(None), []),
        ({"profile": "team"}, ProfileAnswer(503), []),
        ({}, ProfileAnswer(404), []),
    ],
)
def test_profile_rules(config, answer, expected):
    s = settings(config)
    assert codes(profile_rules(s, profile_ref(s), answer)) == expected


def test_profile_applied_before_the_session():
    s = settings({"profile": "dev/team", "target": "deployment/web"})
    applied = apply_profile(
        s,
        profile_ref(s),
        ProfileAnswer(200, ops.namespaced_profile("team", "dev", ("incoming-steal",))),
    )
    assert applied.target_namespace == "dev"
    assert applied.incoming.mode == "steal"
    assert apply_profile(s, profile_ref(s), ProfileAnswer(404)) == s


CAROL = "carol/carol@example.com@carol-laptop"


def steal(**incoming):
    return {
        "target": "deployment/web",
        "feature": {"network": {"incoming": {"mode": "steal", **incoming}}},
    }


def locked(*ports, user=CAROL, target="deployment/web", namespace="default", flt=None):
    return operator(
        sessions=[
            ops.session(
                user, target, namespace, locked_ports=[ops.locked_port(p, flt=flt) for p in ports]
            )
        ]
    )


@pytest.mark.parametrize(
    ("op", "config", "namespace", "expected"),
    [
        (locked(8080), steal(), "default", [("port-locked", "warning")]),
        (
            locked(8080),
            {"target": "deploy/web", "feature": {"network": {"incoming": "steal"}}},
            "default",
            [("port-locked", "warning")],
        ),
        (locked(8080), steal(ports=[8080]), "default", [("port-locked", "warning")]),
        (
            locked(8080),
            steal(http_filter={"header_filter": "^x: me$"}),
            "default",
            [("port-locked", "warning")],
        ),
        (
            locked(8080),
            steal(on_concurrent_steal="override"),
            "default",
            [("port-locked", "information")],
        ),
        (locked(8080), steal(port_mapping=[[3000, 8080]]), "default", [("port-locked", "warning")]),
        # controls: another port, namespace, target, mode; ignored ports; a filtered lock
        (locked(8080), steal(ports=[9090]), "default", []),
        (locked(8080), steal(ignore_ports=[8080]), "default", []),
        (locked(8080), steal(port_mapping=[[8080, 9090]]), "default", []),
        (locked(8080), steal(), "staging", []),
        (locked(8080, target="deployment/api"), steal(), "default", []),
        (
            locked(8080),
            {"target": "deployment/web", "feature": {"network": {"incoming": "mirror"}}},
            "default",
            [],
        ),
        (locked(8080), steal(on_concurrent_steal="continue"), "default", []),
        (locked(8080, flt="^x: carol$"), steal(), "default", []),
        (locked(8080, user="preview-env"), steal(), "default", []),
        (operator(sessions=None), steal(), "default", []),
    ],
)
def test_port_locks(op, config, namespace, expected):
    assert codes(port_lock_rules(op, settings(config), namespace)) == expected


def test_port_lock_message_says_who_and_since_when():
    (f,) = port_lock_rules(locked(8080), settings(steal()), "default")
    assert 'carol (cluster user "carol@example.com", on carol-laptop)' in f.message
    assert "for 21 min" in f.message and "8080" in f.message
    (mine,) = port_lock_rules(
        locked(8080), settings(steal()), "default", Identity("carol", "carol-laptop")
    )
    assert "you, in another session on carol-laptop" in mine.message


def test_port_locks_are_the_workload_clusters_business_in_multi_cluster():
    op = operator(
        supported_features=features_but(extra=("MultiClusterPrimary",)),
        sessions=[ops.CAROL_ON_WEB],
    )
    assert port_lock_rules(op, settings(steal()), "default") == []


def test_sessions_hover_lists_sessions_on_the_target():
    lines = sessions_hover(operator(), settings({"target": "deployment/web"}), "default")
    assert lines[0] == "Active mirrord sessions on this target (1):"
    assert "carol" in lines[1] and "8080 (Steal)" in lines[1]
    assert sessions_hover(operator(), settings({"target": "deployment/api"}), "default") == []
    api = sessions_hover(operator(), settings({"target": "deployment/api"}), "staging")
    assert "filter ^x-user: dave$" in api[1]


@pytest.mark.parametrize(
    ("user", "owner"),
    [
        ("alice/alice@ex@host", ("alice", "alice@ex", "host")),
        (
            "bob/system:serviceaccount:ci:bot@runner-1",
            ("bob", "system:serviceaccount:ci:bot", "runner-1"),
        ),
        ("preview-env", None),
    ],
)
def test_session_owner(user, owner):
    parsed = session_owner(user)
    assert (None if parsed is None else (parsed.name, parsed.kube_user, parsed.hostname)) == owner
