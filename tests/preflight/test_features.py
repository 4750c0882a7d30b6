"""Features, protocol version and copy-target filters against what the operator offers.

mirrord 3.250: `operator/src/client.rs` check_feature_support :1144-:1289 (label
:1152, copy_target :1158, excludes :1176, SQS :1183 (sqs() = entries with a
message_filter, split_queues.rs :262), Kafka :1192, jq :1210/:1222, protobuf :1234,
RMQ :1237, GCP :1252, Temporal :1263, Redis :1274, BullMQ :1285), prepare_branch_dbs
(dialects :686-:691 with required_branching_feature :1351-:1368, image :791,
profile :809, pg query params :835); `config/.../http_filter.rs` ensure_usable_with
:247-:291 with `protocol/src/tcp.rs` :634-:661; `cli/src/connection.rs` :154-:181
(copy target + filter warnings); connection.rs :186 (multi-cluster skips
check_feature_support).
"""

from __future__ import annotations

import pytest

from mirrord_ls.cluster.preflight.features import (
    copy_target_filter_rules,
    feature_rules,
    protocol_rules,
)

from .helpers import codes, features_but, operator, settings

SQS = {"queue_type": "SQS", "message_filter": {"k": "v"}}


def q(**entry):
    return {"feature": {"split_queues": {"orders": entry}}}


def db(*entries):
    return {"feature": {"db_branches": list(entries)}}


PG = {"type": "pg", "connection": {"url": {"type": "env", "variable": "DB"}}}


@pytest.mark.parametrize(
    ("config", "feature"),
    [
        ({"target": "label/app=web"}, "LabelTargeting"),
        ({"feature": {"copy_target": True}}, "CopyTarget"),
        (
            {"feature": {"copy_target": {"exclude_init_containers": ["init"]}}},
            "CopyTargetExcludeContainers",
        ),
        (q(**SQS), "SqsQueueSplitting"),
        (q(queue_type="SQS", jq_filter="."), "SqsQueueSplittingWithJqFilter"),
        (q(queue_type="Kafka"), "KafkaQueueSplitting"),
        (q(queue_type="Kafka", jq_filter="."), "KafkaQueueSplittingWithJqFilter"),
        (
            q(queue_type="Kafka", payload_protobuf={"descriptor": "x"}),
            "KafkaQueueSplittingWithProtobufDecoding",
        ),
        (q(queue_type="RMQ", message_filter={"k": "v"}), "RmqQueueSplitting"),
        (q(queue_type="GCPPubSub"), "GcpPubSubQueueSplitting"),
        (q(queue_type="Temporal"), "TemporalQueueSplitting"),
        (q(queue_type="RedisPubSub"), "RedisPubSubQueueSplitting"),
        (q(queue_type="BullMQ"), "BullMqQueueSplitting"),
        (db(PG), "PgBranching"),
        (db({"type": "mysql", "connection": {}}), "MySqlBranching"),
        (db({"type": "mongodb", "connection": {}}), "MongodbBranching"),
        (db({"type": "generic", "connection": {}}), "GenericDbBranching"),
        (db({"type": "mariadb", "connection": {}}), "MariaDbBranching"),
        (db({"type": "cockroachdb", "connection": {}}), "CockroachdbBranching"),
        (db({**PG, "image": "postgres:16"}), "DbBranchCustomImage"),
        (db({"type": "redis", "image": "redis:7", "connection": {}}), "DbBranchCustomImage"),
        (db({**PG, "profile": "small"}), "DbBranchProfiles"),
        (db({**PG, "query_params": {"sslmode": "disable"}}), "PgBranchQueryParams"),
        (
            db({**PG, "connection": {"params": {"host": "H", "sslmode": "M"}}}),
            "PgBranchQueryParams",
        ),
    ],
)
def test_feature_unsupported_and_its_control(config, feature):
    missing = operator(supported_features=features_but(feature))
    found = feature_rules(missing, settings(config))
    assert codes(found) == [("feature-unsupported", "error")]
    assert found[0].data == {"feature": feature}
    # control: the same config with the feature offered
    assert feature_rules(operator(), settings(config)) == []


@pytest.mark.parametrize(
    ("config", "not_needed"),
    [
        # sqs() only yields entries with a message_filter (split_queues.rs :262)
        (q(queue_type="SQS", jq_filter="."), "SqsQueueSplitting"),
        # `image` on a generic branch is its own dialect's business (client.rs :780-:787)
        (db({"type": "generic", "image": "x", "connection": {}}), "DbBranchCustomImage"),
        # a local redis has no base config (database_branches.rs `base`)
        (db({"type": "redis", "location": "local", "image": "r"}), "DbBranchCustomImage"),
        # engines not gated up front (required_branching_feature -> None)
        (db({"type": "mssql", "connection": {}}), "PgBranching"),
        ({"feature": {"copy_target": {"enabled": False}}}, "CopyTarget"),
    ],
)
def test_configs_that_do_not_need_the_feature(config, not_needed):
    missing = operator(supported_features=features_but(not_needed))
    assert feature_rules(missing, settings(config)) == []


