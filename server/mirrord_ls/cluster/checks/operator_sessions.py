"""Port locks: another user's session steals a port this config steals on the same target.

mirrord: the operator lists sessions in the MirrordOperator object's `status.sessions`
(`mirrord/operator/src/crd.rs` `Session`, `LockedPort`) and enforces locks when the app
subscribes; with `on_concurrent_steal` at its default `abort` mirrord stops there
(`mirrord/config/src/feature/network/incoming.rs` `ConcurrentSteal`). Rule:
`preflight.sessions.port_lock_rules`; no request beyond discovery's GET.
"""

from __future__ import annotations

from collections.abc import Sequence

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.checks.operator_state import keyed, operator_path
from mirrord_ls.cluster.preflight.sessions import port_lock_rules
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    state = await operator_path(ctx)
    op = state.use.operator
    if not state.use.used or op is None:
        return []
    rules = port_lock_rules(op, state.settings, state.namespace, state.me)
    return [keyed(ctx, rule) for rule in rules]


UNIT = CheckUnit(
    name="operator-port-locks",
    run=run,
    codes=("port-locked",),
    severity="warning (`on_concurrent_steal: abort`, the default); information with override",
    requests="none (`status.sessions` of discovery's operator GET)",
    predicts="mirrord/config/src/feature/network/incoming.rs ConcurrentSteal;"
    " mirrord/operator/src/crd.rs Session",
    applies=lambda ctx: ctx.operator_setting is not False and ctx.target is not None,
)
