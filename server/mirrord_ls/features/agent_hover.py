"""Hover on `agent` and `target`: the agent mirrord will create without the operator.

Which agent (a Job, or an ephemeral container in the target pod), in which
namespace and why (`agent_plan`'s reason: mirrord decides it in
`kubernetes.rs` `KubernetesAPI::create`, `container/job.rs` and
`container/ephemeral.rs`, not as one would guess), whether the target has a pod
mirrord will accept (`runtime.rs` rules), and on `agent.namespace` whether RBAC
allows each permission the agent needs there. Every cluster answer comes from
the fact store (cached, single-flight), bounded by a short timeout: a hover
always answers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mirrord_ls.cluster.preflight.agent import picked_target
from mirrord_ls.cluster.preflight.agent_facts import Unreadable
from mirrord_ls.cluster.preflight.agent_namespace import AgentPlan, agent_plan
from mirrord_ls.cluster.preflight.agent_rbac import required_permissions
from mirrord_ls.cluster.preflight.agent_runtime import NotReady, TargetRuntime
from mirrord_ls.cluster.preflight.agent_settings import AgentSettings, agent_settings
from mirrord_ls.config.analyze import Analysis

VARIANTS = {
    "job-targeted": "a Job (its pod runs beside the target, on the target's node)",
    "job-targetless": "a Job (targetless)",
    "ephemeral": "an ephemeral container in the target pod",
}


def settings_of(analysis: Analysis, env: dict[str, str]) -> AgentSettings:
    config = {key: analysis.value((key,)) for key in ("target", "agent", "feature")}
    return agent_settings({k: v for k, v in config.items() if v is not None}, env)


def plan_lines(plan: AgentPlan, facts: Any) -> list[str]:
    if plan.namespace is None:
        return [
            "**Agent:** none — mirrord refuses an ephemeral agent in a targetless run"
            " (`LayerConfig::verify`)."
        ]
    lines = [
        f"**Agent without the operator:** {VARIANTS[plan.variant]}, in namespace"
        f" `{plan.namespace.name}`",
        f"- why: {plan.namespace.reason}",
    ]
    verdict = getattr(facts, "verdict", None)
    if verdict is not None and verdict.kind == "installed":
        lines.append("- the operator is installed: mirrord will use it unless it falls back")
    elif getattr(facts, "operator_setting", None) is False or (
        verdict is not None and verdict.kind == "not-installed"
    ):
        lines.append("- mirrord will not use the operator, so it creates this agent")
    return lines


def readiness_line(result: TargetRuntime | NotReady | Unreadable | None) -> str | None:
    if isinstance(result, TargetRuntime):
        node = f", on node `{result.pod.node_name}`" if result.pod.node_name else ""
        return (
            f"- target pod: `{result.pod.display}` is ready (container `{result.container}`{node})"
        )
    if isinstance(result, NotReady):
        return f"- target pod: not ready — {result.message}"
    if isinstance(result, Unreadable):
        return f"- target pod: could not be read ({result.why})"
    return None


async def agent_hover(
    path: tuple[Any, ...],
    analysis: Analysis,
    facts: Any,
    service: Any,
    env: dict[str, str],
    timeout: float,
) -> str | None:
    """The hover lines for a key under `agent` or `target`; None elsewhere."""
    if not path or path[0] not in ("agent", "target"):
        return None
    settings = settings_of(analysis, env)
    plan = agent_plan(settings, getattr(facts, "namespace", None))
    lines = plan_lines(plan, facts)
    resolved, trust = getattr(facts, "resolved", None), getattr(facts, "trust", None)
    if plan.namespace is None or resolved is None or trust is None:
        return "\n".join(lines)
    bound = service.facts_for(resolved, trust, env)
    target = settings.target
    try:
        if target is not None and not target.needs_operator:
            pods = await asyncio.wait_for(bound.target_pods(target, plan.target_namespace), timeout)
            result = pods if isinstance(pods, Unreadable) else picked_target(settings, pods)
            line = readiness_line(result)
            if line:
                lines.append(line)
        if path == ("agent", "namespace"):
            lines += await asyncio.wait_for(permission_lines(bound, plan), timeout)
    except Exception as exc:  # a hover answers whatever the cluster does
        lines.append(f"- the cluster could not be asked: {type(exc).__name__}")
    return "\n".join(lines)


async def permission_lines(bound: Any, plan: AgentPlan) -> list[str]:
    """Each permission the agent needs in its namespace, asked with SelfSubjectAccessReview."""
    assert plan.namespace is not None
    ns = plan.namespace.name
    wanted = []
    for pset in required_permissions(plan):
        wanted += [p for p in pset.permissions if p not in wanted]
    answers = await asyncio.gather(
        *(bound.access_review(ns, p.verb, p.group, p.resource, p.subresource) for p in wanted)
    )
    lines = [f"- RBAC in `{ns}`:"]
    for perm, allowed in zip(wanted, answers, strict=True):
        mark = "allowed" if allowed else ("denied" if allowed is False else "unknown")
        lines.append(f"  - `{perm.display}`: {mark}")
    denied = [p.display for p, a in zip(wanted, answers, strict=True) if a is False]
    if denied:
        lines.append("- mirrord cannot create its agent here: ask for " + ", ".join(denied))
    return lines
