"""The record of every request the loopback server saw, for tests to assert on.

A request is recorded when it arrives (so a test can wait for a request that
will hang) and completed with its status when answered. Waiting uses a
`threading.Condition`, never polling. Headers and bodies are not kept: they
may carry credentials.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mirrord_ls.loopback.matching import PathPattern, method_matches, path_matches


@dataclass
class RequestRecord:
    """One request. `status` stays None until answered (or forever, for a hang or reset)."""

    method: str
    path: str
    query: dict[str, list[str]]
    user: str | None = None
    status: int | None = None
    fault: str | None = None
    time: float = field(default_factory=time.time)
    """Wall-clock arrival time (seconds since the epoch)."""


class RequestLog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> RequestRecord:
        with self._cond:
            self._records.append(record)
            self._cond.notify_all()
        return record

    def update(self, record: RequestRecord, **changes: object) -> None:
        """Change a record's fields under the lock and wake waiters (status may matter to them)."""
        with self._cond:
            for key, value in changes.items():
                setattr(record, key, value)
            self._cond.notify_all()

    def records(self) -> list[RequestRecord]:
        with self._cond:
            return list(self._records)

    def clear(self) -> None:
        with self._cond:
            self._records.clear()

    def _predicate(
        self,
        path: PathPattern | None,
        method: str | None,
        status: int | None,
        answered: bool,
    ) -> Callable[[RequestRecord], bool]:
        def match(r: RequestRecord) -> bool:
            return (
                path_matches(path, r.path)
                and method_matches(method, r.method)
                and (status is None or r.status == status)
                and (not answered or r.status is not None)
            )

        return match

    def matching(
        self,
        path: PathPattern | None = None,
        method: str | None = None,
        *,
        status: int | None = None,
        answered: bool = False,
    ) -> list[RequestRecord]:
        """Records whose path matches (exact, glob or regex), optionally by method/status."""
        pred = self._predicate(path, method, status, answered)
        with self._cond:
            return [r for r in self._records if pred(r)]

    def count(
        self,
        path: PathPattern | None = None,
        method: str | None = None,
        *,
        status: int | None = None,
        answered: bool = False,
    ) -> int:
        return len(self.matching(path, method, status=status, answered=answered))

    def wait_for(
        self,
        n: int,
        path: PathPattern | None = None,
        method: str | None = None,
        *,
        status: int | None = None,
        answered: bool = False,
        timeout: float = 10.0,
    ) -> list[RequestRecord]:
        """Block until at least `n` matching requests were seen; TimeoutError after `timeout`."""
        pred = self._predicate(path, method, status, answered)

        def enough() -> bool:
            return sum(1 for r in self._records if pred(r)) >= n

        with self._cond:
            if not self._cond.wait_for(enough, timeout=timeout):
                seen = sum(1 for r in self._records if pred(r))
                raise TimeoutError(f"saw {seen} of {n} requests matching {path!r} in {timeout}s")
            return [r for r in self._records if pred(r)]
