"""The config settings the operator-path rules read, as mirrord resolves them.

:func:`operator_settings` turns a rendered config (the parsed object as plain
Python values) into an :class:`OperatorSettings`. Each field follows the
mirrord config code that gives it meaning (`mirrord/config/src/...`), so the
rules never re-read the raw config. Values of the wrong type are left to the
schema check and read here as "not set". Environment overrides other than the
`operator` tri-state (`MIRRORD_OPERATOR_ENABLE`, resolved by the caller) are
not applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mirrord_ls.config.targets import Target, target_from_config

KeyPath = tuple[str | int, ...]
IncomingMode = Literal["mirror", "steal", "off"]
ConcurrentSteal = Literal["abort", "continue", "override"]

# `AgentConfig` defaults (mirrord/config/src/agent.rs, `#[config(default = ...)]`); every
# other agent field is an Option whose default is None. mirrord compares the whole
# generated agent config with the default one (cli/src/connection.rs, `create_and_connect`).
AGENT_DEFAULTS: dict[str, Any] = {
    "log_level": "info",
    "json_log": False,
    "image_pull_policy": "IfNotPresent",
    "ttl": 1,
    "ephemeral": False,
    "startup_timeout": 60,
    "flush_connections": True,
    "check_out_of_pods": True,
    "privileged": False,
    "external_ip_fix": True,
    "exclude_from_mesh": False,
    "inject_headers": False,
    "override_cache_control": True,
    "max_body_buffer_size": 65535,
    "max_body_buffer_timeout": 1000,
    "http_detection_timeout": 2,
    "disable_mesh_sidecar_injection": True,
    "jaq_time_limit": 1,
    "test_error": False,
}


@dataclass(frozen=True, slots=True)
class QueueSplit:
    """One `feature.split_queues` entry (config/src/feature/split_queues.rs `QueueSplit`)."""

    queue_id: str
    queue_type: str
    """As written: SQS, Kafka, RMQ, GCPPubSub, RedisPubSub, AzureServiceBus, Temporal, BullMQ."""
    message_filter: bool
    jq_filter: bool
    payload_protobuf: bool
    at: KeyPath


@dataclass(frozen=True, slots=True)
class DbBranch:
    """One `feature.db_branches` entry (config/src/feature/database_branches.rs)."""

    engine: str
    """The `type` tag: pg, mysql, mongodb, mariadb, cockroachdb, generic, mssql, ..."""
    image: bool
    """`image` set on an entry that has a base config (not a local redis)."""
    profile: bool
    pg_query_params: bool
    """pg only: `query_params` not empty, or a `connection.params` entry `sslmode`."""
    at: KeyPath


@dataclass(frozen=True, slots=True)
class HttpFilter:
    """What kinds of filter `feature.network.incoming.http_filter` sets."""

    is_set: bool = False
    composite: bool = False
    method: bool = False
    json_body: bool = False
    header_jq: bool = False
    ports: frozenset[int] | None = None
    at: KeyPath = ()


@dataclass(frozen=True, slots=True)
class Incoming:
    mode: IncomingMode = "mirror"
    ports: frozenset[int] | None = None
    ignore_ports: frozenset[int] = frozenset()
    port_mapping: tuple[tuple[int, int], ...] = ()
    on_concurrent_steal: ConcurrentSteal = "abort"
    http_filter: HttpFilter = HttpFilter()
    at: KeyPath = ("feature", "network", "incoming")


@dataclass(frozen=True, slots=True)
class OperatorSettings:
    operator: bool | None = None
    """The effective tri-state (`MIRRORD_OPERATOR_ENABLE` beats the file)."""
    target: Target | None = None
    """None: no target, or one that does not parse (reported by the target checks)."""
    target_at: KeyPath = ("target",)
    target_namespace: str | None = None
    """`target.namespace` as written; the context's namespace applies when None."""
    copy_target: bool = False
    copy_target_scale_down: bool = False
    copy_target_excludes: bool = False
    """`exclude_containers` or `exclude_init_containers` not empty."""
    split_queues: tuple[QueueSplit, ...] = ()
    db_branches: tuple[DbBranch, ...] = ()
    multi_cluster: bool | None = None
    profile: str | None = None
    agent_changed: tuple[str, ...] = ()
    """`agent` fields whose value differs from mirrord's default."""
    incoming: Incoming = Incoming()

    @property
    def is_label_target(self) -> bool:
        return self.target is not None and self.target.kind == "label"


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _ports(value: Any) -> frozenset[int] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return frozenset({value})  # VecOrSingle
    if isinstance(value, list):
        return frozenset(p for p in value if isinstance(p, int) and not isinstance(p, bool))
    return None


