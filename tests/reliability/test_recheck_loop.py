"""The background re-check survives documents that change under it (soak finding: a config
closed while another identity's sentinel was being answered had its facts cleared, the next
sentinel asserted on them, and the whole re-check task ended for the rest of the session)."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from mirrord_ls.cluster.recheck import RecheckPolicy
from mirrord_ls.cluster.service import ClusterFacts
from mirrord_ls.daemon import Daemon
from mirrord_ls.documents import DocState
from mirrord_ls.settings import ClusterSettings, Settings


class Service:
    """Answers no sentinel until released (the first awaits; the test acts meanwhile)."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.release = asyncio.Event()
        self.calls = 0

    def clock(self) -> datetime.date:
        return datetime.datetime.now(datetime.UTC).date()

    async def connection(self, resolved: Any, trust: Any, env: Any) -> Any:
        self.calls += 1
        self.asked.set()
        await self.release.wait()
        raise ConnectionError("no cluster here")


def doc(uri: str, identity: str) -> DocState:
    state = DocState(uri, 1, "json")
    state.analysis = object()  # type: ignore[assignment]  # wants_cluster_check: analysed
    state.facts = ClusterFacts(
        context=identity,
        identity=identity,  # type: ignore[arg-type]
        resolved=object(),  # type: ignore[arg-type]
        trust=object(),  # type: ignore[arg-type]
    )
    return state


async def test_a_document_closed_during_a_sentinel_does_not_end_the_recheck(
    tmp_path: Path,
) -> None:
    settings = Settings(cluster=ClusterSettings(recheckSeconds=4))
    service = Service()
    started: list[DocState] = []
    a, b = doc("file:///a-mirrord.json", "cluster-a"), doc("file:///b-mirrord.json", "cluster-b")
    ls = SimpleNamespace(
        settings=settings,
        settings_for=lambda uri: settings,
        documents={a.uri: a, b.uri: b},
        active_uri=a.uri,
        runs=SimpleNamespace(
            cluster_service=lambda: service,
            start=lambda state, force=False, rejudge=False: started.append(state),
        ),
    )
    daemon = Daemon(ls)  # type: ignore[arg-type]
    policy = RecheckPolicy(4)
    for key in ("cluster-a", "cluster-b"):
        policy.track(key, 0.0)
        policy.entries[key].next_at = 0.0  # both due now
    look = asyncio.ensure_future(daemon.recheck_once(policy))
    await asyncio.wait_for(service.asked.wait(), 30)
    # While the first sentinel waits: both configs are closed; their facts go.
    for state in (a, b):
        state.facts, state.is_open = None, False
        del ls.documents[state.uri]
    service.release.set()
    kept = await asyncio.wait_for(look, 30)
    assert kept is policy
    assert service.calls == 2  # the second identity's sentinel still ran, on its snapshot
    assert started == []  # closed documents are not checked again
