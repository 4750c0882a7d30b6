"""What the config asks of the operator it will use: features, protocol, copy-target filters.

mirrord: `mirrord/operator/src/client.rs` `check_feature_support`, `prepare_branch_dbs`
("Feature `{f}` is not supported in mirrord operator {v}."),
`mirrord/config/src/feature/network/incoming/http_filter.rs` `ensure_usable_with`
("Cannot use {what}, protocol version used by mirrord-agent must match {req}") and
`mirrord/cli/src/connection.rs` `try_connect_using_operator` (the copy-target filter
warnings). Rules: `preflight.features`; no request beyond discovery's GET.
"""

from __future__ import annotations

from collections.abc import Sequence

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.checks.operator_state import keyed, operator_path
from mirrord_ls.cluster.preflight.features import (
    copy_target_filter_rules,
    feature_rules,
    protocol_rules,
)
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    state = await operator_path(ctx)
    op = state.use.operator
    if not state.use.used or op is None:
        return []
    rules = copy_target_filter_rules(op, state.settings)
    rules += feature_rules(op, state.settings)
    rules += protocol_rules(op, state.settings)
    return [keyed(ctx, rule) for rule in rules]


UNIT = CheckUnit(
    name="operator-features",
    run=run,
    codes=("feature-unsupported", "protocol-too-old", "copy-target-filter"),
    severity="error for a missing feature or a protocol too old; copy-target-filter: warning",
    requests="none (the body of discovery's operator GET)",
    predicts="mirrord/operator/src/client.rs check_feature_support, prepare_branch_dbs;"
    " mirrord/config/src/feature/network/incoming/http_filter.rs ensure_usable_with;"
    " mirrord/cli/src/connection.rs try_connect_using_operator",
    applies=lambda ctx: ctx.operator_setting is not False,
)
