"""What the server holds on to, for leak tests and the soak benchmark (not for users).

With `MIRRORD_LS_INTERNALS=1` in its environment the server answers the command
`mirrord-ls.internals` with counts of what should drop to nothing once the work is
done: progress tokens, its own background tasks by kind, finished asyncio tasks
still alive, requests to the client still awaiting an answer, pending text walks,
running cluster checks. With `MIRRORD_LS_TRACEMALLOC=1` too, the answer also
lists the allocation sites that grew most since the previous call (`tracemalloc`).
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import os
import tracemalloc
import types
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mirrord_ls.server import MirrordLanguageServer

COMMAND = "mirrord-ls.internals"
TOP_SITES = 15


def _holder(referrer: object) -> str:
    """What keeps a finished task alive, in words (a frame by its function)."""
    if isinstance(referrer, types.FrameType):
        return f"frame:{referrer.f_code.co_name}"
    if isinstance(referrer, asyncio.Task):
        return f"task:{referrer.get_name()[:40]}"
    return type(referrer).__name__


def enabled() -> bool:
    return os.environ.get("MIRRORD_LS_INTERNALS") == "1"


class Internals:
    def __init__(self, ls: MirrordLanguageServer) -> None:
        self.ls = ls
        self._snapshot: tracemalloc.Snapshot | None = None
        if os.environ.get("MIRRORD_LS_TRACEMALLOC") == "1" and not tracemalloc.is_tracing():
            tracemalloc.start(8)

    def report(self, *args: Any) -> dict[str, Any]:
        """The counts; `{"advanceDays": n}` first moves the cluster checks' UTC clock n
        days on (tests of the midnight re-judgement: never for users)."""
        ls = self.ls
        options = args[0] if args and isinstance(args[0], dict) else {}
        days = options.get("advanceDays")
        if isinstance(days, int) and not isinstance(days, bool):
            from mirrord_ls.cluster.checks.base import utc_today

            offset = datetime.timedelta(days=days)
            ls.runs.cluster_service().clock = lambda: utc_today() + offset
        gc.collect()
        finished = [o for o in gc.get_objects() if isinstance(o, asyncio.Task) and o.done()]
        holders = Counter(
            _holder(r) for t in finished for r in gc.get_referrers(t) if r is not finished
        )
        kinds = Counter(name.split(":", 1)[0] for name in ls.tasks.names())
        out: dict[str, Any] = {
            "progressTokens": len(ls.work_done_progress.tokens),
            "tasks": dict(kinds),
            "asyncioTasks": len(asyncio.all_tasks()),
            "finishedTasksAlive": len(finished),
            "finishedTaskNames": sorted(t.get_name() for t in finished),
            "finishedTaskHolders": dict(holders),
            # Requests handled or awaiting the client's answer (this request is one).
            "requestsAwaitingClient": len(ls.protocol._request_futures),
            "pendingWalks": len(ls.debounce),
            "runningClusterChecks": sum(
                1
                for s in ls.documents.values()
                if s.cluster_task is not None and not s.cluster_task.done()
            ),
            "documents": len(ls.documents),
        }
        if tracemalloc.is_tracing():
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            if self._snapshot is not None:
                stats = snapshot.compare_to(self._snapshot, "traceback")[:TOP_SITES]
                out["growth"] = [
                    {
                        "kB": round(s.size_diff / 1024, 1),
                        "count": s.count_diff,
                        "where": s.traceback.format()[-6:],
                    }
                    for s in stats
                ]
            self._snapshot = snapshot
            out["tracedKB"] = round(tracemalloc.get_traced_memory()[0] / 1024)
        return out
