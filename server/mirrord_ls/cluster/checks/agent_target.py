"""The target pod mirrord will pick, and what about it stops (or warns) the agent.

mirrord: `mirrord/kube/src/api/runtime.rs` (`RuntimeData::from_pod`,
`RuntimeDataFromLabels::runtime_data`: a pod Running, not terminating, with the target
container ready; `check_node_inner`: the node's allocatable pods against its Running
pods), `container.rs` `choose_container`, and `kubernetes.rs` `create_agent` (probe
ports stolen without a filter, Istio ambient without `agent.privileged`, the mesh and
the guessed container it prints). Rules: `preflight.agent.target_not_ready`,
`node_full`, `probe_steal`, `agent_needs_privileged`, `agent_notes`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster.checks.agent_base import agent_view, keyed, picked
from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.preflight.agent import (
    agent_needs_privileged,
    agent_notes,
    node_check_applies,
    node_full,
    probe_steal,
    target_not_ready,
)
from mirrord_ls.cluster.preflight.agent_facts import NodeFacts, Unreadable
from mirrord_ls.cluster.preflight.agent_runtime import TargetRuntime
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    try:
        view = await agent_view(ctx)
        if view is None or view.settings.target is None:
            return []
        result = await picked(ctx, view)
        runtime = result if isinstance(result, TargetRuntime) else None
        node: NodeFacts | Unreadable | None = None
        running: int | Unreadable | None = None
        node_name = runtime.pod.node_name if runtime is not None else None
        if node_name and node_check_applies(view.plan, view.settings):
            # runtime.rs check_node_inner reads the node and counts its Running pods;
            # both need only the pod's node name: ask them together.
            node, running = await asyncio.gather(
                ctx.facts.node(node_name), ctx.facts.running_pods_on(node_name)
            )
    except creds_mod.CredentialError:
        return []
    settings = view.settings
    found = [
        *agent_notes(runtime, None),
        *target_not_ready(result),
        *agent_needs_privileged(settings, runtime),
        *probe_steal(settings, runtime),
        *node_full(view.plan, settings, runtime, node, running),
    ]
    return [keyed(ctx, f) for f in found]


UNIT = CheckUnit(
    name="agent-target",
    run=run,
    codes=(
        "target-not-ready",
        "node-full",
        "probe-steal",
        "agent-needs-privileged",
        "target-container-picked",
        "service-mesh-detected",
    ),
    severity="error: no ready pod, no room on the node, Istio ambient without privileged;"
    " warning: steal takes a probe port; information: the picked container, a mesh",
    requests="GET pod, or GET deployment/rollout (+ its workloadRef) + LIST its pods;"
    " targeted Job agents: GET node + LIST its Running pods (all pages)",
    predicts="mirrord/kube/src/api/runtime.rs RuntimeData::from_pod, check_node_inner;"
    " container.rs choose_container; kubernetes.rs create_agent",
    applies=lambda ctx: ctx.target is not None,
)
