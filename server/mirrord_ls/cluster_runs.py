"""Cluster checks of documents: start one, cancel a stale one, say when one is slow.

One cluster check per document at a time: a newer text cancels the check of
an older one (its answer would be stale), and so does a forced check (the
user's re-check, a kubeconfig or context change): the last write wins, so a
forced check never joins one that began before it. A check's progress token
is forgotten when it ends (pygls keeps every token otherwise, and with it the
cancel callback holding the finished check). A check that takes more than a
moment marks the verdicts still on screen as being re-checked, and reports
progress where the client shows it. The walk itself is
`ClusterService.check`; this module only runs it for the server's documents.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import to_fs_path

from mirrord_ls.documents import DocState
from mirrord_ls.findings import Finding

if TYPE_CHECKING:
    from mirrord_ls.cluster.service import ClusterService
    from mirrord_ls.config.analyze import Analysis
    from mirrord_ls.server import MirrordLanguageServer

SLOW_CHECK_SECONDS = 0.2
"""After this, kept verdicts are marked "(re-checking...)" and progress is shown."""
RECHECKING = " (re-checking...)"


def mark_rechecking(findings: list[Finding]) -> None:
    """Verdicts kept on screen while the cluster is asked again say so (never look fresh)."""
    for finding in findings:
        if not finding.data.get("rechecking"):
            finding.data["rechecking"] = True
            finding.message += RECHECKING


class ClusterRuns:
    def __init__(self, ls: MirrordLanguageServer) -> None:
        self.ls = ls
        self.service: ClusterService | None = None
        """Created on first use, so start-up stays light."""
        self.busy = 0
        """Cluster checks running now."""
        self._tokens = itertools.count(1)

    def cluster_service(self) -> ClusterService:
        timeout = self.ls.settings.cluster.timeoutSeconds
        if self.service is None:
            # Imported on first use: the Kubernetes stack is off the start path (issue 17).
            from mirrord_ls.cluster.service import ClusterService

            self.service = ClusterService(timeout=timeout)
        self.service.timeout = timeout
        return self.service

    def start(
        self, state: DocState, force: bool = False, rejudge: bool = False
    ) -> asyncio.Task[None]:
        """Check `state`'s config against its cluster. `force`: read every fact afresh;
        `rejudge`: judge the cached facts again whatever their age (the UTC date changed:
        licence dates), asking only for what was never read."""
        running = state.cluster_task
        if running is not None and not running.done():
            if state.cluster_analysis is state.analysis and not force and not rejudge:
                return running  # already checking this very text: that answer is fresh
            # Checking an older text, or asked afresh (the kubeconfig or context may have
            # changed since it began): its answer would be stale.
            running.cancel()
        task = self.ls.tasks.start(self._run(state, force, rejudge), f"cluster:{state.uri}")
        state.cluster_task = task
        state.cluster_analysis = state.analysis

        def ended(done: asyncio.Task[None]) -> None:
            if state.cluster_task is done:  # a finished check is not kept alive
                state.cluster_task, state.cluster_analysis = None, None

        task.add_done_callback(ended)
        return task

    async def _run(self, state: DocState, force: bool, rejudge: bool = False) -> None:
        analysis = state.analysis
        if analysis is None:
            return
        inner = asyncio.ensure_future(self._check(state, analysis, force, rejudge))
        try:
            try:
                await asyncio.wait_for(asyncio.shield(inner), SLOW_CHECK_SECONDS)
                return
            except TimeoutError:
                pass
            # A slow check: say so. Kept verdicts are marked as being re-checked, never fresh.
            if state.cluster_findings and state.analysis is analysis:
                mark_rechecking(state.cluster_findings)
                self.ls.publish(state)
            token = await self.begin_progress(state, inner)
            try:
                await inner
            finally:
                if token is not None:
                    self.end_progress(token)
        finally:
            inner.cancel()  # cancelled ourselves (newer text, shutdown): so is the check

    async def begin_progress(self, state: DocState, task: asyncio.Future[None]) -> str | None:
        window = self.ls.client_capabilities.window
        if not (window and window.work_done_progress) or self.ls.stopping:
            return None
        token = f"mirrord-ls-check-{next(self._tokens)}"
        tokens = self.ls.work_done_progress.tokens
        created = asyncio.ensure_future(self.ls.work_done_progress.create_async(token))

        def unused(f: asyncio.Future[Any]) -> None:
            # pygls files the token when the client answers, however late: never begun, it
            # is forgotten then (else every such token stayed for the life of the process).
            tokens.pop(token, None)
            if not f.cancelled():
                f.exception()  # retrieved: a refusal is not an error worth logging

        try:
            done, _ = await asyncio.wait({created}, timeout=2)
        except asyncio.CancelledError:  # the check was replaced while the client answered
            created.add_done_callback(unused)
            raise
        if not done or created.exception() is not None or self.ls.stopping:
            # A busy or refusing client still gets its diagnostics; the late answer is
            # left to pygls (cancelling its future would make it fail on that answer).
            created.add_done_callback(unused)
            return None
        name = Path(to_fs_path(state.uri) or state.uri).name
        self.ls.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title="mirrord-ls", message=f"checking the cluster of {name}", cancellable=True
            ),
        )
        cancelled = self.ls.work_done_progress.tokens.get(token)
        if cancelled is not None:
            cancelled.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        return token

    def end_progress(self, token: str) -> None:
        """End the progress and forget its token (and the cancel callback on it)."""
        if not self.ls.stopping:
            self.ls.work_done_progress.end(token, types.WorkDoneProgressEnd())
        self.ls.work_done_progress.tokens.pop(token, None)

    async def settled(self, state: DocState) -> None:
        """Wait until the latest cluster check of `state` ended (a check replaced meanwhile
        by a newer one is followed to that one)."""
        while (task := state.cluster_task) is not None and not task.done():
            await asyncio.wait({task})

    async def _check(
        self, state: DocState, analysis: Analysis, force: bool, rejudge: bool = False
    ) -> None:
        ls = self.ls
        inputs = state.inputs
        if inputs is None:
            return
        path = to_fs_path(state.uri)
        folders = tuple(ls.daemon.roots())
        folder = ls.daemon.folder_of(path) or (Path(path).parent if path else None)
        self.busy += 1
        ls.send_status()
        try:
            result = await self.cluster_service().check(
                inputs,
                config_path=Path(path) if path else None,
                workspace_folder=folder,
                workspace_folders=folders,
                trusted=ls.trusted(),
                force=force,
                rejudge=rejudge,
            )
        finally:
            self.busy -= 1
        if ls.documents.get(state.uri) is not state or state.analysis is not analysis:
            ls.send_status()
            return  # the config changed while the cluster answered: this verdict is stale
        state.cluster_findings = result.findings
        state.facts = result.facts
        ls.publish(state)
        ls.send_status()
        ls.daemon.update_watches()

    def close(self) -> None:
        if self.service is not None:
            self.service.close()
