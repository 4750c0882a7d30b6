"""A target mirrord refuses before it asks the cluster: malformed, or needing the operator
while `operator` is false.

mirrord: `mirrord/config/src/target.rs` (`Target::from_str`) refuses a malformed
target; `mirrord/cli/src/connection.rs` (`process_config_oss`) refuses a target kind
only the operator serves when the operator is off: "Target type {} requires the
mirrord operator, which is part of mirrord for Teams."
"""

from __future__ import annotations

from collections.abc import Sequence

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.config.targets import TargetError
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    at, fallback = ctx.target_at()
    # A target mirrord's parser refuses is the config check's finding (config/verify.py),
    # with or without a cluster; here it is only not looked up.
    checked = ctx.target
    if checked is not None and checked.needs_operator and ctx.operator_setting is False:
        return [
            KeyedFinding(
                "target-requires-operator",
                "error",
                f"A {checked.kind} target needs the mirrord operator, but operator is false:"
                " mirrord will refuse it. Use a pod, deployment or rollout target, or the"
                " operator.",
                at,
                fallback,
            )
        ]
    return []


UNIT = CheckUnit(
    name="target-form",
    run=run,
    codes=("target-requires-operator",),
    severity="error: mirrord refuses the config",
    requests="none",
    predicts="mirrord/config/src/target.rs Target::from_str;"
    " mirrord/cli/src/connection.rs process_config_oss",
    applies=lambda ctx: (
        ctx.inputs.target is not None and not isinstance(ctx.inputs.target, TargetError)
    ),
    needs_cluster=False,
)
