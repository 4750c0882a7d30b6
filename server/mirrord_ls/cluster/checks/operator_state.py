"""The operator path for one config, as the check units share it.

Every operator-path unit starts from the same state: the config's settings
(`preflight.settings.operator_settings`), the profile mirrord applies first
(one cached GET, `profiles.profile_ref`/`apply_profile`), the MirrordOperator
object read by discovery's own GET (`facts.operator_object`), and whether
mirrord will use the operator (`OperatorUse`). :func:`operator_path` works it
out from cached, single-flight facts, so the units that call it concurrently
cost one set of requests. :func:`keyed` places a preflight `RuleFinding`.

The agent-path units (mirrord without the operator) call :func:`operator_use_of`
and run exactly when `OperatorUse.open_source` is true.
"""

from __future__ import annotations

import contextlib
import getpass
import socket
from dataclasses import dataclass
from functools import cache

from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster.checks.base import CLUSTER_ANCHOR, CheckContext
from mirrord_ls.cluster.facts import OperatorObject
from mirrord_ls.cluster.preflight import RuleFinding
from mirrord_ls.cluster.preflight.operator import OperatorUse, operator_use
from mirrord_ls.cluster.preflight.profiles import (
    ProfileAnswer,
    ProfileRef,
    apply_profile,
    profile_ref,
)
from mirrord_ls.cluster.preflight.sessions import Identity
from mirrord_ls.cluster.preflight.settings import (
    OperatorSettings,
    operator_settings,
    target_namespace,
)
from mirrord_ls.findings import KeyedFinding


@dataclass(frozen=True)
class OperatorPath:
    """What the operator-path units read (and hover shows)."""

    use: OperatorUse
    settings: OperatorSettings
    """After the profile applied (namespace, incoming mode)."""
    namespace: str
    """The target namespace mirrord will use."""
    ref: ProfileRef | None
    profile: ProfileAnswer | None
    object: OperatorObject | None
    """None when `operator` is false (no request) or no verdict could be had."""
    me: Identity
    today_text: str


@cache
def local_identity() -> Identity:
    """Who runs mirrord here, as the operator names session owners (`x-client-name`,
    `x-client-hostname`): the local user and host names."""
    name = hostname = None
    with contextlib.suppress(Exception):
        name = getpass.getuser()
    with contextlib.suppress(OSError):
        hostname = socket.gethostname()
    return Identity(name, hostname)


def settings_of(ctx: CheckContext) -> OperatorSettings:
    """The config's operator-path settings, with the effective `operator` tri-state."""
    return operator_settings(ctx.inputs.config_view(), ctx.operator_setting)


async def operator_object_of(ctx: CheckContext) -> OperatorObject | None:
    """The discovery fact with its MirrordOperator body; None with `operator: false` (mirrord
    asks nothing) or when no credentials could be had (the operator gate says so)."""
    if ctx.operator_setting is False:
        return None
    if ctx.facts.verdict is None and ctx.facts.store.cached_operator(ctx.facts.identity) is None:
        # The gate ran first and got no verdict (credentials): ask nothing more.
        return None
    try:
        return await ctx.facts.operator_object(ctx.operator_setting)
    except creds_mod.CredentialError:
        return None


async def operator_use_of(ctx: CheckContext) -> OperatorUse:
    """Will mirrord use the operator, and if not why; no request beyond discovery's GET."""
    found = await operator_object_of(ctx)
    if found is None:
        kind = "disabled" if ctx.operator_setting is False else "unreachable"
        return operator_use(kind, None, ctx.operator_setting, ctx.today)
    return found.use(ctx.operator_setting, ctx.today)


async def _profile(ctx: CheckContext, ref: ProfileRef | None) -> ProfileAnswer | None:
    if ref is None:
        return None
    try:
        got = await ctx.facts.get(ref.path)
    except creds_mod.CredentialError:
        return None
    return ProfileAnswer(got.status, got.body if got.ok else None)


async def operator_path(ctx: CheckContext) -> OperatorPath:
    """The shared state of the operator-path units (every fact cached and single-flight)."""
    settings = settings_of(ctx)
    ref = profile_ref(settings)
    answer = await _profile(ctx, ref)
    applied = apply_profile(settings, ref, answer)
    found = await operator_object_of(ctx)
    use = (
        found.use(ctx.operator_setting, ctx.today)
        if found is not None
        else await operator_use_of(ctx)
    )
    state = OperatorPath(
        use=use,
        settings=applied,
        namespace=target_namespace(applied, ctx.cluster.namespace),
        ref=ref,
        profile=answer,
        object=found,
        me=local_identity(),
        today_text=ctx.today.isoformat(),
    )
    ctx.facts.operator_path = state
    return state


def keyed(ctx: CheckContext, rule: RuleFinding) -> KeyedFinding:
    """A preflight finding placed by its `at` path (the cluster anchor when it has none)."""
    data = dict(rule.data)
    if rule.mirrord_source:
        data.setdefault("mirrordSource", rule.mirrord_source)
    if not rule.at:
        return KeyedFinding(
            rule.code, rule.severity, rule.message, CLUSTER_ANCHOR[0], CLUSTER_ANCHOR[1:], data
        )
    # A key not written (set by a profile, or a default) goes to its nearest written
    # parent; a target path to the target, else the cluster anchor.
    fallback = ((("target",), *CLUSTER_ANCHOR)) if rule.at[0] == "target" else ()
    return KeyedFinding(rule.code, rule.severity, rule.message, rule.at, fallback, data)
