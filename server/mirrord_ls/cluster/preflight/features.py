"""What the operator can do, against what the config asks: features, protocol, copy filters.

Rules: `feature-unsupported` (`OperatorApi::check_feature_support` and the
fail-fast gates of `prepare_branch_dbs`, `mirrord/operator/src/client.rs`),
`protocol-too-old` (`HttpFilterConfig::ensure_usable_with`,
`mirrord/config/src/feature/network/incoming/http_filter.rs`, called from
`cli/src/execution.rs` with the operator's `protocol_version`) and
`copy-target-filter` (the two warnings of `try_connect_using_operator`).
Each reads only the operator object discovery already fetched.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirrord_ls.cluster.preflight import RuleFinding
from mirrord_ls.cluster.preflight.operator import multi_cluster_session
from mirrord_ls.cluster.preflight.operator_object import MirrordOperator
from mirrord_ls.cluster.preflight.settings import KeyPath, OperatorSettings
from mirrord_ls.cluster.preflight.versions import parse_version

# crd.rs `impl Display for NewOperatorFeature`: the names mirrord prints.
FEATURE_NAMES: dict[str, str] = {
    "LabelTargeting": "label targeting",
    "CopyTarget": "copy target",
    "CopyTargetExcludeContainers": "copy target excluded containers",
    "SqsQueueSplitting": "SQS queue splitting",
    "SqsQueueSplittingWithJqFilter": "Splitting SQS queues with a jq filter",
    "KafkaQueueSplitting": "Kafka queue splitting",
    "KafkaQueueSplittingWithJqFilter": "Splitting Kafka topics with a jq filter",
    "KafkaQueueSplittingWithProtobufDecoding": "Splitting Kafka topics with protobuf payload"
    " decoding",
    "RmqQueueSplitting": "RabbitMQ queue splitting",
    "GcpPubSubQueueSplitting": "GCP Pub/Sub queue splitting",
    "TemporalQueueSplitting": "Temporal queue splitting",
    "RedisPubSubQueueSplitting": "Redis Pub/Sub queue splitting",
    "BullMqQueueSplitting": "BullMQ queue splitting",
    "PgBranching": "PostgreSQL branching",
    "MySqlBranching": "MySQL branching",
    "MongodbBranching": "MongoDB branching",
    "GenericDbBranching": "generic db branching",
    "MariaDbBranching": "MariaDB branching",
    "CockroachdbBranching": "CockroachDB branching",
    "DbBranchCustomImage": "custom db branch image",
    "DbBranchProfiles": "db branch config profiles",
    "PgBranchQueryParams": "pg branch query params",
}

# client.rs `required_branching_feature`: only these engines are gated up front (the
# others "rely on the operator marking the branch Failed").
BRANCHING_FEATURES: dict[str, str] = {
    "pg": "PgBranching",
    "mysql": "MySqlBranching",
    "mongodb": "MongodbBranching",
    "generic": "GenericDbBranching",
    "mariadb": "MariaDbBranching",
    "cockroachdb": "CockroachdbBranching",
}

# http_filter.rs `ensure_usable_with` REQUIREMENTS, with protocol/src/tcp.rs minimums.
FILTER_REQUIREMENTS: tuple[tuple[str, tuple[int, int, int], str], ...] = (
    ("composite", (1, 11, 0), "'any_of' or 'all_of' HTTP filter types"),
    ("method", (1, 20, 0), "'method' http filter type"),
    ("json_body", (1, 23, 0), "JSON body filters"),
    ("header_jq", (1, 26, 0), "JQ header filters"),
)


@dataclass(frozen=True, slots=True)
class _Need:
    feature: str
    what: str
    """The config that needs it, in words."""
    at: KeyPath
    disabled: bool = False
    """FeatureDisabled (db dialects) rather than UnsupportedFeature."""


def _queue_needs(settings: OperatorSettings) -> list[_Need]:
    """client.rs `check_feature_support` over `split_queues` (auto_queue_splitting is
    false outside `mirrord up`), with split_queues.rs's iterators: `sqs()` and `rmq()` only
    yield entries with a `message_filter`; the `*_queues()` iterators yield every entry."""
    rules = (
        ("SqsQueueSplitting", lambda q: q.queue_type == "SQS" and q.message_filter),
        ("KafkaQueueSplitting", lambda q: q.queue_type == "Kafka"),
        ("SqsQueueSplittingWithJqFilter", lambda q: q.queue_type == "SQS" and q.jq_filter),
        ("KafkaQueueSplittingWithJqFilter", lambda q: q.queue_type == "Kafka" and q.jq_filter),
        (
            "KafkaQueueSplittingWithProtobufDecoding",
            lambda q: q.queue_type == "Kafka" and q.payload_protobuf,
        ),
        ("RmqQueueSplitting", lambda q: q.queue_type == "RMQ" and q.message_filter),
        ("GcpPubSubQueueSplitting", lambda q: q.queue_type == "GCPPubSub"),
        ("TemporalQueueSplitting", lambda q: q.queue_type == "Temporal"),
        ("RedisPubSubQueueSplitting", lambda q: q.queue_type == "RedisPubSub"),
        ("BullMqQueueSplitting", lambda q: q.queue_type == "BullMQ"),
    )
    needs = []
    for feature, wants in rules:
        queues = [q for q in settings.split_queues if wants(q)]
        if queues:
            ids = ", ".join(f'"{q.queue_id}"' for q in queues)
            needs.append(_Need(feature, f"`split_queues` ({ids})", queues[0].at))
    return needs


def _branch_needs(settings: OperatorSettings) -> list[_Need]:
    """client.rs `prepare_branch_dbs`: the dialect gate, then `image` (not on generic),
    `profile`, and pg query params / `sslmode`, in that order."""
    needs = []
    for branch in settings.db_branches:
        feature = BRANCHING_FEATURES.get(branch.engine)
        if feature is not None:
            what = f"the `{branch.engine}` entry of `db_branches`"
            needs.append(_Need(feature, what, branch.at, disabled=True))
    image = [b for b in settings.db_branches if b.image and b.engine != "generic"]
    if image:
        needs.append(
            _Need("DbBranchCustomImage", "`image` in `db_branches`", (*image[0].at, "image"))
        )
    profile = [b for b in settings.db_branches if b.profile]
    if profile:
        needs.append(
            _Need("DbBranchProfiles", "`profile` in `db_branches`", (*profile[0].at, "profile"))
        )
    pg = [b for b in settings.db_branches if b.pg_query_params]
    if pg:
        needs.append(_Need("PgBranchQueryParams", "pg `query_params` or `sslmode`", pg[0].at))
    return needs


def feature_rules(operator: MirrordOperator, settings: OperatorSettings) -> list[RuleFinding]:
    """`feature-unsupported`: a feature the config needs that `supported_features` lacks.

    Run only when the operator will be used. Reads: the operator GET (no request).
    """
    needs: list[_Need] = []
    if not multi_cluster_session(operator, settings):
        # connection.rs: a multi-cluster session goes to `connect_in_multi_cluster_session`,
        # which never calls `check_feature_support`.
        if settings.is_label_target:
            needs.append(_Need("LabelTargeting", "a label target", settings.target_at))
        if settings.copy_target:
            needs.append(_Need("CopyTarget", "`copy_target`", ("feature", "copy_target")))
        if settings.copy_target_excludes:
            needs.append(
                _Need(
                    "CopyTargetExcludeContainers",
                    "`copy_target` excluded containers",
                    ("feature", "copy_target"),
                )
            )
        needs += _queue_needs(settings)
    if settings.db_branches:
        needs += _branch_needs(settings)
    version = str(operator.operator_version)
    old = (
        ""
        if operator.advertises_features
        else " (an operator this old lists no `supported_features`)"
    )
    found = []
    for need in needs:
        if operator.supports(need.feature):
            continue
        name = FEATURE_NAMES.get(need.feature, need.feature)
        if need.disabled:
            text = f"Feature `{name}` is not enabled on the mirrord operator."
            fix = "ask the cluster admin to enable it in the operator's configuration"
        else:
            text = f"Feature `{name}` is not supported in mirrord operator {version}."
            fix = "upgrade the mirrord operator (or ask its admin to enable the feature)"
        found.append(
            RuleFinding(
                "feature-unsupported",
                "error",
                f"{need.what[0].upper()}{need.what[1:]} needs the operator feature"
                f" `{need.feature}`, which mirrord operator {version} does not offer{old}:"
                f' mirrord will stop with "{text}" Fix: {fix}, or remove the setting.',
                at=need.at,
                mirrord_source="mirrord/operator/src/client.rs check_feature_support,"
                " prepare_branch_dbs",
                data={"feature": need.feature},
            )
        )
    return found


def protocol_rules(operator: MirrordOperator, settings: OperatorSettings) -> list[RuleFinding]:
    """`protocol-too-old`: HTTP filter kinds the operator's `protocol_version` cannot carry.

    Run only when the operator will be used. Reads: the operator GET (no request).
    """
    flt = settings.incoming.http_filter
    if not flt.is_set:
        return []
    # client.rs `make_operator_session`: `protocol_version.parse().ok()`: an unreadable
    # version is no version, and `ensure_usable_with(None)` fails every requirement.
    raw = operator.protocol_version
    version = parse_version(raw) if raw is not None else None
    shown = f"mirrord protocol {raw}" if raw is not None else "no mirrord protocol version"
    found = []
    for kind, minimum, what in FILTER_REQUIREMENTS:
        if not getattr(flt, kind):
            continue
        if version is not None and version.satisfies_at_least(minimum):
            continue
        req = ">=" + ".".join(map(str, minimum))
        found.append(
            RuleFinding(
                "protocol-too-old",
                "error",
                f"The operator advertises {shown}, too old for {what} (needs {req}): mirrord"
                f' will stop with "Cannot use {what}, protocol version used by mirrord-agent'
                f' must match {req}." Fix: upgrade the mirrord operator, or use a filter its'
                " protocol supports.",
                at=flt.at,
                mirrord_source="mirrord/config/src/feature/network/incoming/http_filter.rs"
                " ensure_usable_with; cli/src/execution.rs",
                data={"required": req, "protocolVersion": raw},
            )
        )
    return found


def copy_target_filter_rules(
    operator: MirrordOperator, settings: OperatorSettings
) -> list[RuleFinding]:
    """`copy-target-filter`: mirrord's two warnings for an HTTP filter on a copied target.

    Run only when the operator will be used. Reads: the operator GET (no request).
    """
    if not (settings.copy_target and settings.incoming.http_filter.is_set):
        return []
    source = "mirrord/cli/src/connection.rs try_connect_using_operator"
    if operator.supports("CopyTargetFilterIsolation"):
        if not settings.copy_target_scale_down:
            return []
        return [
            RuleFinding(
                "copy-target-filter",
                "warning",
                "`copy_target.scale_down` with an HTTP filter: with the original workload"
                " scaled to zero there are no pods to serve unmatched requests, so mirrord"
                " will ignore the filter and steal all traffic to your local process. Fix:"
                " drop `scale_down` to keep the filter meaningful.",
                at=("feature", "copy_target"),
                mirrord_source=source,
            )
        ]
    return [
        RuleFinding(
            "copy-target-filter",
            "warning",
            "`copy_target` with an HTTP filter: this operator (without"
            ' `CopyTargetFilterIsolation`) steals from the copy itself, so mirrord warns "all'
            ' unmatched HTTP requests are discarded". Fix: upgrade the operator, or drop'
            " `copy_target` if the filter should leave other traffic alone.",
            at=("feature", "copy_target"),
            mirrord_source=source,
        )
    ]
