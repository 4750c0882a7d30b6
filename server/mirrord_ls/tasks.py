"""Background tasks the server starts: kept referenced, failures logged, cancelled at shutdown.

asyncio keeps only weak references to tasks, so a task nobody holds may be
collected mid-flight; and a failure nobody awaits is lost. `Tasks.start` holds
each task until it ends and logs its failure (never its cancellation);
`Tasks.cancel_all` is the shutdown path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger("mirrord_ls")
T = TypeVar("T")


class Tasks:
    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_change = on_change
        self.closed = False

    def start(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Start a background task, keep a reference, and log (not lose) its failure."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        if self.closed:
            task.cancel()  # shutting down: nothing new runs
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("task %s failed", name, exc_info=t.exception())
            if self._on_change is not None and not self.closed:
                self._on_change()

        task.add_done_callback(done)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    def names(self) -> list[str]:
        """The names of the tasks still running (leak tests read them)."""
        return [t.get_name() for t in self._tasks]

    def cancel_all(self) -> list[asyncio.Task[Any]]:
        """Shutdown: cancel every task; returns them (to wait for, bounded)."""
        self.closed = True
        running = list(self._tasks)
        for task in running:
            task.cancel()
        return running
