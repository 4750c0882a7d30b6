"""The operator path end to end: every rule, in mirrord's order, from one set of facts.

The check units call the rules one by one; this function strings them
together the way `try_connect_using_operator` and `create_and_connect`
(`mirrord/cli/src/connection.rs`) go, for the `check` command, tests and
anyone who has all the facts at hand. It also returns the :class:`OperatorUse`
so the open-source-path rules can take over where mirrord falls back.

`CATALOG` lists every rule with its severity rule, the API reads it costs and
where mirrord decides it: the docs table and the README rows come from it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mirrord_ls.cluster.preflight import RuleFinding
from mirrord_ls.cluster.preflight.access import AccessCheck, access_rules
from mirrord_ls.cluster.preflight.features import (
    copy_target_filter_rules,
    feature_rules,
    protocol_rules,
)
from mirrord_ls.cluster.preflight.operator import (
    OperatorUse,
    agent_config_rules,
    operator_object_rules,
    operator_use,
    requires_operator_rules,
)
from mirrord_ls.cluster.preflight.operator_object import InvalidOperator, MirrordOperator
from mirrord_ls.cluster.preflight.profiles import (
    ProfileAnswer,
    apply_profile,
    profile_ref,
    profile_rules,
)
from mirrord_ls.cluster.preflight.sessions import Identity, port_lock_rules
from mirrord_ls.cluster.preflight.settings import OperatorSettings, target_namespace


@dataclass(frozen=True)
class OperatorFacts:
    """What the cached fact store knows, for one cluster identity and one config."""

    discovery: str
    """The discovery verdict kind (`cluster/discovery.py` VerdictKind)."""
    operator: MirrordOperator | InvalidOperator | None = None
    """`parse_operator` of the operator GET's body, for any 2xx answer."""
    context_namespace: str | None = None
    profile: ProfileAnswer | None = None
    access: Mapping[AccessCheck, bool | None] = field(default_factory=dict)
    me: Identity | None = None


@dataclass(frozen=True)
class OperatorPathResult:
    use: OperatorUse
    settings: OperatorSettings
    """The settings after the profile applied (namespace, incoming mode)."""
    namespace: str
    """The target namespace mirrord will use."""
    findings: list[RuleFinding]


def operator_path_findings(
    settings: OperatorSettings, facts: OperatorFacts, today: datetime.date
) -> OperatorPathResult:
    """Every operator-path finding for one config against one cluster, in mirrord's order."""
    ref = profile_ref(settings)
    findings = profile_rules(settings, ref, facts.profile)
    settings = apply_profile(settings, ref, facts.profile)
    namespace = target_namespace(settings, facts.context_namespace)
    if facts.discovery == "installed" and facts.operator is not None:
        findings += operator_object_rules(facts.operator, settings.operator, today)
    use = operator_use(facts.discovery, facts.operator, settings.operator, today)
    op = use.operator
    if use.used and op is not None:
        findings += access_rules(op, settings, namespace, facts.access)
        findings += copy_target_filter_rules(op, settings)
        findings += feature_rules(op, settings)
        findings += port_lock_rules(op, settings, namespace, facts.me)
        findings += protocol_rules(op, settings)
        findings += agent_config_rules(use, settings)
    findings += requires_operator_rules(use, settings)
    return OperatorPathResult(use, settings, namespace, findings)


@dataclass(frozen=True)
class RuleInfo:
    code: str
    severity: str
    """When it is an error, a warning, information."""
    reads: str
    """The API reads it costs beyond discovery's operator GET."""
    source: str
    """Where mirrord decides it, and the text it prints."""


