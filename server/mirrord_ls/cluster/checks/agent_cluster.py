"""What the API server itself tells mirrord: ephemeral containers served, OpenShift.

mirrord: `mirrord/kube/src/api/container/ephemeral.rs` `create_ephemeral_agent`
(`get_subresource("ephemeralcontainers")` fails when `GET /api/v1` does not list
pods/ephemeralcontainers) and `kubernetes.rs` `KubernetesAPI::detect_openshift`
("mirrord has detected it's running on OpenShift..."). Rules:
`preflight.agent.ephemeral_unsupported`, `agent_notes`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster.checks.agent_base import agent_view, keyed
from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.preflight.agent import agent_notes, ephemeral_unsupported
from mirrord_ls.cluster.preflight.agent_facts import Unreadable
from mirrord_ls.findings import KeyedFinding


async def _none() -> None:
    return None


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    try:
        view = await agent_view(ctx)
        if view is None:
            return []
        core: frozenset[str] | Unreadable | None
        groups, core = await asyncio.gather(
            ctx.facts.api_groups(),
            ctx.facts.core_resources() if view.plan.variant == "ephemeral" else _none(),
        )
    except creds_mod.CredentialError:
        return []
    found = [*agent_notes(None, groups), *ephemeral_unsupported(view.plan, core)]
    return [keyed(ctx, f) for f in found]


UNIT = CheckUnit(
    name="agent-cluster",
    run=run,
    codes=("ephemeral-unsupported", "openshift-detected"),
    severity="error: an ephemeral agent on a server without pods/ephemeralcontainers;"
    " information: OpenShift",
    requests="GET /apis (1 per cluster); GET /api/v1 when the agent is ephemeral (1 per cluster)",
    predicts="mirrord/kube/src/api/container/ephemeral.rs create_ephemeral_agent;"
    " kubernetes.rs KubernetesAPI::detect_openshift",
)
