"""mirrord's own rules beyond the schema (`config/verify.py`), in every format.

Each case cites the mirrord source (3.250.0) that decides it. Run against mirrord's published
schema and against the built-in schema alone: offline checking is as strict as online.
"""

from __future__ import annotations

from typing import Any

import pytest
from config_formats import FORMATS, write

from conftest import REFERENCE_SCHEMA
from mirrord_ls.config.analyze import analyze
from mirrord_ls.config.schema import Schema, builtin_schema, load_configured

INCOMING = ("feature", "network", "incoming")


def nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(path):
        out = {part: out}
    return out


def merge(*parts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
    return out


# (id, config, code, severity, text under the finding's range, mirrord source)
CASES: list[tuple[str, dict[str, Any], str, str, str, str]] = [
    (
        "env-include-and-exclude",
        nest(("feature", "env"), {"include": "A", "exclude": "B"}),
        "conflict",
        "error",
        "exclude",
        "lib.rs LayerConfig::verify: cannot use both `include` and `exclude` filters",
    ),
    (
        "two-http-filters",
        nest((*INCOMING, "http_filter"), {"header_filter": "^x: y$", "path_filter": "/a"}),
        "conflict",
        "error",
        "path_filter",
        "lib.rs LayerConfig::verify: Cannot use multiple types of HTTP filter at the same time",
    ),
    (
        "empty-any-of",
        nest((*INCOMING, "http_filter"), {"any_of": []}),
        "conflict",
        "error",
        "[]",
        "lib.rs LayerConfig::verify: Composite HTTP filter cannot be empty",
    ),
    (
        "empty-all-of",
        nest((*INCOMING, "http_filter"), {"all_of": []}),
        "conflict",
        "error",
        "[]",
        "lib.rs LayerConfig::verify: Composite HTTP filter cannot be empty",
    ),
    (
        "ignore-ports-with-ports",
        nest(INCOMING, {"ignore_ports": [9999], "ports": [80]}),
        "conflict",
        "error",
        "ports",
        "lib.rs LayerConfig::verify: Cannot use both `incoming.ignore_ports` and `incoming.ports`",
    ),
    (
        "targetless-steal",
        merge({"target": "targetless"}, nest(INCOMING, {"mode": "steal"})),
        "conflict",
        "error",
        "steal",
        "lib.rs LayerConfig::verify: Steal mode is not compatible with a targetless agent",
    ),
    (
        "targetless-ephemeral",
        {"target": "targetless", "agent": {"ephemeral": True}},
        "conflict",
        "error",
        "ephemeral",
        "lib.rs LayerConfig::verify: Using an ephemeral container ... targetless agent",
    ),
    (
        "targetless-agent-namespace",
        {"target": "targetless", "agent": {"namespace": "ops"}},
        "conflict",
        "warning",
        "namespace",
        "lib.rs LayerConfig::verify: Agent namespace is ignored in targetless runs",
    ),
    (
        "ephemeral-agent-namespace",
        {"target": "deployment/web", "agent": {"ephemeral": True, "namespace": "ops"}},
        "conflict",
        "warning",
        "namespace",
        "lib.rs LayerConfig::verify: Agent namespace is ignored when using an ephemeral container",
    ),
    (
        "copy-target-operator-false",
        merge(
            {"target": "deployment/web", "operator": False},
            nest(("feature", "copy_target"), True),
            nest(INCOMING, "steal"),
        ),
        "conflict",
        "error",
        "copy_target",
        "lib.rs LayerConfig::verify: The copy target feature requires a mirrord operator",
    ),
    (
        "copy-target-targetless",
        merge({"target": "targetless"}, nest(("feature", "copy_target"), {"scale_down": True})),
        "conflict",
        "error",
        "copy_target",
        "lib.rs LayerConfig::verify: copy target ... not compatible with a targetless agent",
    ),
    (
        "copy-target-service",
        merge(
            {"target": "service/web"},
            nest(("feature", "copy_target"), True),
            nest(INCOMING, "steal"),
        ),
        "conflict",
        "error",
        "copy_target",
        "lib.rs LayerConfig::verify: copy target ... not yet supported with service targets",
    ),
    (
        "copy-target-without-steal",
        merge({"target": "deployment/web"}, nest(("feature", "copy_target"), True)),
        "conflict",
        "warning",
        "copy_target",
        "lib.rs LayerConfig::verify: Using copy target feature without steal mode",
    ),
    (
        "label-target-copy-target",
        merge({"target": "label/app=web"}, nest(("feature", "copy_target"), True)),
        "conflict",
        "error",
        "copy_target",
        "lib.rs LayerConfig::verify: copy target ... not yet supported with label targets",
    ),
    (
        "label-target-multi-cluster",
        {"target": "label/app=web", "multi_cluster": True},
        "conflict",
        "error",
        "multi_cluster",
        "lib.rs LayerConfig::verify: Label targets are not yet supported in multi-cluster",
    ),
    (
        "label-target-split-queues",
        merge(
            {"target": "label/app=web"},
            nest(("feature", "split_queues"), {"q": {"queue_type": "SQS"}}),
        ),
        "conflict",
        "error",
        "split_queues",
        "lib.rs LayerConfig::verify: Queue splitting is not yet supported with label targets",
    ),
    (
        "label-target-db-branches",
        merge(
            {"target": "label/app=web"},
            nest(
                ("feature", "db_branches"),
                [{"type": "pg", "connection": {"url": {"type": "env", "variable": "DB"}}}],
            ),
        ),
        "conflict",
        "error",
        "db_branches",
        "lib.rs LayerConfig::verify: Database branching is not yet supported with label targets",
    ),
    (
        "readonly-file-buffer-over-limit",
        nest(("feature", "fs"), {"readonly_file_buffer": 16 * 1024 * 1024}),
        "conflict",
        "error",
        str(16 * 1024 * 1024),
        "lib.rs LayerConfig::verify + fs/advanced.rs READONLY_FILE_BUFFER_HARD_LIMIT",
    ),
    (
        "readonly-file-buffer-large",
        nest(("feature", "fs"), {"readonly_file_buffer": 2 * 1024 * 1024}),
        "conflict",
        "warning",
        str(2 * 1024 * 1024),
        "lib.rs LayerConfig::verify + fs/advanced.rs READONLY_FILE_BUFFER_WARN_LIMIT",
    ),
    (
        "startup-retry-min-above-max",
        {"startup_retry": {"min_ms": 6000, "max_ms": 1000}},
        "conflict",
        "error",
        "6000",
        "lib.rs LayerConfig::verify: startup_retry.min_ms ... cannot be greater than max_ms",
    ),
    (
        "startup-retry-min-above-default-max",
        {"startup_retry": {"min_ms": 9000}},
        "conflict",
        "error",
        "9000",
        "lib.rs LayerConfig::verify + retry.rs (max_ms default 5000)",
    ),
    (
        "duplicate-source-port",
        nest(INCOMING, {"port_mapping": [[8080, 80], [8080, 81]]}),
        "conflict",
        "error",
        "8080",
        "feature/network/incoming.rs bi_map_from_config: contains duplicate source port",
    ),
    (
        "port-mapped-to-itself",
        nest(INCOMING, {"port_mapping": [[80, 80]]}),
        "conflict",
        "warning",
        "[80, 80]|-80-80",
        "lib.rs LayerConfig::verify: a mapping of a local port to the same remote port",
    ),
    (
        "https-delivery-deprecated",
        nest(INCOMING, {"https_delivery": {"protocol": "tls"}}),
        "conflict",
        "warning",
        "https_delivery",
        "lib.rs LayerConfig::verify: `feature.network.incoming.https_delivery` is deprecated",
    ),
    (
        "https-and-tls-delivery",
        nest(
            INCOMING, {"https_delivery": {"protocol": "tls"}, "tls_delivery": {"protocol": "tls"}}
        ),
        "conflict",
        "error",
        "https_delivery",
        "lib.rs LayerConfig::verify: Cannot use both https_delivery and tls_delivery",
    ),
    (
        "db-branch-ttl-secs-and-mins",
        nest(
            ("feature", "db_branches"),
            [
                {
                    "type": "pg",
                    "connection": {"url": {"type": "env", "variable": "DB"}},
                    "ttl_secs": 60,
                    "ttl_mins": 1,
                }
            ],
        ),
        "conflict",
        "error",
        "ttl_mins",
        "feature/database_branches.rs DatabaseBranchBaseConfig::verify",
    ),
    (
        "db-branch-without-connection",
        nest(("feature", "db_branches"), [{"type": "mysql"}]),
        "missing-field",
        "error",
        "{|t",
        "feature/database_branches.rs DatabaseBranchBaseConfig: `connection` has no default",
    ),
    (
        "unstable-flush-connections",
        {"agent": {"flush_connections": False}},
        "unstable",
        "warning",
        "flush_connections",
        "agent.rs #[config(unstable)] + config/unstable.rs: field ... is marked as unstable",
    ),
    (
        "unstable-unix-streams",
        nest(("feature", "network", "outgoing"), {"unix_streams": "bear.+"}),
        "unstable",
        "warning",
        "unix_streams",
        "feature/network/outgoing.rs #[config(unstable)] + config/unstable.rs",
    ),
    (
        "split-queue-unknown-field-map-form",
        nest(("feature", "split_queues"), {"q": {"queue_type": "SQS", "jq_filtr": "."}}),
        "unknown-field",
        "error",
        "jq_filtr",
        "feature/split_queues.rs QueueFilter deny_unknown_fields through flatten",
    ),
    (
        "split-queue-unknown-field-list-form",
        nest(
            ("feature", "split_queues"),
            [{"queue_id": "q", "queue_type": "Kafka", "unknown": True}],
        ),
        "unknown-field",
        "error",
        "unknown",
        "feature/split_queues.rs QueueFilter deny_unknown_fields (lib.rs test"
        " rejects_unknown_fields_in_split_queues)",
    ),
]


@pytest.fixture(scope="module", params=["published", "built-in"])
def schema(request: pytest.FixtureRequest) -> Schema:
    if request.param == "built-in":
        return builtin_schema()
    if not REFERENCE_SCHEMA.exists():
        pytest.skip("mirrord's published schema is not present")
    return load_configured(str(REFERENCE_SCHEMA))


def _first(text: str, finding_code: str, findings: list[Any]) -> Any:
    matching = [f for f in findings if f.code == finding_code]
    assert matching, (text, [(f.code, f.message) for f in findings])
    return matching[0]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("config", "code", "severity", "span", "source"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_rule(
    schema: Schema,
    fmt: str,
    config: dict[str, Any],
    code: str,
    severity: str,
    span: str,
    source: str,
) -> None:
    text = write(config, fmt)
    findings = analyze(text, fmt, schema).findings  # type: ignore[arg-type]
    assert [f.code for f in findings if f.code not in (code,)] == [], (source, findings)
    finding = _first(text, code, findings)
    assert finding.severity == severity, source
    shown = "".join(text[finding.start : finding.end].split()).strip("\"'")
    assert shown in span.replace(" ", "").split("|"), source


VALID = [
    ("label-target-with-steal", merge({"target": "label/app=web"}, nest(INCOMING, "steal"))),
    (
        "copy-target-with-steal",
        merge(
            {"target": "deployment/web"},
            nest(("feature", "copy_target"), True),
            nest(INCOMING, "steal"),
        ),
    ),
    ("one-http-filter", nest((*INCOMING, "http_filter"), {"header_filter": "^x: y$"})),
    ("composite-filter", nest((*INCOMING, "http_filter"), {"any_of": [{"path": "/a"}]})),
    ("env-include-only", nest(("feature", "env"), {"include": "A;B"})),
    ("port-mapping", nest(INCOMING, {"port_mapping": [[8080, 80], [8081, 81]]})),
    (
        "split-queue-known-fields",
        nest(
            ("feature", "split_queues"),
            {"q": {"queue_type": "SQS", "jq_filter": ".", "queue_mode": "mirror"}},
        ),
    ),
    ("startup-retry-in-order", {"startup_retry": {"min_ms": 100, "max_ms": 200}}),
    ("buffer-at-the-limit", nest(("feature", "fs"), {"readonly_file_buffer": 1024 * 1024})),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("config", [pytest.param(c, id=i) for i, c in VALID])
def test_combinations_mirrord_accepts(schema: Schema, fmt: str, config: dict[str, Any]) -> None:
    text = write(config, fmt)
    findings = analyze(text, fmt, schema).findings  # type: ignore[arg-type]
    assert findings == [], text
