"""Workspace state: configs on disk that are not open, file watching, periodic re-checks.

The daemon keeps the Problems panel true for every mirrord config in the
workspace folders, open or not: it scans the folders, follows changes (the
client's file watching where it offers it, else our own watcher), re-checks
configs whose kubeconfig changed, and re-asks clusters periodically while
the editor is in use.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import time
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import to_fs_path

from mirrord_ls.cluster.recheck import (
    RULES_REVIEW_PATH,
    Activity,
    RecheckPolicy,
    fingerprint,
    is_failure,
    rules_review_body,
)
from mirrord_ls.config.files import GLOBS, config_format, is_mirrord_config
from mirrord_ls.documents import DocState, wants_cluster_check
from mirrord_ls.watch import FileWatcher, find_configs

if TYPE_CHECKING:
    from mirrord_ls.cluster.service import ClusterFacts
    from mirrord_ls.server import MirrordLanguageServer

log = logging.getLogger("mirrord_ls")

OPERATOR_PATH = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
DAY_CHECK_SECONDS = 15.0
"""The background loop looks at least this often (a local look: the schedule and the UTC
date), so a date change re-judges licences within this long after midnight UTC."""
"""mirrord's discovery reads it first (cluster/discovery.py); the re-check's sentinel."""


class Daemon:
    def __init__(self, ls: MirrordLanguageServer) -> None:
        self.ls = ls
        self.watcher: FileWatcher | None = None
        """Kubeconfigs always; workspace configs when the client cannot watch them."""
        self.client_watches = False
        """True once the client agreed to watch workspace configs for us."""
        self.last_activity = time.monotonic()
        """When the user last opened, edited or hovered (the periodic re-check rests after)."""

    # -- workspace folders ----------------------------------------------------
    def roots(self) -> list[Path]:
        return [Path(to_fs_path(f.uri) or "") for f in self.ls.workspace.folders.values()]

    def in_workspace(self, path: Path) -> bool:
        return any(path.is_relative_to(root) for root in self.roots())

    def folder_of(self, path: str | None) -> Path | None:
        if not path:
            return None
        best: Path | None = None
        for root in self.roots():
            if Path(path).is_relative_to(root) and (
                best is None or len(str(root)) > len(str(best))
            ):
                best = root
        return best

    # -- configs on disk ------------------------------------------------------
    def add_disk_config(self, path: Path) -> None:
        """Read a workspace config that is not open, and check it (push and pull)."""
        from mirrord_ls.checker import read_config_text

        ls = self.ls
        uri = path.as_uri()
        state = ls.documents.get(uri)
        if state is not None and state.is_open:
            return  # the editor's text is the truth while it is open
        text, problem = read_config_text(path)
        if state is None:
            state = DocState(uri, 0, config_format(path), is_open=False)
            ls.documents.put(state)
        state.version = (state.version or 0) + 1
        state.disk_text = text or ""
        if problem is not None:
            state.analysis = None
            state.config_findings = [problem]
            state.cluster_findings = []
            ls.publish(state, None)
            return
        ls.schedule(uri, 0)

    def forget_disk_config(self, uri: str) -> None:
        state = self.ls.documents.get(uri)
        if state is None or state.is_open:
            return
        self.ls.documents.pop(uri)
        if state.cluster_task is not None:
            state.cluster_task.cancel()
        self.ls.clear_diagnostics(uri)

    def closed(self, uri: str) -> None:
        """An open config was closed: a workspace config stays in the Problems panel, as it is
        on disk; any other file's diagnostics go."""
        path = Path(to_fs_path(uri) or "")
        if self.in_workspace(path) and is_mirrord_config(path) and path.is_file():
            self.add_disk_config(path)
        else:
            self.ls.clear_diagnostics(uri)

    async def scan(self) -> None:
        paths = await asyncio.to_thread(find_configs, self.roots())
        for path in paths:
            if path.as_uri() not in self.ls.documents:
                self.add_disk_config(path)
        self.ls.send_status()

    def folders_removed(self, removed: list[Path]) -> None:
        for root in removed:
            for state in self.ls.documents.values():
                if not state.is_open and Path(to_fs_path(state.uri) or "").is_relative_to(root):
                    self.forget_disk_config(state.uri)
        if self.watcher is not None and not self.client_watches:
            self.watcher.watch_roots(self.roots())

    def config_paths_changed(self, paths: set[Path]) -> None:
        for path in paths:
            if not self.in_workspace(path):
                continue
            if path.is_file():
                self.add_disk_config(path)
            else:
                self.forget_disk_config(path.as_uri())
        self.ls.send_status()

    def files_changed(self, paths: set[Path]) -> None:
        """From the watcher: kubeconfigs and the files they name, and (maybe) configs."""
        ls = self.ls
        configs = {p for p in paths if is_mirrord_config(p)}
        if configs:
            self.config_paths_changed(configs)
        others = paths - configs
        if not others:
            return
        affected = [
            state
            for state in ls.documents.values()
            if (state.facts is not None and others & set(state.facts.watched))
            or (state.facts is None and state.analysis is not None)
        ]
        service = ls.runs.service
        if service is not None:
            service.invalidate({s.facts.identity for s in affected if s.facts and s.facts.identity})
            service.forget_files(others)
        for state in affected:
            # Walk 1 again, forced: the walk asks `wants_cluster_check` (cluster checks may
            # be off), and marks the old verdict while the cluster is asked anew.
            ls.schedule(state.uri, 0, force=True)

    # -- watching -------------------------------------------------------------
    def update_watches(self) -> None:
        if self.watcher is None:
            return
        files: set[Path] = set()
        for state in self.ls.documents.values():
            if state.facts is not None:
                files.update(state.facts.watched)
        if not files:
            from mirrord_ls.cluster.kubeconfig import KubeconfigOrigin, kubeconfig_paths

            source = kubeconfig_paths(None, None, os.environ, Path.home())
            if source.origin is not KubeconfigOrigin.MIRRORD_ENV:
                files.update(source.paths)
        self.watcher.watch_files(files)

    async def watch_kubeconfigs(self) -> None:
        """Watch the kubeconfigs before the first check is published: a rewrite right after
        is then never missed (the module that finds them is imported off the event loop)."""
        await asyncio.to_thread(importlib.import_module, "mirrord_ls.cluster.kubeconfig")
        if self.watcher is None:
            self.watcher = FileWatcher(asyncio.get_running_loop(), self.files_changed)
        self.update_watches()

    async def start_watching(self) -> None:
        ls = self.ls
        if self.watcher is None:
            self.watcher = FileWatcher(asyncio.get_running_loop(), self.files_changed)
        ws = ls.client_capabilities.workspace
        dynamic = bool(
            ws and ws.did_change_watched_files and ws.did_change_watched_files.dynamic_registration
        )
        if dynamic:
            try:
                await asyncio.wait_for(
                    ls.client_register_capability_async(
                        types.RegistrationParams(
                            registrations=[
                                types.Registration(
                                    id="mirrord-ls-configs",
                                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                                        watchers=[
                                            types.FileSystemWatcher(glob_pattern=g) for g in GLOBS
                                        ]
                                    ),
                                )
                            ]
                        )
                    ),
                    5,
                )
                self.client_watches = True
            except Exception as exc:  # then we watch ourselves
                log.info("client refused file watching: %s", exc)
        if not self.client_watches:
            self.watcher.watch_roots(self.roots())
        self.update_watches()

    def activity(self) -> Activity:
        """Focused: the client's active editor is a mirrord config (`mirrord/activeDocument`
        without a uri says it is not; a client that never says keeps the last opened)."""
        return Activity(
            focused=self.ls.active_uri is not None,
            idle_seconds=time.monotonic() - self.last_activity,
        )

    async def recheck_loop(self) -> None:
        """Re-ask the clusters in the background, so cluster-side changes show without user
        action: per cluster identity one sentinel read per period (jittered, stretched while
        the editor rests, backed off while failing); the full preflight only when the
        sentinel's answer changed. The policy and its reasons: `cluster/recheck.py`."""
        policy: RecheckPolicy | None = None
        while True:
            period = self.ls.settings.cluster.recheckSeconds
            # A local look at the schedule; no request unless something is due.
            await asyncio.sleep(
                min(period / 4, DAY_CHECK_SECONDS) if period > 0 else DAY_CHECK_SECONDS
            )
            try:
                policy = await self.recheck_once(policy)
            except Exception:  # one bad look never ends the background re-check
                log.exception("background re-check failed; it goes on at the next look")

    async def recheck_once(self, policy: RecheckPolicy | None) -> RecheckPolicy | None:
        """One look: re-judge on a new day; ask the sentinel of each identity that is due."""
        ls = self.ls
        self.rejudge_if_new_day()
        period = ls.settings.cluster.recheckSeconds
        if period <= 0:
            return policy
        if policy is None or policy.period != period:
            policy = RecheckPolicy(period)
        now = time.monotonic()
        # Each document with the facts it had now: the sentinel's awaits may let a
        # document close or be edited meanwhile (its facts then go), never under our feet.
        by_identity: dict[Hashable, list[tuple[DocState, ClusterFacts]]] = {}
        for s in ls.documents.values():
            if s.is_open and s.facts is not None and s.facts.identity is not None:
                if wants_cluster_check(ls.settings_for(s.uri), s):
                    by_identity.setdefault(s.facts.identity, []).append((s, s.facts))
        for key in list(policy.entries):
            if key not in by_identity:
                policy.forget(key)
        for key in by_identity:
            policy.track(key, now)
        activity = self.activity()
        for key in policy.due(now, activity):
            states = by_identity[key]
            changed = await self.sentinel(policy, key, states[0][1], activity)
            if changed:
                for state, _facts in states:
                    if ls.documents.get(state.uri) is not state or not state.is_open:
                        continue  # closed meanwhile
                    if state.cluster_task is not None and not state.cluster_task.done():
                        continue  # still answering: a forced start would cancel it
                    ls.runs.start(state, force=True)
        return policy

    def rejudge_if_new_day(self) -> list[DocState]:
        """Licence dates are judged on the UTC date (client.rs `check_license_validity`
        compares with today's date): once the date changed, each open config judged on an
        earlier day is judged again over the cached facts, whatever their age, so a licence
        that ends at midnight shows as expired without a request (`rejudge`)."""
        ls = self.ls
        judged = [
            s
            for s in ls.documents.values()
            if s.is_open and s.facts is not None and s.facts.judged_on is not None
        ]
        if not judged:
            return []  # no cluster check ran: nothing to re-judge (and no service to start)
        today = ls.runs.cluster_service().clock()
        started = []
        for state in judged:
            assert state.facts is not None and state.facts.judged_on is not None
            if state.facts.judged_on >= today:
                continue
            if state.cluster_task is not None and not state.cluster_task.done():
                continue  # running: the next look re-judges it if it began yesterday
            ls.runs.start(state, rejudge=True)
            started.append(state)
        return started

    async def sentinel(
        self, policy: RecheckPolicy, key: Hashable, facts: ClusterFacts, activity: Activity
    ) -> bool:
        """One cheap read for `key` (with `facts`, a document's last cluster facts); True
        when the full preflight must run again."""
        service = self.ls.runs.cluster_service()
        status: int | None = None
        body: Any = None
        oss = facts.operator_setting is False
        if facts.resolved is not None and facts.trust is not None:
            try:
                conn = await service.connection(facts.resolved, facts.trust, dict(os.environ))
                if oss:
                    namespace = facts.resolved.namespace or "default"
                    response = await conn.request(
                        "POST", RULES_REVIEW_PATH, body=rules_review_body(namespace), timeout=5.0
                    )
                else:
                    response = await conn.request("GET", OPERATOR_PATH, timeout=5.0)
                status, body = response.status, response.json()
            except Exception as exc:  # no answer: a failure that backs off
                log.debug("re-check sentinel for %s: %s", facts.context, exc)
        now = time.monotonic()
        first = policy.entries[key].fingerprint is None
        changed = policy.observed(key, fingerprint(status, body), is_failure(status), now, activity)
        if first:
            # No sentinel answer to compare with yet: compare with the full check's own
            # answer where it has one (the operator GET's status), else check in full once.
            verdict = facts.verdict
            return oss or verdict is None or verdict.status != status
        return changed

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