def _copy_target(feature: Any) -> tuple[bool, bool, bool]:
    """config/src/feature/copy_target.rs: `true`/`false`, or an object whose `enabled`
    defaults to true (`enabled.unwrap_or(true)`)."""
    value = _get(feature, "copy_target")
    if isinstance(value, bool):
        return value, False, False
    if not isinstance(value, dict):
        return False, False, False
    enabled = value.get("enabled")
    excludes = any(
        isinstance(value.get(k), list) and value[k]
        for k in ("exclude_containers", "exclude_init_containers")
    )
    return enabled is not False, value.get("scale_down") is True, excludes


def _inner_kinds(filters: Any) -> set[str]:
    kinds: set[str] = set()
    for item in filters if isinstance(filters, list) else ():
        if isinstance(item, dict):
            # http_filter.rs `InnerFilter`: {header}, {path}, {method}, a BodyFilter
            # {body: json, query, matches}, or HeaderJq {query} (a query without `body`).
            kinds.update(k for k in ("method", "body") if k in item)
            if "query" in item and "body" not in item:
                kinds.add("query")
    return kinds


def _http_filter(incoming: Any, at: KeyPath) -> HttpFilter:
    raw = _get(incoming, "http_filter")
    if not isinstance(raw, dict):
        return HttpFilter(at=(*at, "http_filter"))  # absent, or `true`/`false`: no filter
    present = {k for k, v in raw.items() if v is not None}
    inner = _inner_kinds(raw.get("all_of")) | _inner_kinds(raw.get("any_of"))
    # http_filter.rs `is_filter_set`, `is_composite`, `has_method_filter`,
    # `has_json_body_filter` (BodyFilter has only the Json variant), `has_header_jq_filter`.
    kinds = {"header_filter", "path_filter", "method_filter", "all_of", "any_of"}
    kinds |= {"body_filter", "header_filter_jq"}
    return HttpFilter(
        is_set=bool(present & kinds),
        composite=bool(present & {"all_of", "any_of"}),
        method="method_filter" in present or "method" in inner,
        json_body="body_filter" in present or "body" in inner,
        header_jq="header_filter_jq" in present or "query" in inner,
        ports=_ports(raw.get("ports")),
        at=(*at, "http_filter"),
    )


def _incoming(feature: Any) -> Incoming:
    network = _get(feature, "network")
    at: KeyPath = ("feature", "network", "incoming")
    if network is False:
        return Incoming(mode="off", at=("feature", "network"))
    raw = _get(network, "incoming")
    # incoming.rs `IncomingFileConfigVisitor`: a mode string, `true` (the default mode,
    # mirror), `false` (off), or the advanced object.
    if raw in ("mirror", "steal", "off"):
        return Incoming(mode=raw, at=at)
    if raw is False:
        return Incoming(mode="off", at=at)
    if not isinstance(raw, dict):
        return Incoming(at=at)
    mode: IncomingMode = raw["mode"] if raw.get("mode") in ("mirror", "steal", "off") else "mirror"
    steal = raw.get("on_concurrent_steal")
    mapping = tuple(
        (pair[0], pair[1])
        for pair in raw.get("port_mapping") or ()
        if isinstance(pair, list)
        and len(pair) == 2
        and all(isinstance(p, int) and not isinstance(p, bool) for p in pair)
    )
    return Incoming(
        mode=mode,
        ports=_ports(raw.get("ports")),
        ignore_ports=_ports(raw.get("ignore_ports")) or frozenset(),
        port_mapping=mapping,
        on_concurrent_steal=steal if steal in ("abort", "continue", "override") else "abort",
        http_filter=_http_filter(raw, at),
        at=at,
    )


