"""What the open-source agent units share: will mirrord make its own agent, and how.

mirrord creates its agent itself only when it will not use the operator
(`mirrord/cli/src/connection.rs`, `create_and_connect`: `operator: false`, the
operator not installed, or `try_connect_using_operator` falling back on a
licence or discovery failure). `operator_in_use` decides that with the pure
`operator_use` over the cached operator verdict; `agent_view` then reads the
agent settings from the config's inputs (environment first, as mirrord does)
and plans the agent (`agent_plan`: Job or ephemeral, its namespace and why).
Every read goes through the fact store, so the units asking the same thing
(the target's pods, the namespace) share one request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mirrord_ls.cluster.checks.base import CLUSTER_ANCHOR, CheckContext
from mirrord_ls.cluster.preflight import RuleFinding
from mirrord_ls.cluster.preflight.agent import picked_target
from mirrord_ls.cluster.preflight.agent_namespace import AgentPlan, agent_plan
from mirrord_ls.cluster.preflight.agent_runtime import NotReady, TargetRuntime
from mirrord_ls.cluster.preflight.agent_settings import AgentSettings, agent_settings
from mirrord_ls.cluster.preflight.operator import OperatorUse, operator_use
from mirrord_ls.config.targets import Target, TargetError
from mirrord_ls.findings import KeyedFinding

# Where a finding about the agent's namespace goes when the context's namespace decided it.
NAMESPACE_ANCHOR: tuple[tuple[str, ...], ...] = (
    ("agent", "namespace"),
    ("agent",),
    ("kube_context",),
    ("target",),
)


@dataclass(frozen=True)
class AgentView:
    """The agent mirrord will create for this config, without the operator."""

    settings: AgentSettings
    plan: AgentPlan
    use: OperatorUse


def thaw(value: Any) -> Any:
    """A frozen input value back to plain JSON (dicts and lists) for the pure readers."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def settings_of(ctx: CheckContext) -> AgentSettings:
    """`agent_settings` over the inputs; the parsed target from the inputs unless the
    environment names one (MIRRORD_IMPERSONATED_TARGET, MIRRORD_TARGET_NAMESPACE win)."""
    inputs, env = ctx.inputs, ctx.facts.env
    config = {"agent": thaw(inputs.agent), "feature": thaw(inputs.feature)}
    settings = agent_settings(config, env)
    if "MIRRORD_IMPERSONATED_TARGET" not in env:
        target = inputs.target
        written = ("target", "path") in inputs.spans or (
            ("target",) in inputs.spans and ("target", "namespace") not in inputs.spans
        )
        settings = replace(
            settings,
            target=target if isinstance(target, Target) and target.kind != "targetless" else None,
            # written but not understood (or a broken template): judge nothing
            target_invalid=isinstance(target, TargetError) or (target is None and written),
        )
    if "MIRRORD_TARGET_NAMESPACE" not in env:
        settings = replace(settings, target_namespace=inputs.target_namespace)
    return settings


async def operator_in_use(ctx: CheckContext) -> OperatorUse:
    """mirrord's choice: `OperatorUse` over the cached discovery fact, which keeps the
    MirrordOperator object its own GET read (no second request), judged on the
    service's clock (`ctx.today`)."""
    setting = ctx.operator_setting
    if setting is False:
        return operator_use("disabled", None, setting, ctx.today)
    found = await ctx.facts.operator_object(setting)  # cached: the gate asked
    return found.use(setting, ctx.today)


async def agent_view(ctx: CheckContext) -> AgentView | None:
    """The agent plan when mirrord will create its own agent; None when it will not (the
    operator runs it, mirrord stops earlier, or the config is refused before)."""
    use = await operator_in_use(ctx)
    if not use.open_source:
        return None
    settings = settings_of(ctx)
    if settings.target_invalid or (settings.target is not None and settings.target.needs_operator):
        return None  # `invalid-value` / `target-requires-operator` say mirrord stops earlier
    plan = agent_plan(settings, ctx.cluster.namespace)
    if plan.namespace is None:
        return None  # LayerConfig::verify refuses targetless + ephemeral
    return AgentView(settings, plan, use)


async def picked(ctx: CheckContext, view: AgentView) -> TargetRuntime | NotReady | None:
    """The pod and container mirrord will target (cached: every unit shares the read)."""
    target = view.settings.target
    if target is None:
        return None
    pods = await ctx.facts.target_pods(target, view.plan.target_namespace)
    return picked_target(view.settings, pods)


def keyed(ctx: CheckContext, found: RuleFinding) -> KeyedFinding:
    """A rule's finding, placed on its config key (fallbacks when that key is not written)."""
    at: tuple[str | int, ...] = found.at
    fallback: tuple[tuple[str | int, ...], ...]
    if at == ():
        at, fallback = (CLUSTER_ANCHOR[0], CLUSTER_ANCHOR[1:])
        if found.code.startswith("agent-"):
            at, fallback = NAMESPACE_ANCHOR[0], NAMESPACE_ANCHOR[1:]
    elif at == ("target",):
        at, fallback = ctx.target_at()
    else:
        fallback = (("agent",), *(((ctx.inputs.target_path),) if ctx.inputs.target_path else ()))
    data = {**found.data, "mirrord": found.mirrord_source}
    return KeyedFinding(found.code, found.severity, found.message, at, fallback, data=data)
