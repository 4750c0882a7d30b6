"""Hover lines from the operator-path state: the operator's version, licence, the features
this config needs, whether mirrord will use the operator, and the sessions on the target.

Pure: it reads the `OperatorPath` the check units left (`cluster/checks/operator_state.py`).
The MirrordOperator object holds no secret mirrord-ls shows: the licence fingerprint and
subscription id are never printed.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from mirrord_ls.cluster.preflight.features import feature_rules
from mirrord_ls.cluster.preflight.operator import days_left, multi_cluster_note
from mirrord_ls.cluster.preflight.operator_object import InvalidOperator, MirrordOperator
from mirrord_ls.cluster.preflight.sessions import sessions_hover

# Features worth naming whatever the config: how mirrord talks to this operator.
ALWAYS_SHOWN = ("ProxyApi", "ExtendableUserCredentials", "MultiClusterPrimary")


def _needed(op: MirrordOperator, settings: Any) -> list[str]:
    """The operator features this config needs (`feature_rules` against an operator that
    offers none lists every need once)."""
    bare = dataclasses.replace(op, supported_features=frozenset())
    names = [str(f.data.get("feature")) for f in feature_rules(bare, settings)]
    return list(dict.fromkeys(n for n in names if n != "None"))


def operator_lines(state: Any) -> list[str]:
    """Lines for the hover on `operator`."""
    if state is None:
        return []
    lines: list[str] = []
    use = state.use
    parsed = state.object.parsed if state.object is not None else None
    if isinstance(parsed, InvalidOperator):
        problems = "; ".join(parsed.problems[:3])
        lines.append(f"- the MirrordOperator object is not readable: {problems}")
    op = use.operator if use.operator is not None else parsed
    if isinstance(op, MirrordOperator):
        lic = op.license
        today = datetime.date.fromisoformat(state.today_text)
        left = days_left(op, today)
        when = f"expired {-left} day(s) ago" if left < 0 else f"{left} day(s) left"
        lines.append(f"- operator version: {op.operator_version}")
        lines.append(
            f"- licence: {lic.name} ({lic.organization}), expires {lic.expire_text} ({when})"
        )
        if op.protocol_version:
            lines.append(f"- protocol version: {op.protocol_version}")
        needed = _needed(op, state.settings)
        shown = [f for f in ALWAYS_SHOWN if op.supports(f)]
        if needed:
            marks = ", ".join(f"{f} {'yes' if op.supports(f) else 'NO'}" for f in needed)
            lines.append(f"- features this config needs: {marks}")
        if shown:
            lines.append(f"- features: {', '.join(shown)}")
        if op.sessions is not None:
            lines.append(f"- active sessions: {len([s for s in op.sessions if not s.is_preview])}")
    if use.used:
        lines.append("- mirrord will use the operator")
    elif use.stops:
        lines.append("- mirrord will stop before it can use the operator")
    else:
        lines.append(f"- mirrord will run without the operator: {use.reason}")
    return lines


def target_lines(state: Any) -> list[str]:
    """Lines for the hover on `target`: the multi-cluster note, the sessions on it."""
    if state is None:
        return []
    lines: list[str] = []
    note = multi_cluster_note(state.use, state.settings)
    if note:
        lines.append(f"- {note}")
    op = state.use.operator
    if state.use.used and op is not None:
        lines += sessions_hover(op, state.settings, state.namespace, state.me)
    return lines
