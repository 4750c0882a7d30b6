"""Loopback clusters for the operator-path preflight: one kube context per verdict.

`start_operator_clusters(path)` starts one server per MirrordOperator variant
(the object is cluster-scoped, so a variant needs its own cluster) and writes
one kubeconfig with a context per case:

| context                    | operator object         | user  | what mirrord meets       |
|----------------------------|-------------------------|-------|--------------------------|
| `op-healthy`               | current, every feature  | alice | all allowed; carol holds |
|                            |                         |       | port 8080 of deploy/web  |
| `op-no-certificate`        | the same                | dave  | no user credentials      |
| `op-no-session`            | the same                | erin  | sessions in staging only |
| `op-no-profiles`           | the same                | frank | no mirrord profiles      |
| `op-expired`               | licence ended yesterday | alice | licence fallback / error |
| `op-trial-expiring`        | trial, ends tomorrow    | alice | licence warning          |
| `op-invalid`               | status without sessions | alice | cannot deserialize it    |
| `op-legacy`                | no supported_features,  | alice | features and filters     |
|                            | no protocol_version     |       | refused                  |
| `op-legacy-no-certificate` | the same                | gina  | no certificate subresource |
| `op-old-protocol`          | protocol 1.19.0, no     | alice | method filters refused   |
|                            | label targeting         |       |                          |
| `op-multi-cluster`         | MultiClusterPrimary     | alice | target resolved remotely |

Profiles on `op-healthy`'s cluster: `team-steal`, `default/mirror-only`,
`from-the-future` (an unknown change). Every user reads the sample workloads.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

from mirrord_ls.loopback import operator_samples as ops
from mirrord_ls.loopback.apiserver import LoopbackApiServer
from mirrord_ls.loopback.kubeconfig import write_kubeconfig
from mirrord_ls.loopback.rbac import MIRRORD_OPERATOR_USER_RULES, PolicyRule
from mirrord_ls.loopback.resources import OPERATOR_GROUP, PROFILES_GROUP
from mirrord_ls.loopback.scenarios import (
    WORKLOAD_READER_RULES,
    DemoClusters,
    ReservedPort,
    Scenario,
)
from mirrord_ls.loopback.users import User

CLUSTER_RESOURCES = frozenset(
    {
        "mirrordoperators",
        "mirrordoperators/certificate",
        "mirrordclusteroperatorusercredentials",
        "mirrordclusterprofiles",
    }
)


def _rules_without(
    *dropped: tuple[str, str], rules: Sequence[PolicyRule] = MIRRORD_OPERATOR_USER_RULES
) -> list[PolicyRule]:
    """`mirrord-operator-user` less some (group, resource) pairs."""
    out = []
    for r in rules:
        kept = tuple(res for res in r.resources if (r.api_groups[0], res) not in dropped)
        if kept:
            out.append(PolicyRule(r.verbs, r.api_groups, kept))
    return out


def _split_rules() -> tuple[list[PolicyRule], list[PolicyRule]]:
    """The chart's split: cluster-scoped rules, and the namespaced ones a Role may hold."""
    cluster: list[PolicyRule] = []
    namespaced: list[PolicyRule] = []
    for r in MIRRORD_OPERATOR_USER_RULES:
        (cluster if set(r.resources) <= CLUSTER_RESOURCES else namespaced).append(r)
    return cluster, namespaced


def _cluster(obj: dict[str, object]) -> LoopbackApiServer:
    server = LoopbackApiServer()
    server.store.put(obj)
    server.rbac.add_cluster_role("workload-reader", WORKLOAD_READER_RULES)
    server.rbac.bind_cluster_role("workload-reader", groups=["system:authenticated"])
    return server


def _user_with(server: LoopbackApiServer, name: str, rules: Sequence[PolicyRule]) -> User:
    user = server.add_user(name)
    server.rbac.grant(name, rules)
    return user


