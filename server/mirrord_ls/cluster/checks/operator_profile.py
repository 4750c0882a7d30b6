"""The `profile` field: the mirrord profile mirrord fetches and applies before anything.

mirrord: `mirrord/cli/src/profile.rs` (`apply_profile_if_configured`, `fetch_profile`):
"mirrord profile was not found in the cluster"; "failed to fetch the mirrord profile:
{0}"; "mirrord profile contains an unknown field `{0}`". The rules:
`preflight.profiles.profile_rules`; the fact: one cached GET of the profile.
"""

from __future__ import annotations

from collections.abc import Sequence

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.checks.operator_state import keyed, operator_path, settings_of
from mirrord_ls.cluster.preflight.profiles import profile_rules
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    state = await operator_path(ctx)
    rules = profile_rules(settings_of(ctx), state.ref, state.profile)
    return [keyed(ctx, rule) for rule in rules]


UNIT = CheckUnit(
    name="operator-profile",
    run=run,
    codes=("profile-not-found", "profile-forbidden", "profile-invalid"),
    severity="error: mirrord stops before anything else, with or without the operator",
    requests="1 GET of the profile (mirrordclusterprofiles/{name} or"
    " namespaces/{ns}/mirrordprofiles/{name})",
    predicts="mirrord/cli/src/profile.rs apply_profile_if_configured, fetch_profile",
    applies=lambda ctx: ctx.inputs.profile is not None,
)
