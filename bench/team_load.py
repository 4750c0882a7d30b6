"""The load a team's editors put on one API server: the background re-check policy
(`mirrord_ls.cluster.recheck`) against the naive one (a full preflight every period), over
a simulated hour on a virtual clock.

What each action costs is not assumed: a full preflight (the server's `ClusterService.check`,
forced, on a config with a target) and a sentinel (the daemon's one read) are run for real
against the loopback API server, healthy and with the operator answering 503, and their
requests counted by kind from its request log. The simulation then schedules those actions
for N editors; for small N every simulated action is also replayed for real against the
loopback server (in virtual-time order, as fast as it answers) and the requests it logged
are compared with the model's.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mirrord_ls.cluster.recheck import (
    RULES_REVIEW_PATH,
    Activity,
    RecheckPolicy,
    fingerprint,
    is_failure,
)
from mirrord_ls.loopback import Fault, LoopbackApiServer

OPERATOR_PATH = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
PERIOD = 60.0
HOUR = 3600.0
SWITCH_AT = 1200.0
"""Every editor's kubeconfig is rewritten (a new context) within a minute from here."""
DOWN_AT, UP_AT = 2400.0, 3000.0
"""The operator answers 503 between these."""
CONFIGS_PER_EDITOR = 3
# The activity mix: focused and typing; resting (unfocused, or idle 5-30 min); away (> 30 min).
MIX = [(0.4, Activity(True, 0.0)), (0.4, Activity(False, 600.0)), (0.2, Activity(True, 3600.0))]


def kind_of(method: str, path: str) -> str:
    """A request's kind for the tables: method and resource."""
    if path.startswith(OPERATOR_PATH):
        return "GET mirrordoperators"
    if path == RULES_REVIEW_PATH:
        return "POST selfsubjectrulesreviews"
    parts = [p for p in path.split("?")[0].split("/") if p]
    resource = parts[-1] if parts else path
    if "namespaces" in parts and parts.index("namespaces") + 2 < len(parts):
        resource = parts[parts.index("namespaces") + 2]
    elif len(parts) >= 2 and parts[-2] in ("pods", "deployments", "nodes", "namespaces"):
        resource = parts[-2]
    return f"{method} {resource}"


@dataclass
class Costs:
    """Requests by kind of each action, measured against the loopback server."""

    full_up: Counter[str]
    full_down: Counter[str]
    sentinel_up: Counter[str]
    sentinel_down: Counter[str]


@dataclass
class Phase:
    name: str
    start: float
    end: float


PHASES = [
    Phase("steady state (nothing changes)", 600.0, SWITCH_AT),
    Phase("the minute after a kubeconfig switch", SWITCH_AT, SWITCH_AT + 60.0),
    Phase("operator down (10 min)", DOWN_AT, UP_AT),
    Phase("operator back (10 min after)", UP_AT, UP_AT + 600.0),
]


@dataclass
class Outcome:
    requests: list[tuple[float, str]] = field(default_factory=list)
    """(virtual time, kind) of every request."""
    actions: list[tuple[float, int, str]] = field(default_factory=list)
    """(virtual time, editor, "full" or "sentinel") in order."""
    noticed_back: list[float] = field(default_factory=list)
    """Per editor: seconds from the operator's return to its full re-check."""

    def rate(self, phase: Phase, kind: str | None = None) -> float:
        n = sum(1 for t, k in self.requests if phase.start <= t < phase.end and kind in (None, k))
        return n / (phase.end - phase.start)

    def peak(self, phase: Phase, window: float = 10.0) -> float:
        """The busiest `window` seconds of the phase, in requests per second."""
        times = sorted(t for t, _ in self.requests if phase.start <= t < phase.end)
        best, j = 0, 0
        for i, t in enumerate(times):
            while times[j] < t - window:
                j += 1
            best = max(best, i - j + 1)
        return best / window

    def kinds(self, phase: Phase) -> dict[str, float]:
        counts = Counter(k for t, k in self.requests if phase.start <= t < phase.end)
        return {k: v / (phase.end - phase.start) for k, v in sorted(counts.items())}


