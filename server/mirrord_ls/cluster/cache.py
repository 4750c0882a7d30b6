"""The two primitives every cluster cache is built from: `TtlCache` and `SingleFlight`.

`TtlCache` is a bounded map whose entries each carry their own expiry (a
verdict's lifetime depends on the answer: five minutes for a clear one,
seconds with backoff for a passing failure). Expired entries are not served
by `get`, but stay readable through `peek` until evicted: completion shows
the last known listing at once, and the periodic re-check reads how often a
cluster already failed. The oldest entries go first once `maxsize` is
reached, so a daemon that runs for days stays bounded.

`SingleFlight` runs one fetch per key at a time, in a task of its own: every
caller awaits the same answer, and one caller giving up (a newer edit
cancelled it) never cancels what the others wait for.

Hand-written rather than taken from a library: cachetools' TTL caches drop an
entry the moment it expires (we serve stale listings and keep failure counts
past expiry) and are not asyncio-aware; async-lru and aiocache bind one TTL
to a decorated function, where ours varies by answer and is invalidated by
cluster identity. Each class is a few dozen lines with its own tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


@dataclass(slots=True)
class Entry(Generic[V]):
    value: V
    expires: float
    stored: float = field(default_factory=time.monotonic)


class TtlCache(Generic[K, V]):
    """A bounded map of entries with an expiry each; oldest evicted first."""

    def __init__(self, maxsize: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.maxsize = maxsize
        self._clock = clock
        self._entries: dict[K, Entry[V]] = {}

    def get(self, key: K, *, stale_ok: bool = False) -> V | None:
        """The value, unless absent or expired (`stale_ok`: expired or not)."""
        entry = self.live(key, stale_ok=stale_ok)
        return entry.value if entry is not None else None

    def live(self, key: K, *, stale_ok: bool = False) -> Entry[V] | None:
        """The entry unless absent or expired (for values that may be None); `stale_ok`
        returns an expired one too."""
        entry = self._entries.get(key)
        if entry is None or (not stale_ok and entry.expires <= self._clock()):
            return None
        return entry

    def peek(self, key: K) -> Entry[V] | None:
        """The entry, expired or not (its value, expiry and when it was stored)."""
        return self._entries.get(key)

    def put(self, key: K, value: V, ttl: float) -> None:
        now = self._clock()
        self._entries.pop(key, None)  # re-inserted last: the newest
        self._entries[key] = Entry(value, now + ttl, now)
        while len(self._entries) > self.maxsize:
            del self._entries[next(iter(self._entries))]

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def drop_where(self, predicate: Callable[[K], bool]) -> None:
        for key in [k for k in self._entries if predicate(k)]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._entries))


class SingleFlight(Generic[K]):
    """One fetch per key at a time; callers share its answer, and their cancellation."""

    def __init__(self) -> None:
        self._running: dict[K, asyncio.Task[object]] = {}

    async def run(self, key: K, fetch: Callable[[], Awaitable[T]]) -> T:
        pending = self._running.get(key)
        if pending is None:

            async def call() -> object:
                return await fetch()

            pending = asyncio.get_running_loop().create_task(call(), name=f"fetch:{key!r}"[:80])
            self._running[key] = pending
            pending.add_done_callback(lambda t: self._drop(key, t))
        # shield: this caller's cancellation leaves the fetch running for the others.
        result = await asyncio.shield(pending)
        return result  # type: ignore[return-value]

    def _drop(self, key: K, task: asyncio.Task[object]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: a failure nobody awaited is not logged as lost

    def cancel_all(self) -> None:
        """Shutdown: stop every fetch still running."""
        for task in list(self._running.values()):
            task.cancel()

    def __len__(self) -> int:
        return len(self._running)
