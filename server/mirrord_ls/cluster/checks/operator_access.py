"""RBAC on the operator's API: the user certificate and the session.

mirrord: `mirrord/operator/src/client.rs` `get_client_certificate` ("Failed to prepare
mirrord operator client certificate: ..."), `connect_in_new_session`, `copy_target`
("mirrord operator rejected creating a websocket connection: ..."; "... rejected
copying target: ..."). One SelfSubjectAccessReview per `access.access_checks` entry,
asked through the fact store (cached, shared); the rules: `access.access_rules`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit
from mirrord_ls.cluster.checks.operator_state import keyed, operator_path
from mirrord_ls.cluster.preflight.access import AccessCheck, access_checks, access_rules
from mirrord_ls.findings import KeyedFinding


async def run(ctx: CheckContext) -> Sequence[KeyedFinding]:
    state = await operator_path(ctx)
    op = state.use.operator
    if not state.use.used or op is None:
        return []
    checks = access_checks(op, state.settings, state.namespace)

    async def ask(check: AccessCheck) -> bool | None:
        return await ctx.facts.access_review(
            check.namespace, check.verb, check.group, check.resource, check.subresource, check.name
        )

    try:
        answers = await asyncio.gather(*(ask(check) for check in checks))
    except creds_mod.CredentialError:
        return []
    known = dict(zip(checks, answers, strict=True))
    rules = access_rules(op, state.settings, state.namespace, known)
    return [keyed(ctx, rule) for rule in rules]


UNIT = CheckUnit(
    name="operator-access",
    run=run,
    codes=("certificate-forbidden", "session-forbidden"),
    severity="error: mirrord stops when the operator refuses the certificate or the session",
    requests="SelfSubjectAccessReviews: 1 for the certificate, 1 for the session (3 when"
    " mirrord copies the target)",
    predicts="mirrord/operator/src/client.rs get_client_certificate, connect_in_new_session,"
    " copy_target",
    applies=lambda ctx: ctx.operator_setting is not False,
)
