"""Agent settings the operator ignores: the operator runs the agent.

mirrord: `mirrord/cli/src/connection.rs` `create_and_connect`: "Agent configuration is
ignored when using the mirrord operator." Rule: `preflight.operator.agent_config_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.checks.operator_state import keyed, operator_path
from mirrord_ls.cluster.preflight.operator import agent_config_rules
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    state = await operator_path(ctx)
    return [keyed(ctx, rule) for rule in agent_config_rules(state.use, state.settings)]


UNIT = CheckUnit(
    name="operator-agent-ignored",
    run=run,
    codes=("agent-config-ignored",),
    severity="warning: mirrord runs, without those agent settings",
    requests="none (the discovery verdict)",
    predicts="mirrord/cli/src/connection.rs create_and_connect",
    applies=lambda ctx: ctx.operator_setting is not False and bool(ctx.inputs.agent),
)
