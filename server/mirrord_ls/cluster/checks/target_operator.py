"""A target kind only the operator serves, on a cluster without the operator.

mirrord: `mirrord/cli/src/connection.rs` (`process_config_oss`): without an operator
mirrord creates its own agent, which can only target pods, deployments and rollouts;
other kinds fail with "Target type {} requires the mirrord operator, which is part of
mirrord for Teams."
"""

from __future__ import annotations

from collections.abc import Sequence

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    target = ctx.target
    if target is None:
        return []
    verdict = await ctx.facts.operator(ctx.operator_setting)  # cached: the gate asked
    if verdict.kind != "not-installed":
        return []
    at, fallback = ctx.target_at()
    return [
        KeyedFinding(
            "target-requires-operator",
            "error",
            f"A {target.kind} target needs the mirrord operator, which is not installed"
            f" in context {ctx.cluster.context_name}.",
            at,
            fallback,
        )
    ]


def _applies(ctx: CheckContext) -> bool:
    return (
        ctx.target is not None and ctx.target.needs_operator and ctx.operator_setting is not False
    )


UNIT = CheckUnit(
    name="target-needs-operator",
    run=run,
    codes=("target-requires-operator",),
    severity="error: mirrord refuses the target",
    requests="none (reads the operator verdict)",
    predicts="mirrord/cli/src/connection.rs process_config_oss",
    applies=_applies,
)
