"""Operator-side sample data: MirrordOperator variants, sessions with port locks, profiles.

Shaped as the operator serves them (`mirrord/operator/src/crd.rs`
`MirrordOperatorSpec`/`MirrordOperatorStatus`, snake_case keys, `status.sessions`
always present; `crd/profile.rs` profiles, camelCase), so that what mirrord
would deserialize, mirrord-ls reads. :data:`VARIANTS` names one operator object
per preflight verdict; dates are relative to a `today` the caller passes.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from mirrord_ls.loopback.resources import (
    OPERATOR_GROUP,
    OPERATOR_VERSION,
    PROFILES_GROUP,
    PROFILES_VERSION,
)

JsonObj = dict[str, Any]
CREATED = "2026-01-05T09:00:00Z"

# What a current operator with every option on advertises (crd.rs NewOperatorFeature).
ALL_FEATURES: tuple[str, ...] = (
    "ProxyApi",
    "CopyTarget",
    "CopyTargetExcludeContainers",
    "SessionManagement",
    "SqsQueueSplitting",
    "KafkaQueueSplitting",
    "LayerReconnect",
    "KafkaQueueSplittingDirect",
    "SqsQueueSplittingDirect",
    "MySqlBranching",
    "ExtendableUserCredentials",
    "PgBranching",
    "CockroachdbBranching",
    "MongodbBranching",
    "SqsQueueSplittingWithJqFilter",
    "KafkaQueueSplittingWithJqFilter",
    "UnifiedBranchDbCrd",
    "RmqQueueSplitting",
    "GcpPubSubQueueSplitting",
    "RedisPubSubQueueSplitting",
    "TemporalQueueSplitting",
    "ConnectParamsInHeader",
    "BullMqQueueSplitting",
    "GenericDbBranching",
    "CopyTargetFilterIsolation",
    "LabelTargeting",
    "MariaDbBranching",
    "DbBranchCustomImage",
    "DbBranchProfiles",
    "DiagnosticPing",
    "KafkaQueueSplittingWithProtobufDecoding",
    "PgBranchQueryParams",
)


def locked_port(port: int, kind: str = "Steal", flt: str | None = None) -> JsonObj:
    return {"port": port, "kind": kind, "filter": flt}


def session(
    user: str,
    target: str,
    namespace: str,
    *,
    sid: str = "5EF7258B5ED09466",
    duration_secs: int = 1260,
    locked_ports: Iterable[JsonObj] = (),
) -> JsonObj:
    """One `status.sessions` entry; `user` as the operator writes it: name/k8s-user@host."""
    return {
        "id": sid,
        "duration_secs": duration_secs,
        "user": user,
        "target": target,
        "namespace": namespace,
        "locked_ports": list(locked_ports),
        "user_id": "dXNlci1rZXk",
        "sqs": None,
        "rmq": None,
        "kafka": None,
    }


# carol steals port 8080 of deployment/web in `default`, without a filter.
CAROL_ON_WEB = session(
    "carol/carol@example.com@carol-laptop",
    "deployment/web",
    "default",
    locked_ports=[locked_port(8080)],
)
# dave steals port 80 of deployment/api in `staging` with a header filter.
DAVE_ON_API = session(
    "dave/dave@example.com@dave-desktop",
    "deployment/api",
    "staging",
    sid="77AC01D2E3F40516",
    duration_secs=300,
    locked_ports=[locked_port(80, flt="^x-user: dave$")],
)


def operator_object(
    *,
    today: datetime.date,
    operator_version: str = "3.250.0",
    default_namespace: str = "mirrord",
    license_name: str = "Loopback Org Enterprise",
    organization: str = "Loopback Org",
    expires_in_days: int = 365,
    fingerprint: str | None = "bG9vcGJhY2stbGljZW5zZS1maW5nZXJwcmludA",
    protocol_version: str | None = "1.26.0",
    supported_features: Iterable[str] | None = ALL_FEATURES,
    legacy_features: Iterable[str] | None = None,
    copy_target_enabled: bool | None = None,
    sessions: Iterable[JsonObj] | None = (CAROL_ON_WEB, DAVE_ON_API),
) -> JsonObj:
    """The `MirrordOperator` named `operator`. `supported_features=None` leaves the field
    out, as an operator from before it does (then `legacy_features`/`copy_target_enabled`
    speak); `sessions=None` leaves `status` out."""
    lic: JsonObj = {
        "name": license_name,
        "organization": organization,
        "expire_at": (today + datetime.timedelta(days=expires_in_days)).isoformat(),
    }
    if fingerprint is not None:
        lic["fingerprint"] = fingerprint
        lic["subscription_id"] = "sub-loopback-0001"
    spec: JsonObj = {
        "operator_version": operator_version,
        "default_namespace": default_namespace,
        "license": lic,
        "operator_namespace": default_namespace,
    }
    if protocol_version is not None:
        spec["protocol_version"] = protocol_version
    if supported_features is not None:
        spec["supported_features"] = list(supported_features)
    if legacy_features is not None:
        spec["features"] = list(legacy_features)
    if copy_target_enabled is not None:
        spec["copy_target_enabled"] = copy_target_enabled
    obj: JsonObj = {
        "apiVersion": f"{OPERATOR_GROUP}/{OPERATOR_VERSION}",
        "kind": "MirrordOperator",
        "metadata": {"name": "operator", "creationTimestamp": CREATED},
        "spec": spec,
    }
    if sessions is not None:
        obj["status"] = {
            "sessions": list(sessions),
            "statistics": {"dau": 3, "mau": 12},
            "copy_targets": [],
        }
    return obj


def _without(obj: JsonObj, *path: str) -> JsonObj:
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return obj


def _all_but(*missing: str) -> tuple[str, ...]:
    return tuple(f for f in ALL_FEATURES if f not in missing)


# One operator object per verdict; each takes today's date (UTC).
VARIANTS: dict[str, Callable[[datetime.date], JsonObj]] = {
    "healthy": lambda today: operator_object(today=today),
    "expired": lambda today: operator_object(today=today, expires_in_days=-1),
    "trial-expiring": lambda today: operator_object(
        today=today, license_name="Loopback Org (Trial)", expires_in_days=1
    ),
    "invalid": lambda today: _without(
        operator_object(today=today, sessions=()), "status", "sessions"
    ),
    "no-namespace": lambda today: _without(
        operator_object(today=today), "spec", "default_namespace"
    ),
    "no-fingerprint": lambda today: operator_object(today=today, fingerprint=None),
    # An operator from before `supported_features` and `protocol_version`.
    "legacy": lambda today: operator_object(
        today=today,
        operator_version="3.70.0",
        protocol_version=None,
        supported_features=None,
        legacy_features=["ProxyApi"],
        copy_target_enabled=False,
        sessions=(),
    ),
    "old-protocol": lambda today: operator_object(
        today=today,
        protocol_version="1.19.0",
        supported_features=_all_but("CopyTargetFilterIsolation", "LabelTargeting"),
    ),
    "multi-cluster": lambda today: operator_object(
        today=today, supported_features=(*ALL_FEATURES, "MultiClusterPrimary")
    ),
}


def _profile(kind: str, name: str, namespace: str | None, changes: Iterable[str]) -> JsonObj:
    meta: JsonObj = {"name": name, "creationTimestamp": CREATED}
    if namespace is not None:
        meta["namespace"] = namespace
    return {
        "apiVersion": f"{PROFILES_GROUP}/{PROFILES_VERSION}",
        "kind": kind,
        "metadata": meta,
        "spec": {"featureAdjustments": [{"change": c} for c in changes]},
    }


def cluster_profile(name: str, changes: Iterable[str] = ("incoming-steal",)) -> JsonObj:
    return _profile("MirrordClusterProfile", name, None, changes)


def namespaced_profile(
    name: str, namespace: str, changes: Iterable[str] = ("incoming-mirror",)
) -> JsonObj:
    return _profile("MirrordProfile", name, namespace, changes)


def sample_profiles() -> list[JsonObj]:
    """`team-steal` (cluster-wide), `default/mirror-only`, and `from-the-future`, a
    cluster-wide profile with a change this mirrord does not know."""
    return [
        cluster_profile("team-steal"),
        namespaced_profile("mirror-only", "default"),
        cluster_profile("from-the-future", ("incoming-teleport",)),
    ]


def target_objects(namespace: str, names: Iterable[str]) -> list[JsonObj]:
    """`targets` as the operator lists them (`TargetCrd`, named `deploy.web` and so on)."""
    out = []
    for urlfied in names:
        kind, _, name = urlfied.partition(".")
        path_key = {"deploy": "deployment", "pod": "pod", "rollout": "rollout"}.get(kind, kind)
        out.append(
            {
                "apiVersion": f"{OPERATOR_GROUP}/{OPERATOR_VERSION}",
                "kind": "Target",
                "metadata": {"name": urlfied, "namespace": namespace, "creationTimestamp": CREATED},
                "spec": {"target": {path_key: name}},
            }
        )
    return out