def start_operator_clusters(
    kubeconfig: str | Path,
    *,
    namespace: str = "default",
    today: datetime.date | None = None,
    round_trip: float = 0.0,
) -> DemoClusters:
    """Start the operator-path clusters and write their kubeconfig (current: `op-healthy`)."""
    today = today or datetime.datetime.now(datetime.UTC).date()
    variants = {name: make(today) for name, make in ops.VARIANTS.items()}
    started: list[LoopbackApiServer] = []
    reserved = ReservedPort()  # DemoClusters owns one; nothing here is unreachable
    try:
        healthy = _cluster(variants["healthy"])
        healthy.store.put_all(ops.sample_profiles())
        healthy.store.put_all(ops.target_objects("default", ["deploy.web", "pod.db-0"]))
        plan: dict[str, tuple[LoopbackApiServer, User]] = {}
        plan["op-healthy"] = (healthy, healthy.add_user("alice"))
        healthy.allow_mirrord_operator_user(users=["alice"])
        plan["op-no-certificate"] = (
            healthy,
            _user_with(
                healthy,
                "dave",
                _rules_without(
                    (OPERATOR_GROUP, "mirrordclusteroperatorusercredentials"),
                    (OPERATOR_GROUP, "mirrordoperators/certificate"),
                ),
            ),
        )
        cluster_rules, namespaced_rules = _split_rules()
        erin = _user_with(healthy, "erin", cluster_rules)
        healthy.rbac.grant("erin", namespaced_rules, namespace="staging")
        plan["op-no-session"] = (healthy, erin)
        plan["op-no-profiles"] = (
            healthy,
            _user_with(
                healthy,
                "frank",
                _rules_without(
                    (PROFILES_GROUP, "mirrordclusterprofiles"), (PROFILES_GROUP, "mirrordprofiles")
                ),
            ),
        )
        for variant in ("expired", "trial-expiring", "invalid", "old-protocol", "multi-cluster"):
            server = _cluster(variants[variant])
            plan[f"op-{variant}"] = (server, server.add_user("alice"))
            server.allow_mirrord_operator_user(users=["alice"])
        legacy = _cluster(variants["legacy"])
        plan["op-legacy"] = (legacy, legacy.add_user("alice"))
        legacy.allow_mirrord_operator_user(users=["alice"])
        plan["op-legacy-no-certificate"] = (
            legacy,
            _user_with(
                legacy, "gina", _rules_without((OPERATOR_GROUP, "mirrordoperators/certificate"))
            ),
        )
        scenarios = [
            Scenario("op-healthy", "operator usable; carol steals port 8080 of web", "ok"),
            Scenario(
                "op-no-certificate", "dave may not get a user certificate", "certificate-forbidden"
            ),
            Scenario(
                "op-no-session", "erin may start sessions only in staging", "session-forbidden"
            ),
            Scenario("op-no-profiles", "frank may not read mirrord profiles", "profile-forbidden"),
            Scenario("op-expired", "the operator's licence expired yesterday", "license-expired"),
            Scenario("op-trial-expiring", "a trial licence that ends tomorrow", "license-expiring"),
            Scenario("op-invalid", "status without sessions: unreadable", "operator-invalid"),
            Scenario(
                "op-legacy", "an operator older than supported_features", "feature-unsupported"
            ),
            Scenario(
                "op-legacy-no-certificate",
                "gina may not create mirrordoperators/certificate",
                "certificate-forbidden",
            ),
            Scenario("op-old-protocol", "protocol 1.19.0, no label targeting", "protocol-too-old"),
            Scenario("op-multi-cluster", "a multi-cluster primary", "ok"),
        ]
        for server in {id(s): s for s, _ in plan.values()}.values():
            server.round_trip = round_trip
            started.append(server.start())
        contexts = [
            server.context(user, name=name, namespace=namespace, cluster=name)
            for name, (server, user) in plan.items()
        ]
        path = write_kubeconfig(kubeconfig, contexts, current="op-healthy")
    except BaseException:
        for server in started:
            server.stop()
        reserved.close()
        raise
    return DemoClusters(
        kubeconfig=path,
        scenarios=scenarios,
        servers={name: server for name, (server, _user) in plan.items()},
        reserved_port=reserved,
        contexts={c.name: c for c in contexts},
    )
