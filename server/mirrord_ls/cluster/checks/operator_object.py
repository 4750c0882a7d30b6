"""The MirrordOperator object and its licence, read from discovery's own GET.

mirrord: `mirrord/operator/src/client.rs` `OperatorApi::try_new` deserializes the
object (a body it cannot read stops it: "mirrord operator API failed: finding
operator failed with ..."), `check_license_validity` and `cli/src/connection.rs`
judge the licence ("mirrord operator license expired"; "No valid license found for
mirrord for Teams"; "Operator license will expire soon, in {n} day{s}!"). The rules:
`preflight.operator.operator_object_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.checks.operator_state import keyed, operator_object_of
from mirrord_ls.cluster.preflight.operator import operator_object_rules
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    found = await operator_object_of(ctx)
    if found is None or found.parsed is None or found.discovery != "installed":
        return []
    rules = operator_object_rules(found.parsed, ctx.operator_setting, ctx.today)
    return [keyed(ctx, rule) for rule in rules]


UNIT = CheckUnit(
    name="operator-object",
    run=run,
    codes=("operator-invalid", "license-expired", "license-expiring"),
    severity="operator-invalid: error whatever `operator` says; license-expired: error with"
    " `operator: true`, else warning (open-source fallback); license-expiring: warning",
    requests="none (the body of discovery's operator GET)",
    predicts="mirrord/operator/src/client.rs OperatorApi::try_new, check_license_validity;"
    " mirrord/cli/src/connection.rs try_connect_using_operator",
    applies=lambda ctx: ctx.operator_setting is not False,
)