def test_disabled_dialect_and_unsupported_feature_wording():
    (disabled,) = feature_rules(
        operator(supported_features=features_but("PgBranching")), settings(db(PG))
    )
    assert (
        "Feature `PostgreSQL branching` is not enabled on the mirrord operator." in disabled.message
    )
    assert disabled.at == ("feature", "db_branches", 0)
    (unsupported,) = feature_rules(
        operator(supported_features=features_but("LabelTargeting")),
        settings({"target": "label/app=web"}),
    )
    assert "Feature `label targeting` is not supported in mirrord operator 3.250.0." in (
        unsupported.message
    )


def test_split_queue_findings_name_every_queue_once_per_feature():
    config = {
        "feature": {
            "split_queues": [
                {"queue_id": "a", **SQS},
                {"queue_id": "b", **SQS},
            ]
        }
    }
    (finding,) = feature_rules(
        operator(supported_features=features_but("SqsQueueSplitting")), settings(config)
    )
    assert '"a", "b"' in finding.message
    assert finding.at == ("feature", "split_queues", 0)


def test_legacy_operator_without_supported_features():
    legacy = operator(
        supported_features=None, legacy_features=["ProxyApi"], copy_target_enabled=True
    )
    assert feature_rules(legacy, settings({"feature": {"copy_target": True}})) == []
    (finding,) = feature_rules(legacy, settings({"target": "label/app=web"}))
    assert "lists no `supported_features`" in finding.message


def test_multi_cluster_skips_check_feature_support_but_not_branch_gates():
    mc = operator(supported_features=("MultiClusterPrimary", "ProxyApi"))
    config = {"target": "deployment/web", "feature": {"copy_target": True, **db(PG)["feature"]}}
    found = feature_rules(mc, settings(config))
    assert [f.data["feature"] for f in found] == ["PgBranching"]
    # with multi_cluster false it is a single-cluster session again
    found = feature_rules(mc, settings({**config, "multi_cluster": False}))
    assert [f.data["feature"] for f in found] == ["CopyTarget", "PgBranching"]


def flt(**http_filter):
    return {"feature": {"network": {"incoming": {"mode": "steal", "http_filter": http_filter}}}}


@pytest.mark.parametrize(
    ("config", "protocol", "failing"),
    [
        (flt(any_of=[{"path": "/x"}]), "1.10.0", [">=1.11.0"]),
        (flt(any_of=[{"path": "/x"}]), "1.11.0", []),
        (flt(all_of=[{"method": "GET"}]), "1.19.0", [">=1.20.0"]),
        (flt(all_of=[{"method": "GET"}]), "1.10.0", [">=1.11.0", ">=1.20.0"]),
        (flt(method_filter="POST"), "1.20.0", []),
        (flt(body_filter={"body": "json", "query": ".a", "matches": "b"}), "1.22.9", [">=1.23.0"]),
        (flt(any_of=[{"body": "json", "query": ".a", "matches": "b"}]), "1.23.0", []),
        (flt(header_filter_jq=".x"), "1.25.0", [">=1.26.0"]),
        (flt(any_of=[{"query": ".x"}]), "1.26.0", []),
        # a pre-release matches no `>=` requirement (semver eval.rs matches_req)
        (flt(header_filter_jq=".x"), "1.27.0-rc.1", [">=1.26.0"]),
        # `protocol_version.parse().ok()` (client.rs :1942): unreadable or absent fails all
        (flt(method_filter="GET"), "one-point-twenty", [">=1.20.0"]),
        (flt(method_filter="GET"), None, [">=1.20.0"]),
        # header and path filters need no particular version
        (flt(header_filter="^x: y$"), None, []),
        (flt(path_filter="/api"), "1.0.0", []),
    ],
)
def test_protocol_too_old(config, protocol, failing):
    found = protocol_rules(operator(protocol_version=protocol), settings(config))
    assert [f.data["required"] for f in found] == failing
    assert all((f.code, f.severity) == ("protocol-too-old", "error") for f in found)
    if found:
        assert "protocol version used by mirrord-agent must match" in found[0].message


def test_filter_requirements_hold_in_mirror_mode_too():
    # execution.rs calls ensure_usable_with whatever the incoming mode
    config = {"feature": {"network": {"incoming": {"http_filter": {"method_filter": "GET"}}}}}
    assert len(protocol_rules(operator(protocol_version="1.0.0"), settings(config))) == 1
    assert protocol_rules(operator(protocol_version="1.0.0"), settings({})) == []


@pytest.mark.parametrize(
    ("isolates", "copy", "expected"),
    [
        (False, True, [("copy-target-filter", "warning")]),  # connection.rs :177-:180
        (True, {"scale_down": True}, [("copy-target-filter", "warning")]),  # :169-:174
        (True, True, []),
        (False, False, []),
    ],
)
def test_copy_target_with_an_http_filter(isolates, copy, expected):
    feats = features_but() if isolates else features_but("CopyTargetFilterIsolation")
    config = flt(header_filter="^x: y$")
    config["feature"]["copy_target"] = copy
    found = copy_target_filter_rules(operator(supported_features=feats), settings(config))
    assert codes(found) == expected
    # control: no filter, no warning
    config["feature"]["network"]["incoming"].pop("http_filter")
    assert copy_target_filter_rules(operator(supported_features=feats), settings(config)) == []
