"""A target mirrord refuses before it asks the cluster: malformed.

mirrord: `mirrord/config/src/target.rs` (`Target::from_str`) refuses a malformed
target. A target kind only the operator serves, without the operator, is
`operator_required.py`'s (every no-operator case, `operator: false` included).
"""

from __future__ import annotations

from collections.abc import Sequence

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.config.targets import TargetError
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    at, fallback = ctx.target_at()
    target = ctx.inputs.target
    if isinstance(target, TargetError):
        return [KeyedFinding("invalid-value", "error", target.message, at, fallback)]
    return []


UNIT = CheckUnit(
    name="target-form",
    run=run,
    codes=("invalid-value",),
    severity="error: mirrord refuses the config",
    requests="none",
    predicts="mirrord/config/src/target.rs Target::from_str",
    applies=lambda ctx: ctx.inputs.target is not None,
    needs_cluster=False,
)