def simulate(n: int, policy_name: str, costs: Costs, seed: int = 17) -> Outcome:
    """N editors over a simulated hour; each editor's configs share one cluster identity."""
    rng = random.Random(seed)
    out = Outcome()
    activities = [rng.choices([a for _, a in MIX], [w for w, _ in MIX])[0] for _ in range(n)]
    events: list[tuple[float, int, int, str]] = []
    seq = 0

    def push(t: float, editor: int, what: str) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, editor, what))

    def down(t: float) -> bool:
        return DOWN_AT <= t < UP_AT

    def emit(t: float, editor: int, action: str) -> None:
        out.actions.append((t, editor, action))
        cost = {
            ("full", False): costs.full_up,
            ("full", True): costs.full_down,
            ("sentinel", False): costs.sentinel_up,
            ("sentinel", True): costs.sentinel_down,
        }[(action, down(t))]
        for kind, count in cost.items():
            out.requests.extend([(t, kind)] * count)

    policies = [RecheckPolicy(PERIOD, random.Random(rng.random())) for _ in range(n)]
    back_seen = [False] * n
    for e in range(n):
        if policy_name == "naive":
            if policies[e].stretch(activities[e]) is not None:
                push(rng.uniform(0, PERIOD), e, "tick")
        else:
            policies[e].track("identity", 0.0, fingerprint(200, "up"))
            policies[e].entries["identity"].fingerprint = fingerprint(200, "up")
            push(policies[e].entries["identity"].next_at, e, "tick")
        push(SWITCH_AT + rng.uniform(0, 60.0), e, "switch")
    while events:
        t, _, e, what = heapq.heappop(events)
        if t >= HOUR:
            break
        if what == "switch":
            emit(t, e, "full")  # a new context: its first check is a full one, either policy
            continue
        if policy_name == "naive":
            # The old loop: a forced full check of every open config's identity each period,
            # until 30 min idle (no jitter beyond the first tick, no look at focus).
            emit(t, e, "full")
            if not down(t) and t >= UP_AT and not back_seen[e]:
                back_seen[e] = True
                out.noticed_back.append(t - UP_AT)
            push(t + PERIOD, e, "tick")
            continue
        policy = policies[e]
        status = 503 if down(t) else 200
        emit(t, e, "sentinel")
        failed = is_failure(status)
        if policy.observed("identity", fingerprint(status, "up"), failed, t, activities[e]):
            emit(t, e, "full")
            if t >= UP_AT and not back_seen[e]:
                back_seen[e] = True
                out.noticed_back.append(t - UP_AT)
        push(policy.entries["identity"].next_at, e, "tick")
    return out


# -- measuring the actions against the loopback server ----------------------------------------


async def count_action(server: LoopbackApiServer, action: Callable[[], object]) -> Counter[str]:
    before = len(server.log.records())
    result = action()
    if asyncio.iscoroutine(result):
        await result
    return Counter(kind_of(r.method, r.path) for r in server.log.records()[before:])


async def replay(
    outcome: Outcome,
    server: LoopbackApiServer,
    full: Callable[[int], object],
    sentinel: Callable[[int], object],
) -> int:
    """Run the simulated actions for real, in virtual-time order (one virtual second's actions
    at once), with the operator down between DOWN_AT and UP_AT; the requests logged."""
    before = len(server.log.records())
    down_fault: Fault | None = None
    batches: dict[int, list[tuple[int, str]]] = {}
    for t, editor, action in outcome.actions:
        batches.setdefault(int(t), []).append((editor, action))
    for second in sorted(batches):
        if DOWN_AT <= second < UP_AT and down_fault is None:
            down_fault = server.inject(Fault.status_code(OPERATOR_PATH, 503))
        elif second >= UP_AT and down_fault is not None:
            server.remove_fault(down_fault)
            down_fault = None
        jobs = []
        for editor, action in batches[second]:
            result = (full if action == "full" else sentinel)(editor)
            if asyncio.iscoroutine(result):
                jobs.append(result)
        await asyncio.gather(*jobs)
    if down_fault is not None:
        server.remove_fault(down_fault)
    return len(server.log.records()) - before


def workspace_env(base: Path, kubeconfig: Path) -> dict[str, str]:
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    return {"KUBECONFIG": str(kubeconfig), "HOME": str(home), "PATH": "/usr/bin:/bin"}
