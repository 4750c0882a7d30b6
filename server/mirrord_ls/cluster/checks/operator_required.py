"""What the config asks of an operator mirrord will not use.

mirrord: `mirrord/cli/src/connection.rs` `process_config_oss`: "Feature `target type
{t}` requires using mirrord operator"; "Feature `copy_target` requires using mirrord
operator"; `mirrord/config/src/lib.rs` `LayerConfig::verify`: "The copy target feature
requires a mirrord operator". Covers every no-operator case: `operator: false`, not
installed, the licence fallback, the discovery fallback (`OperatorApi::try_new`
returns Ok(None) when discovery fails and `operator` is unset). split_queues and
db_branches are then ignored silently. Rule: `preflight.operator.requires_operator_rules`.

It runs after a halt too (`needs_cluster=False`): a discovery failure with `operator`
unset is exactly a fallback. It asks nothing the gate did not ask.
"""

from __future__ import annotations

from collections.abc import Sequence

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.checks.operator_state import keyed, operator_use_of, settings_of
from mirrord_ls.cluster.preflight.operator import requires_operator_rules
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    use = await operator_use_of(ctx)
    return [keyed(ctx, rule) for rule in requires_operator_rules(use, settings_of(ctx))]


def _applies(ctx: CheckContext) -> bool:
    target = ctx.target
    feature = ctx.inputs.feature
    return (target is not None and target.needs_operator) or any(
        key in feature for key in ("copy_target", "split_queues", "db_branches")
    )


UNIT = CheckUnit(
    name="operator-required",
    run=run,
    codes=("target-requires-operator", "requires-operator"),
    severity="error for an operator-only target or copy_target; warning for split_queues and"
    " db_branches (ignored silently)",
    requests="none (the discovery verdict and its operator GET)",
    predicts="mirrord/cli/src/connection.rs process_config_oss, create_and_connect;"
    " mirrord/config/src/lib.rs LayerConfig::verify",
    applies=_applies,
    needs_cluster=False,
)
