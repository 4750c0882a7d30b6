"""The background re-check policy (cluster/recheck.py): spread, rest, change, backoff."""

from __future__ import annotations

import random

from mirrord_ls.cluster.recheck import (
    BACKOFF_CAP_FACTOR,
    STOP_AFTER_SECONDS,
    Activity,
    RecheckPolicy,
    fingerprint,
    is_failure,
)

FOCUSED = Activity(True, 0.0)


def test_first_rechecks_are_spread_over_the_period() -> None:
    policy = RecheckPolicy(60.0, random.Random(1))
    for key in range(200):
        policy.track(key, 0.0)
    firsts = sorted(e.next_at for e in policy.entries.values())
    assert 0.0 <= firsts[0] < 5.0 and 55.0 < firsts[-1] <= 60.0
    assert len(policy.due(30.0, FOCUSED)) not in (0, 200)


def test_only_a_changed_answer_asks_for_the_full_preflight() -> None:
    policy = RecheckPolicy(60.0, random.Random(2))
    policy.track("id", 0.0, fingerprint(403, {"kind": "Status"}))
    assert not policy.observed("id", fingerprint(403, {"kind": "Status"}), False, 60.0, FOCUSED)
    assert policy.observed(
        "id", fingerprint(200, {"kind": "MirrordOperator"}), False, 120.0, FOCUSED
    )
    delay = policy.entries["id"].next_at - 120.0
    assert 48.0 <= delay <= 72.0  # period ± 20 %


def test_resting_stretches_and_a_long_rest_stops() -> None:
    policy = RecheckPolicy(60.0, random.Random(3))
    unfocused = Activity(False, 0.0)
    assert policy.next_delay(0, unfocused) >= 4 * 60.0 * 0.8
    policy.track("id", 0.0)
    assert policy.due(1000.0, Activity(True, STOP_AFTER_SECONDS)) == []
    assert policy.due(1000.0, FOCUSED) == ["id"]


def test_failures_back_off_with_jitter_up_to_the_cap() -> None:
    policy = RecheckPolicy(60.0, random.Random(4))
    delays = [policy.next_delay(failures, FOCUSED) for failures in range(1, 12)]
    assert max(delays) <= BACKOFF_CAP_FACTOR * 60.0
    tenth = {round(policy.next_delay(10, FOCUSED), 3) for _ in range(20)}
    assert len(tenth) > 1  # jittered: a team does not come back in the same second
    assert all(60.0 * 2 <= d <= 60.0 * BACKOFF_CAP_FACTOR for d in tenth)
    assert is_failure(None) and is_failure(429)
    # The operator's pods down: the aggregator's 503 costs the API server nothing, and
    # its return must be noticed within a period (issue 17): no backoff.
    assert not is_failure(503) and not is_failure(403) and not is_failure(200)


def test_fingerprint_ignores_volatile_metadata_only() -> None:
    a = {"metadata": {"name": "operator", "uid": "1", "resourceVersion": "5"}, "spec": {}}
    b = {"metadata": {"name": "operator", "uid": "2", "resourceVersion": "5"}, "spec": {}}
    c = {"metadata": {"name": "operator", "uid": "2", "resourceVersion": "6"}, "spec": {}}
    assert fingerprint(200, a) == fingerprint(200, b) != fingerprint(200, c)