CATALOG: tuple[RuleInfo, ...] = (
    RuleInfo(
        "operator-invalid",
        "error (mirrord stops whatever `operator` says)",
        "none: the operator GET",
        'operator/src/client.rs `OperatorApi::try_new`, `get_client_certificate`: "mirrord'
        ' operator API failed: finding operator failed with ..."; "license fingerprint is'
        ' missing from the mirrord operator resource"',
    ),
    RuleInfo(
        "license-expired",
        "error with `operator: true`; warning when unset (open-source fallback follows)",
        "none: the operator GET",
        'operator/src/client.rs `check_license_validity`, cli/src/connection.rs: "mirrord'
        ' operator license expired"; "No valid license found for mirrord for Teams"',
    ),
    RuleInfo(
        "license-expiring",
        "warning (trial licence, 2 days or fewer left)",
        "none: the operator GET",
        'operator/src/client.rs `check_license_validity`: "Operator license will expire'
        ' soon, in {n} day{s}!"',
    ),
    RuleInfo(
        "certificate-forbidden",
        "error",
        "1 SelfSubjectAccessReview: create mirrordclusteroperatorusercredentials"
        " (ExtendableUserCredentials) or create mirrordoperators/certificate",
        'operator/src/client.rs `get_client_certificate`: "Failed to prepare mirrord'
        ' operator client certificate: ..."',
    ),
    RuleInfo(
        "session-forbidden",
        "error",
        "1 SelfSubjectAccessReview: proxy (ProxyApi) or get targets in the target namespace;"
        " 3 when copying: list, create and proxy/get copytargets",
        'operator/src/client.rs `connect_in_new_session`, `copy_target`: "mirrord operator'
        ' rejected creating a websocket connection: ..."; "mirrord operator rejected copying'
        ' target: ..."',
    ),
    RuleInfo(
        "feature-unsupported",
        "error",
        "none: the operator GET",
        'operator/src/client.rs `check_feature_support`, `prepare_branch_dbs`: "Feature'
        ' `{f}` is not supported in mirrord operator {v}."; "Feature `{f}` is not enabled on'
        ' the mirrord operator."',
    ),
    RuleInfo(
        "protocol-too-old",
        "error",
        "none: the operator GET",
        'config/src/feature/network/incoming/http_filter.rs `ensure_usable_with`: "Cannot'
        ' use {what}, protocol version used by mirrord-agent must match {req}"',
    ),
    RuleInfo(
        "copy-target-filter",
        "warning",
        "none: the operator GET",
        'cli/src/connection.rs `try_connect_using_operator`: "copy target is enabled and an'
        ' HTTP filter is set, ... unmatched HTTP requests are discarded"; "copy target is'
        ' scaled down and an HTTP filter is set ..."',
    ),
    RuleInfo(
        "port-locked",
        "warning (`on_concurrent_steal` abort, the default); information with override",
        "none: the operator GET (`status.sessions`)",
        "config/src/feature/network/incoming.rs `ConcurrentSteal`; enforced by the operator"
        " when the app subscribes (PR #2476)",
    ),
    RuleInfo(
        "profile-not-found",
        "error",
        "1 GET of the profile (mirrordclusterprofiles or namespaces/{ns}/mirrordprofiles)",
        'cli/src/profile.rs: "mirrord profile was not found in the cluster"',
    ),
    RuleInfo(
        "profile-forbidden",
        "error",
        "the same GET",
        'cli/src/profile.rs: "failed to fetch the mirrord profile: {0}"',
    ),
    RuleInfo(
        "profile-invalid",
        "error",
        "the same GET",
        'cli/src/profile.rs: "mirrord profile contains an unknown field `{0}`" / "... unknown'
        ' value"; "mirrord profile must be cluster-wide or in the same namespace as the'
        ' target ({0})"',
    ),
    RuleInfo(
        "requires-operator",
        "error for copy_target; warning for split_queues and db_branches (ignored silently)",
        "none: the discovery verdict and the operator GET",
        'cli/src/connection.rs `process_config_oss`: "Feature `copy_target` requires using'
        ' mirrord operator"; config/src/lib.rs `verify`: "The copy target feature requires a'
        ' mirrord operator"',
    ),
    RuleInfo(
        "target-requires-operator",
        "error (also after a licence or discovery fallback)",
        "none: the discovery verdict and the operator GET",
        'cli/src/connection.rs `process_config_oss`: "Feature `target type {t}` requires'
        ' using mirrord operator"',
    ),
    RuleInfo(
        "agent-config-ignored",
        "warning",
        "none: the discovery verdict",
        'cli/src/connection.rs `create_and_connect`: "Agent configuration is ignored when'
        ' using the mirrord operator."',
    ),
)


def catalog_rows() -> list[dict[str, Any]]:
    return [
        {"code": r.code, "severity": r.severity, "reads": r.reads, "source": r.source}
        for r in CATALOG
    ]
