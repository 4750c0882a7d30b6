"""The background re-check policy: when to ask a cluster again, and what to ask.

A team's editors all re-check in the background, so what one editor asks is
multiplied by the team. The policy keeps that to one cheap request per
cluster identity per period while nothing changes:

- Sentinel first. A periodic re-check reads one thing that changes whenever a
  verdict could: with the operator (mirrord's discovery asks for it first) a
  GET of the `MirrordOperator` object `operator`: its status code carries the
  operator's health (503 when the aggregated API is down) and the user's RBAC
  on it (403), its body the operator's version and licence. Without the
  operator (`operator: false`), a `SelfSubjectRulesReview` of the context's
  namespace: the user's rules there, which is what the agent path's access
  reviews ask about. Only when the sentinel's fingerprint differs from the
  last one is the full preflight run again (forced).
- Not a watch. A watch (`?watch=1&resourceVersion=...`) would notice at once,
  but the Kubernetes API documents a watch as needing the `watch` verb (a
  developer's role rarely has it on RBAC objects, and the operator's user role
  grants get), `MirrordOperator` is served by the operator through the API
  aggregation layer (a proxied long-lived connection per editor, broken by the
  very outage we want to see), and kube-apiserver ends each watch after its
  min-request-timeout (30-60 min), so a thousand editors still reconnect
  steadily. A GET that the aggregator answers from the operator, and a rules
  review the authorizer answers from its informer caches (no etcd read), are
  each one short request.
- Spread in time: an identity's first re-check comes at a uniform random point
  of the period, each next one after period * U(0.8, 1.2).
- Back off while the editor rests: the period is multiplied while no mirrord
  config is the active editor (`mirrord/activeDocument` with no uri) or the
  user has not typed, hovered or opened for a while; after a long rest
  nothing is asked at all.
- Failures that more asking would make worse back off exponentially with
  jitter (the "equal jitter" of AWS's backoff note): no answer at all (the
  network, a hung server) or 429 (the API server's own "slow down", API Priority
  and Fairness): after k of them in a row the wait is U(0.5, 1) * min(4,
  2^(k-1)) * period (or the resting period, when longer). An operator whose
  pods are down is answered 503 by the API server's aggregator at no cost to
  it: that sentinel keeps the normal, jittered period, so the operator's return
  is noticed within one period (1.2 with the jitter) and the spread keeps a
  team's editors from meeting it in the same second.

Pure: the caller passes the clock and the random source (the benchmark runs
it on a virtual clock).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

IDLE_AFTER_SECONDS = 5 * 60.0
"""No activity for this long: the editor is resting (the period stretches)."""
STOP_AFTER_SECONDS = 30 * 60.0
"""No activity for this long: no background re-check at all."""
REST_FACTOR = 4.0
"""The period's multiplier while resting or while no mirrord config is the active editor."""
JITTER = 0.2
"""Each period is period * U(1 - JITTER, 1 + JITTER)."""
BACKOFF_CAP_FACTOR = 4.0
"""A failing identity waits at most this many periods (before jitter)."""


@dataclass(frozen=True)
class Activity:
    """What the editor is doing, as the server sees it."""

    focused: bool = True
    """A mirrord config is the active editor (`mirrord/activeDocument` named one)."""
    idle_seconds: float = 0.0
    """Since the user last opened, edited or hovered a config."""


@dataclass
class _Entry:
    next_at: float
    fingerprint: str | None = None
    failures: int = 0


@dataclass
class RecheckPolicy:
    period: float
    rng: random.Random = field(default_factory=random.Random)
    entries: dict[Hashable, _Entry] = field(default_factory=dict)

    def stretch(self, activity: Activity) -> float | None:
        """The period's multiplier for this activity, or None: do not re-check."""
        if activity.idle_seconds >= STOP_AFTER_SECONDS:
            return None
        if activity.idle_seconds >= IDLE_AFTER_SECONDS or not activity.focused:
            return REST_FACTOR
        return 1.0

    def track(self, key: Hashable, now: float, fingerprint: str | None = None) -> None:
        """Start following `key` (its first re-check at a random point of the period)."""
        if key not in self.entries:
            self.entries[key] = _Entry(now + self.rng.uniform(0, self.period), fingerprint)

    def forget(self, key: Hashable) -> None:
        self.entries.pop(key, None)

    def due(self, now: float, activity: Activity) -> list[Hashable]:
        """The identities whose sentinel is due now."""
        if self.stretch(activity) is None:
            return []
        return [key for key, entry in self.entries.items() if entry.next_at <= now]

    def observed(
        self, key: Hashable, fingerprint: str | None, failed: bool, now: float, activity: Activity
    ) -> bool:
        """Record a sentinel's answer; True when the full preflight must run again (the
        answer differs from the last one known)."""
        entry = self.entries.setdefault(key, _Entry(now))
        changed = entry.fingerprint is not None and fingerprint != entry.fingerprint
        entry.fingerprint = fingerprint
        entry.failures = entry.failures + 1 if failed else 0
        entry.next_at = now + self.next_delay(entry.failures, activity)
        return changed

    def next_delay(self, failures: int, activity: Activity) -> float:
        stretch = self.stretch(activity) or REST_FACTOR
        base = self.period * stretch * self.rng.uniform(1 - JITTER, 1 + JITTER)
        if not failures:
            return base
        ceiling = min(BACKOFF_CAP_FACTOR, 2.0 ** (failures - 1)) * self.period
        return max(base, self.rng.uniform(0.5, 1.0) * ceiling)


# -- the sentinel reads ---------------------------------------------------------------------

RULES_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
_VOLATILE = ("managedFields", "generation", "creationTimestamp", "uid")


def fingerprint(status: int | None, body: Any) -> str:
    """A short digest of a sentinel's answer: the status and the body without the metadata
    that changes on every read of a synthesised object (its resourceVersion stays, so an
    object kept in etcd changes fingerprint exactly when it changes)."""
    if isinstance(body, dict):
        body = dict(body)
        meta = body.get("metadata")
        if isinstance(meta, dict):
            body["metadata"] = {k: v for k, v in meta.items() if k not in _VOLATILE}
        if body.get("kind") == "SelfSubjectRulesReview":
            body = body.get("status")
    text = json.dumps([status, body], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_failure(status: int | None) -> bool:
    """An answer that asking again soon would make worse: back off. No answer (`None`: the
    network, a hung or refusing server) or 429. A 5xx (the operator's aggregated API
    while its pods are down: 503 from the aggregator) is not: it keeps the period."""
    return status is None or status == 429


def rules_review_body(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