def _split_entry(queue_id: str, entry: Any, at: KeyPath) -> QueueSplit | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("queue_type"), str):
        return None
    return QueueSplit(
        queue_id=queue_id,
        queue_type=entry["queue_type"],
        message_filter=entry.get("message_filter") is not None,
        jq_filter=entry.get("jq_filter") is not None,
        payload_protobuf=entry.get("payload_protobuf") is not None,
        at=at,
    )


def _split_queues(feature: Any) -> tuple[QueueSplit, ...]:
    """split_queues.rs `Deserialize for SplitQueuesConfig`: a map from queue id to its
    filter, or a list of entries that carry `queue_id`."""
    raw = _get(feature, "split_queues")
    base: KeyPath = ("feature", "split_queues")
    out: list[QueueSplit | None] = []
    if isinstance(raw, dict):
        out = [_split_entry(str(qid), e, (*base, str(qid))) for qid, e in raw.items()]
    elif isinstance(raw, list):
        out = [
            _split_entry(str(e.get("queue_id", "")), e, (*base, i))
            for i, e in enumerate(raw)
            if isinstance(e, dict)
        ]
    return tuple(s for s in out if s is not None)


def _db_branches(feature: Any) -> tuple[DbBranch, ...]:
    raw = _get(feature, "db_branches")
    out: list[DbBranch] = []
    for i, entry in enumerate(raw if isinstance(raw, list) else ()):
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            continue
        engine = entry["type"]
        # database_branches.rs `DatabaseBranchConfig::base`: a local redis has no base config.
        has_base = not (engine == "redis" and entry.get("location") == "local")
        extra = _get(entry, "connection", "params")
        out.append(
            DbBranch(
                engine=engine,
                image=has_base and entry.get("image") is not None,
                profile=has_base and entry.get("profile") is not None,
                pg_query_params=engine == "pg"
                and (
                    bool(entry.get("query_params"))
                    or (isinstance(extra, dict) and "sslmode" in extra)
                ),
                at=("feature", "db_branches", i),
            )
        )
    return tuple(out)


def _agent_changed(agent: Any) -> tuple[str, ...]:
    if not isinstance(agent, dict):
        return ()
    changed = []
    for key, value in agent.items():
        if value is None:
            continue  # `null` is the default of every field
        if key in AGENT_DEFAULTS:
            if value != AGENT_DEFAULTS[key] or type(value) is not type(AGENT_DEFAULTS[key]):
                changed.append(key)
        elif key == "dns":
            if isinstance(value, dict) and any(v is not None for v in value.values()):
                changed.append(key)
        elif key == "image" and isinstance(value, dict):
            # `{registry, tag}` both null is the default image.
            if any(v is not None for v in value.values()):
                changed.append(key)
        else:
            # An Option field whose default is None (namespace, image, labels, ...).
            changed.append(key)
    return tuple(changed)


def operator_settings(config: Mapping[str, Any], operator: bool | None) -> OperatorSettings:
    """The settings of a rendered config; `operator` is the effective tri-state."""
    feature = config.get("feature")
    target, target_at = target_from_config(config.get("target"))
    namespace = _get(config, "target", "namespace")
    copy, scale_down, excludes = _copy_target(feature)
    multi = config.get("multi_cluster")
    profile = config.get("profile")
    return OperatorSettings(
        operator=operator,
        target=target if isinstance(target, Target) else None,
        target_at=target_at or ("target",),
        target_namespace=namespace if isinstance(namespace, str) else None,
        copy_target=copy,
        copy_target_scale_down=scale_down,
        copy_target_excludes=excludes,
        split_queues=_split_queues(feature),
        db_branches=_db_branches(feature),
        multi_cluster=multi if isinstance(multi, bool) else None,
        profile=profile if isinstance(profile, str) else None,
        agent_changed=_agent_changed(config.get("agent")),
        incoming=_incoming(feature),
    )


def target_namespace(settings: OperatorSettings, context_namespace: str | None) -> str:
    """The namespace mirrord looks for the target in and starts the session in: the
    config's `target.namespace` (after a namespaced profile filled it, see
    `profiles.apply_profile`), else the kube client's default, the context's namespace
    or "default" (kube-rs `Client::default_namespace`; client.rs `target_connect_url`)."""
    return settings.target_namespace or context_namespace or "default"
