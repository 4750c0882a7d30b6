"""Other sessions on the same target: port locks, and the target hover's session list.

The operator lists its active sessions in the MirrordOperator object's
`status.sessions` (`mirrord/operator/src/crd.rs` `Session`, `LockedPort`),
each with the ports it holds. The CLI no longer checks these locks at start-up
(PR #2476, "Port locks are already enforced in the operator"): the operator
enforces them when the app subscribes to a port, and with
`feature.network.incoming.on_concurrent_steal` at its default `abort` the
session ends there (`mirrord/config/src/feature/network/incoming.rs`
`ConcurrentSteal`). Rule: `port-locked`. The fact: the operator GET that
discovery already made.

Only locks without an HTTP filter (a whole port stolen) are judged: what the
operator does with two filtered steals on one port is its own business, and a
check must never call a working config wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirrord_ls.cluster.preflight import RuleFinding
from mirrord_ls.cluster.preflight.operator import multi_cluster_session
from mirrord_ls.cluster.preflight.operator_object import LockedPort, MirrordOperator, Session
from mirrord_ls.cluster.preflight.settings import Incoming, OperatorSettings
from mirrord_ls.config.targets import Target, parse_target_path


@dataclass(frozen=True, slots=True)
class Identity:
    """Who runs mirrord here, as the operator names session owners: the local user name
    and the hostname the CLI sends (`x-client-name`, `x-client-hostname`, types.rs)."""

    name: str | None = None
    hostname: str | None = None


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    kube_user: str
    hostname: str


def session_owner(user: str) -> Owner | None:
    """cli/src/ui/server.rs `parse_session_owner`: `<name>/<kube user>@<hostname>`."""
    head, at, hostname = user.rpartition("@")
    name, slash, kube_user = head.partition("/")
    if not at or not slash:
        return None
    return Owner(name, kube_user, hostname)


def _same_target(session: Session, target: Target) -> bool:
    theirs = parse_target_path(session.target)
    if not isinstance(theirs, Target) or theirs.kind in ("targetless", "label"):
        return False
    return (theirs.kind, theirs.name) == (target.kind, target.name)


def sessions_on_target(
    operator: MirrordOperator, settings: OperatorSettings, namespace: str
) -> tuple[Session, ...]:
    """The operator's sessions on this config's target and namespace (previews left out,
    as `mirrord operator status` leaves them out)."""
    target = settings.target
    if target is None or target.kind in ("targetless", "label") or not operator.sessions:
        return ()
    return tuple(
        s
        for s in operator.sessions
        if not s.is_preview and s.namespace == namespace and _same_target(s, target)
    )


def _steals(incoming: Incoming, port: int) -> bool:
    """Does this config steal the target's `port` when the app listens on it?

    incoming.rs: steal mode; `ports` and `ignore_ports` name the ports the app listens on,
    and `port_mapping` [local, remote] maps them to the target's.
    """
    if incoming.mode != "steal":
        return False
    mapping = dict(incoming.port_mapping)
    local = [lp for lp, rp in mapping.items() if rp == port]
    if port not in mapping:
        local.append(port)
    return any(
        lp not in incoming.ignore_ports and (incoming.ports is None or lp in incoming.ports)
        for lp in local
    )


def _duration(secs: int) -> str:
    if secs < 120:
        return f"{secs} s"
    if secs < 7200:
        return f"{secs // 60} min"
    if secs < 2 * 86400:
        return f"{secs // 3600} h {secs % 3600 // 60} min"
    return f"{secs // 86400} days"


def _who(session: Session, me: Identity | None) -> str:
    owner = session_owner(session.user)
    if owner is None:
        return f'"{session.user}"'
    if me is not None and (me.name, me.hostname) == (owner.name, owner.hostname):
        return f"you, in another session on {owner.hostname}"
    return f'{owner.name} (cluster user "{owner.kube_user}", on {owner.hostname})'


def _exclusive(lock: LockedPort) -> bool:
    return lock.filter is None and "steal" in lock.kind.lower()


def port_lock_rules(
    operator: MirrordOperator,
    settings: OperatorSettings,
    namespace: str,
    me: Identity | None = None,
) -> list[RuleFinding]:
    """`port-locked`: another session steals, without a filter, a port this config steals
    on the same target. Run only when the operator will be used. Reads: the operator GET."""
    if multi_cluster_session(operator, settings):
        return []  # the target, and its locks, live in a workload cluster
    policy = settings.incoming.on_concurrent_steal
    if policy == "continue":
        return []
    found = []
    for session in sessions_on_target(operator, settings, namespace):
        for lock in session.locked_ports:
            if not (_exclusive(lock) and _steals(settings.incoming, lock.port)):
                continue
            since = _duration(session.duration_secs)
            sid = f" (session {session.id})" if session.id else ""
            holder = (
                f'Port {lock.port} of {session.target} in namespace "{namespace}" is'
                f" stolen, without a filter, by {_who(session, me)} for {since}{sid}"
            )
            if policy == "override":
                found.append(
                    RuleFinding(
                        "port-locked",
                        "information",
                        f"{holder}. With `on_concurrent_steal: override` mirrord will take the"
                        " port over and close that session's connections.",
                        at=settings.incoming.at,
                        mirrord_source="mirrord/config/src/feature/network/incoming.rs"
                        " ConcurrentSteal; the operator enforces locks (PR #2476)",
                        data={"port": lock.port, "user": session.user},
                    )
                )
                continue
            found.append(
                RuleFinding(
                    "port-locked",
                    "warning",
                    f"{holder}. Your config steals that port too, so when your app listens on"
                    " it the operator refuses and mirrord aborts (`on_concurrent_steal` is"
                    " abort by default). Fix: wait for that session to end, ask its owner,"
                    ' or set `feature.network.incoming.on_concurrent_steal` to "override".',
                    at=settings.incoming.at,
                    mirrord_source="mirrord/config/src/feature/network/incoming.rs"
                    " ConcurrentSteal; the operator enforces locks (PR #2476)",
                    data={"port": lock.port, "user": session.user},
                )
            )
    return found


def sessions_hover(
    operator: MirrordOperator,
    settings: OperatorSettings,
    namespace: str,
    me: Identity | None = None,
) -> list[str]:
    """Markdown lines for the hover on `target`: who else has a session on it."""
    lines = []
    for session in sessions_on_target(operator, settings, namespace):
        ports = ", ".join(
            f"{lock.port} ({lock.kind}{', filter ' + lock.filter if lock.filter else ''})"
            for lock in session.locked_ports
        )
        lines.append(
            f"- {_who(session, me)}, for {_duration(session.duration_secs)}"
            + (f"; ports: {ports}" if ports else "")
        )
    if lines:
        lines.insert(0, f"Active mirrord sessions on this target ({len(lines)}):")
    return lines
