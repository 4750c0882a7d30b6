"""Which agent mirrord will create without the operator, and in which namespace, and why.

mirrord decides it in three places (metalbear-co/mirrord, 3.250.0):

- `mirrord/kube/src/api/kubernetes.rs`, `KubernetesAPI::create`: when the target
  path is unset or `targetless`, `agent.namespace` is *replaced* by
  `target.namespace` (even when that is unset).
- `mirrord/kube/src/api/container/job.rs`, `create_job_agent`: the Job (and the
  pods it watches) go to `get_k8s_resource_api(client, agent.namespace)`, i.e.
  `agent.namespace`, else `Api::default_namespaced` = the kube context's namespace
  (never the target's).
- `mirrord/kube/src/api/container/ephemeral.rs`, `create_ephemeral_agent`: the
  container is added to the target pod, in `runtime_data.pod_namespace`; the
  target is looked up in `target.namespace`, else the context's namespace
  (`runtime.rs`, `RuntimeDataProvider`), and `agent.namespace` is ignored
  (`config/src/lib.rs`, `LayerConfig::verify` warns "Agent namespace is ignored
  when using an ephemeral container for the agent.").

A targetless run with `agent.ephemeral` is refused by `LayerConfig::verify`
("Using an ephemeral container for the agent is not compatible with a
targetless agent, ..."): the plan is then `refused` and no rule judges it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mirrord_ls.cluster.preflight.agent_settings import AgentSettings

AgentVariant = Literal["job-targetless", "job-targeted", "ephemeral", "refused"]


@dataclass(frozen=True, slots=True)
class AgentNamespace:
    """Where the agent will live, and the setting that decided it."""

    name: str
    reason: str
    """One sentence for a hover: which setting decided and which one was ignored."""
    at: tuple[str, ...]
    """The config key that decided it (() = the kube context's namespace)."""


@dataclass(frozen=True, slots=True)
class AgentPlan:
    variant: AgentVariant
    namespace: AgentNamespace | None
    """None when mirrord refuses the combination before creating anything."""
    target_namespace: str
    """Where mirrord looks the target up: `target.namespace`, else the context's."""


def agent_plan(settings: AgentSettings, context_namespace: str | None) -> AgentPlan:
    """The agent mirrord creates without the operator, and its namespace with the reason.

    `context_namespace` is the kube context's namespace ("default" when it names none,
    as kube-rs' `Config` does).
    """
    context_ns = context_namespace or "default"
    target_ns = settings.target_namespace or context_ns
    context_reason = f"the kube context's namespace ({context_ns})"
    if settings.targetless:
        if settings.ephemeral:
            return AgentPlan("refused", None, target_ns)
        ignored = (
            f" `agent.namespace` ({settings.agent_namespace}) is ignored in targetless runs."
            if settings.agent_namespace
            else ""
        )
        if settings.target_namespace:
            reason = (
                f"A targetless run creates its agent Job in `target.namespace`"
                f" ({settings.target_namespace}).{ignored}"
            )
            return AgentPlan(
                "job-targetless",
                AgentNamespace(settings.target_namespace, reason, ("target", "namespace")),
                target_ns,
            )
        reason = (
            f"A targetless run creates its agent Job in `target.namespace`, which is unset,"
            f" so in {context_reason}.{ignored}"
        )
        return AgentPlan("job-targetless", AgentNamespace(context_ns, reason, ()), target_ns)
    if settings.ephemeral:
        ignored = (
            f" `agent.namespace` ({settings.agent_namespace}) is ignored for ephemeral agents."
            if settings.agent_namespace
            else ""
        )
        where = (
            f"`target.namespace` ({target_ns})"
            if settings.target_namespace
            else f"{context_reason}, as `target.namespace` is unset"
        )
        reason = (
            f"An ephemeral agent runs inside the target pod, in the target's namespace:"
            f" {where}.{ignored}"
        )
        return AgentPlan(
            "ephemeral", AgentNamespace(target_ns, reason, ("agent", "ephemeral")), target_ns
        )
    if settings.agent_namespace:
        reason = f"The agent Job is created in `agent.namespace` ({settings.agent_namespace})."
        return AgentPlan(
            "job-targeted",
            AgentNamespace(settings.agent_namespace, reason, ("agent", "namespace")),
            target_ns,
        )
    also = f" — not the target's namespace ({target_ns})" if target_ns != context_ns else ""
    reason = f"The agent Job is created in {context_reason}{also}, as `agent.namespace` is unset."
    return AgentPlan("job-targeted", AgentNamespace(context_ns, reason, ()), target_ns)
