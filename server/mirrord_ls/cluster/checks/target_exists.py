"""Does the target exist, with that container, in its namespace?

mirrord: `mirrord/kube/src/api/runtime.rs` (`RuntimeDataProvider::runtime_data`): a
missing workload fails the start, a missing container with "target container `{name}`
not found"; a target mirrord cannot read fails the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.checks.operator_state import operator_path
from mirrord_ls.cluster.preflight.operator import target_resolved_locally
from mirrord_ls.cluster.targets import TargetLookup
from mirrord_ls.config.targets import Target
from mirrord_ls.findings import KeyedFinding, Severity


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    target = ctx.target
    if target is None:
        return []
    if ctx.operator_setting is not False:
        state = await operator_path(ctx)
        if not target_resolved_locally(state.use, state.settings):
            # A multi-cluster primary resolves the target in a workload cluster
            # (client.rs `connect_in_multi_cluster_session`): nothing to look up here.
            return []
    try:
        lookup = await ctx.facts.target(target)
    except creds_mod.CredentialError:
        return []  # said where the operator is asked; nothing to add otherwise
    finding = target_finding(lookup, target, ctx.operator_setting)
    if finding is None:
        return []
    at, fallback = ctx.target_at()
    return [KeyedFinding(finding[0], finding[1], finding[2], at, fallback, data=finding[3])]


def target_finding(
    lookup: TargetLookup, target: Target, setting: bool | None
) -> tuple[str, Severity, str, dict[str, Any]] | None:
    """(code, severity, message, data) for a lookup, or None when there is nothing to say."""
    if lookup.kind == "found":
        return None
    severity: Severity
    if lookup.kind == "not-found":
        hint = f" Closest: {', '.join(lookup.suggestions)}." if lookup.suggestions else ""
        code, severity = "target-not-found", "error"
        message = f"The target {lookup.detail}: mirrord will fail to start.{hint}"
    elif lookup.kind == "container-not-found":
        code, severity = "target-container-not-found", "error"
        message = f"The target {lookup.detail}."
    elif lookup.kind == "forbidden":
        code, severity = "target-forbidden", "warning"
        message = f"Cannot check the target: {lookup.detail}. mirrord needs to read it too."
    elif setting is False:  # no operator verdict said the cluster is in trouble: say it here
        code, severity = "cluster-unreachable", "warning"
        message = f"Cannot check the target {target.display}: {lookup.detail}."
    else:
        return None  # the operator verdict already says what is wrong with the cluster
    data: dict[str, Any] = {"namespace": lookup.namespace, "suggestions": list(lookup.suggestions)}
    return code, severity, message, data


UNIT = CheckUnit(
    name="target-exists",
    run=run,
    codes=(
        "target-not-found",
        "target-container-not-found",
        "target-forbidden",
        "cluster-unreachable",
    ),
    severity="error when missing (mirrord fails to start); warning when it cannot be read",
    requests="GET of the workload (1); on 404 a list of its kind for suggestions (1)",
    predicts="mirrord/kube/src/api/runtime.rs RuntimeDataProvider::runtime_data",
    applies=lambda ctx: ctx.target is not None,
)
