"""May the user create and reach the agent? RBAC asked in the agent's namespace.

mirrord (open-source path): `mirrord/kube/src/api/container/job.rs`
`create_job_agent` (create jobs, a watcher on pods), `container/util.rs`
`wait_for_agent_startup` (pods/log), `kubernetes/portforwarder.rs` (`Api::portforward`,
a GET upgrade: verb `get` on pods/portforward), `container/ephemeral.rs`
`create_ephemeral_agent` (get pods, get/update pods/ephemeralcontainers). A denied step
stops mirrord with "Failed to create mirrord-agent: ..." or "Failed to connect to the
created mirrord-agent: ...". The rule is `preflight.agent.agent_forbidden`; the
permission sets are `preflight.agent_rbac.required_permissions`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster.checks.agent_base import agent_view, keyed
from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.preflight.agent import agent_forbidden
from mirrord_ls.cluster.preflight.agent_facts import AccessAnswer
from mirrord_ls.cluster.preflight.agent_namespace import AgentPlan
from mirrord_ls.cluster.preflight.agent_rbac import Permission, required_permissions
from mirrord_ls.findings import KeyedFinding


def permissions(plan: AgentPlan) -> list[Permission]:
    """Every distinct permission of the plan, in mirrord's order."""
    out: list[Permission] = []
    for pset in required_permissions(plan):
        out += [p for p in pset.permissions if p not in out]
    return out


async def access_answers(ctx: CheckContext, plan: AgentPlan) -> tuple[AccessAnswer, ...]:
    """One SelfSubjectAccessReview per permission, all at once (cached per namespace)."""
    if plan.namespace is None:
        return ()
    ns = plan.namespace.name
    wanted = permissions(plan)
    allowed = await asyncio.gather(
        *(ctx.facts.access_review(ns, p.verb, p.group, p.resource, p.subresource) for p in wanted)
    )
    return tuple(
        AccessAnswer(p.verb, p.resource, ns, p.group, p.subresource, answer)
        for p, answer in zip(wanted, allowed, strict=True)
    )


async def rbac_user(ctx: CheckContext) -> tuple[str, str]:
    """The user the Role binds: as RBAC names it (SelfSubjectReview), else the kubeconfig's."""
    name = await ctx.facts.rbac_user()
    if name:
        return name, "the cluster (SelfSubjectReview)"
    return ctx.cluster.user_name, "the kubeconfig's user entry (check it with your admin)"


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    try:
        view = await agent_view(ctx)
        if view is None:
            return []
        answers = await access_answers(ctx, view.plan)
        found = agent_forbidden(view.plan, answers)
        if found:  # only then ask who the user is, for the Role fix
            user, origin = await rbac_user(ctx)
            found = agent_forbidden(view.plan, answers, user)
            for f in found:
                f.data["userFrom"] = origin
                f.data["variant"] = view.plan.variant
    except creds_mod.CredentialError:
        return []  # said where the operator is asked, or by target-exists
    return [keyed(ctx, f) for f in found]


UNIT = CheckUnit(
    name="agent-access",
    run=run,
    codes=("agent-forbidden",),
    severity="error: mirrord stops creating or reaching its agent; an unanswered review"
    " judges nothing",
    requests="5 SelfSubjectAccessReviews (Job agent) or 7 (ephemeral) in the agent namespace,"
    " at once; 1 SelfSubjectReview only when one is denied (the Role fix's user)",
    predicts="mirrord/kube/src/api/container/job.rs create_job_agent; container/ephemeral.rs"
    " create_ephemeral_agent; container/util.rs wait_for_agent_startup;"
    " kubernetes/portforwarder.rs",
)
