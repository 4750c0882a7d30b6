"""Will the agent's namespace exist and admit the agent (Pod Security)?

mirrord: `mirrord/kube/src/api/container/job.rs` `create_job_agent` (`job_api.create`:
404 when the namespace does not exist); `container/pod.rs`
`PodTargetedVariant::as_update` / `PodVariant::as_update` and `ephemeral.rs`
`EphemeralTargetedVariant::as_update` (hostPID, hostPath, capabilities, privileged),
which a namespace enforcing Pod Security `baseline` or `restricted` refuses; mirrord
then prints "Job Agent's Pod got deleted during initialization" or "Failed to create
mirrord-agent: ...". Rules: `preflight.agent.agent_namespace_not_found`,
`agent_blocked_by_policy`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster.checks.agent_base import agent_view, keyed, picked
from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.preflight.agent import agent_blocked_by_policy, agent_namespace_not_found
from mirrord_ls.cluster.preflight.agent_runtime import TargetRuntime
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    try:
        view = await agent_view(ctx)
        if view is None or view.plan.namespace is None:
            return []
        namespace, target = await asyncio.gather(
            ctx.facts.namespace(view.plan.namespace.name), picked(ctx, view)
        )
    except creds_mod.CredentialError:
        return []
    runtime = target if isinstance(target, TargetRuntime) else None
    found = [
        *agent_namespace_not_found(view.plan, namespace),
        *agent_blocked_by_policy(view.plan, view.settings, namespace, runtime),
    ]
    return [keyed(ctx, f) for f in found]


UNIT = CheckUnit(
    name="agent-namespace",
    run=run,
    codes=("agent-namespace-not-found", "agent-blocked-by-policy"),
    severity="error: the Job cannot be created, or admission refuses the agent; information"
    " when the namespace cannot be read (could not judge)",
    requests="GET the agent namespace (1; shared); the target's pods (shared with agent-target)",
    predicts="mirrord/kube/src/api/container/job.rs create_job_agent; container/pod.rs"
    " PodTargetedVariant::as_update; container/ephemeral.rs EphemeralTargetedVariant::as_update",
)
