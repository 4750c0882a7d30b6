"""TtlCache and SingleFlight: the two primitives every cluster cache is built from."""

from __future__ import annotations

import asyncio

import pytest

from mirrord_ls.cluster.cache import SingleFlight, TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_each_by_its_own_ttl_and_stay_peekable() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(10, clock)
    cache.put("short", 1, ttl=5)
    cache.put("long", 2, ttl=300)
    clock.now += 10
    assert cache.get("short") is None
    assert cache.get("long") == 2
    stale = cache.peek("short")
    assert stale is not None and stale.value == 1 and stale.stored == 100.0


def test_a_cached_none_is_told_apart_from_absent() -> None:
    cache: TtlCache[str, bool | None] = TtlCache(4, Clock())
    cache.put("unknown", None, ttl=30)
    entry = cache.live("unknown")
    assert entry is not None and entry.value is None
    assert cache.live("absent") is None


def test_oldest_goes_first_and_a_rewrite_makes_an_entry_newest() -> None:
    cache: TtlCache[str, int] = TtlCache(2, Clock())
    cache.put("a", 1, 60)
    cache.put("b", 2, 60)
    cache.put("a", 3, 60)  # now the newest
    cache.put("c", 4, 60)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (3, 4)


def test_drop_where_removes_by_key() -> None:
    cache: TtlCache[tuple[str, str], int] = TtlCache(10, Clock())
    for key in [("x", "1"), ("x", "2"), ("y", "1")]:
        cache.put(key, 0, 60)
    cache.drop_where(lambda k: k[0] == "x")
    assert list(cache) == [("y", "1")]


async def test_concurrent_callers_share_one_fetch() -> None:
    flights: SingleFlight[str] = SingleFlight()
    release, started = asyncio.Event(), asyncio.Event()
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return 42

    waiters = [asyncio.ensure_future(flights.run("k", fetch)) for _ in range(5)]
    await started.wait()
    release.set()
    assert await asyncio.gather(*waiters) == [42] * 5
    assert calls == 1
    assert len(flights) == 0


async def test_one_caller_cancelled_does_not_cancel_the_others() -> None:
    flights: SingleFlight[str] = SingleFlight()
    release, started = asyncio.Event(), asyncio.Event()

    async def fetch() -> str:
        started.set()
        await release.wait()
        return "answer"

    first = asyncio.ensure_future(flights.run("k", fetch))
    second = asyncio.ensure_future(flights.run("k", fetch))
    await started.wait()  # both callers are waiting on the one fetch by now
    first.cancel()
    release.set()
    assert await second == "answer"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_failure_reaches_every_caller_and_the_next_call_tries_again() -> None:
    flights: SingleFlight[str] = SingleFlight()
    attempts = 0

    async def fetch() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise OSError("down")
        return "up"

    with pytest.raises(OSError):
        await flights.run("k", fetch)
    assert await flights.run("k", fetch) == "up"


async def test_cancel_all_stops_running_fetches() -> None:
    flights: SingleFlight[str] = SingleFlight()
    never, started = asyncio.Event(), asyncio.Event()

    async def fetch() -> None:
        started.set()
        await never.wait()

    waiter = asyncio.ensure_future(flights.run("k", fetch))
    await started.wait()
    flights.cancel_all()
    with pytest.raises(asyncio.CancelledError):
        await waiter
