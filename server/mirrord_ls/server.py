"""The language server: typed state, the text walk, publishing, and lifecycles.

`create_server()` builds a server and wires the handlers (`handlers.py`) to
it; there is no module-level server. The rooms it owns: `documents.py`
(document state), `daemon.py` (workspace configs, watching, periodic
re-checks), `cluster_runs.py` (cluster checks of documents), `tasks.py`
(background tasks). Conversion to LSP types is `lsp_convert.py`'s; the custom
protocol is `protocol.py`'s.

Lifecycle: `initialized` loads settings, then starts watching and scanning;
`shutdown` (and `exit`, and the end of the input stream) cancels every task,
stops the watcher, closes every cluster connection (removing the files it
wrote), and sends nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from mirrord_ls import __version__
from mirrord_ls import protocol as proto
from mirrord_ls.cluster.inputs import from_analysis
from mirrord_ls.cluster_runs import ClusterRuns, mark_rechecking
from mirrord_ls.config import schema as schema_mod
from mirrord_ls.daemon import Daemon
from mirrord_ls.documents import (
    DocState,
    Documents,
    ResultIds,
    analysis_of,
    wants_cluster_check,
    wrong_extension,
)
from mirrord_ls.features.status import build_status
from mirrord_ls.jsonrpc import MirrordProtocol
from mirrord_ls.lsp_convert import Encoding, Positions, encoding_of, positions_of, to_diagnostics
from mirrord_ls.settings import ScopedSettings, Settings, parse_settings
from mirrord_ls.tasks import Tasks

if TYPE_CHECKING:
    from mirrord_ls.config.analyze import Analysis
    from mirrord_ls.config.schema import Schema

log = logging.getLogger("mirrord_ls")

DEBOUNCE_SECONDS = 0.15
CACHED_VERDICT_WAIT = 0.05
"""How long the text walk waits for the cluster before publishing the file's findings alone
(a cached verdict answers well within it, and is published together with them)."""
READY_TIMEOUT = 10.0
_SCHEMA_CODES = frozenset({"unknown-field", "invalid-value", "missing-field", "deprecated"})


class ServerProtocol(MirrordProtocol):
    """The wire protocol, minus a pygls 2.1 leak.

    pygls files the future of every handler it runs in `_request_futures` (a client
    request's under its id; a notification's, and each step of its built-in generator
    handlers, under a fresh uuid) but removes only the requests' ones: every didChange,
    didOpen, configuration change... left a finished future (and an asyncio task, with
    what it held) behind for the life of the process. Each entry goes when its handler ends.
    """

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Any,
        callback: Any,
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (never while serving): pygls' own behaviour
            return super()._execute_handler(msg_id, handler, callback, args, kwargs)

        def forget(future: Any) -> None:
            if self._request_futures.get(msg_id) is future:
                del self._request_futures[msg_id]

        def done(future: Any) -> None:
            callback(future)
            # Later, on the loop: a future cancelled while pygls walks the dict (shutdown
            # cancels them all) calls this at once, and a thread handler's from its thread.
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to keep
                loop.call_soon_threadsafe(forget, future)

        return super()._execute_handler(msg_id, handler, done, args, kwargs)


class MirrordLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("mirrord-ls", __version__, protocol_cls=ServerProtocol)
        self.scoped = ScopedSettings()
        """The workspace's settings and each folder's; replaced whole on every change."""
        self.settings_loaded = False
        self.schema: Schema = schema_mod.builtin_schema()
        """The schema every check uses (configured, published or built-in)."""
        self.schema_problem: str | None = None
        self.init_options: dict[str, Any] = {}
        self.pull_mode = False
        """True when the client pulls diagnostics (textDocument/diagnostic)."""
        self.refresh_support = False
        self.ready = asyncio.Event()
        """Set once the first settings (and so the schema) are loaded: checks wait for it,
        so a document opened at start-up is never judged against the wrong schema."""
        self.documents = Documents()
        self.tasks = Tasks()
        self.runs = ClusterRuns(self)
        self.daemon = Daemon(self)
        self.result_ids = ResultIds()
        self.debounce: dict[str, asyncio.Task[None]] = {}
        """The pending text walk of each document."""
        self.active_uri: str | None = None
        """The document the status is about (the client's active editor, else the last opened)."""
        self._last_status: proto.Status | None = None
        self._shown_messages: set[str] = set()
        self._settings_problems: set[str] = set()
        """The settings problems already shown: each is shown once, not on every change."""
        self.stopping = False
        """Set by shutdown: nothing more is sent, nothing new starts."""

    # -- settings and schema -----------------------------------------------
    @property
    def settings(self) -> Settings:
        """The workspace's settings (the schema, timeouts and trust are workspace-wide)."""
        return self.scoped.default

    def settings_for(self, uri: str | None) -> Settings:
        """The settings of the folder holding `uri` (multi-root workspaces may differ)."""
        path = to_fs_path(uri) if uri else None
        return self.scoped.for_path(Path(path) if path else None)

    def schema_findings_wanted(self, state: DocState) -> bool:
        if state.fmt != "json":
            return True
        settings = self.settings_for(state.uri)
        mode = settings.schemaDiagnostics.json
        if mode == "auto":
            official = settings.officialExtensionInstalled
            if official is None:  # a client that does not say it live
                official = bool(self.init_options.get("officialExtensionInstalled"))
            return not official
        return mode == "on"

    def trusted(self) -> bool:
        return (
            bool(self.init_options.get("workspaceTrusted"))
            or self.settings.trustWorkspaceKubeconfigs
        )

    async def load_settings(self, pushed: Any = None) -> None:
        """Read settings: pulled through workspace/configuration where the client can,
        else from the didChangeConfiguration payload or the initialization options."""
        raw: Any = None
        per_folder: dict[Path, Any] = {}
        caps = self.client_capabilities
        if caps.workspace and caps.workspace.configuration:
            folders = list(self.workspace.folders.values())
            items = [types.ConfigurationItem(section="mirrordLs")] + [
                types.ConfigurationItem(scope_uri=f.uri, section="mirrordLs") for f in folders
            ]
            try:
                result = await asyncio.wait_for(
                    self.workspace_configuration_async(types.ConfigurationParams(items=items)),
                    timeout=5,
                )
                result = list(result or [])
                raw = result[0] if result else None
                for folder, value in zip(folders, result[1:], strict=False):
                    if value is not None:
                        per_folder[Path(to_fs_path(folder.uri) or "")] = value
            except (TimeoutError, Exception) as exc:  # a client bug must not stop the server
                log.warning("could not read settings: %s", exc)
        elif isinstance(pushed, dict) and isinstance(pushed.get("mirrordLs"), dict):
            raw = pushed["mirrordLs"]
        else:
            raw = self.init_options.get("settings")
        await self.apply_settings(raw, per_folder)

    async def apply_settings(self, raw: Any, per_folder: dict[Path, Any] | None = None) -> None:
        settings, problems = parse_settings(raw)
        scoped = ScopedSettings(settings)
        for folder, value in (per_folder or {}).items():
            if value == raw:
                continue  # the folder says nothing of its own
            scoped.folders[folder], more = parse_settings(value)
            problems += [p for p in more if p not in problems]
        # Each problem once: a client sends a configuration change for every keystroke in
        # its settings editor, and a pop-up each time buried the editor. A problem fixed and
        # made again is shown again.
        for problem in problems:
            if problem not in self._settings_problems:
                self.show_message(types.MessageType.Warning, f"mirrord-ls: {problem}")
        self._settings_problems = set(problems)
        schema_changed = settings.schema != self.settings.schema or not self.settings_loaded
        self.scoped = scoped
        self.settings_loaded = True
        if schema_changed:
            await self.reload_schema()
        if self.ready.is_set():
            self.recheck_all()
        self.ready.set()

    async def reload_schema(self) -> None:
        configured = self.settings.schema or None
        schema, problem = await asyncio.to_thread(schema_mod.initial_schema, configured)
        self.schema, self.schema_problem = schema, problem
        if problem:
            self.show_message(types.MessageType.Warning, problem)
        if not configured:
            self.tasks.start(self._refresh_published(), "schema-refresh")

    async def _refresh_published(self) -> None:
        fresh = await asyncio.to_thread(schema_mod.refresh_published)
        if fresh is not None and not self.settings.schema:
            self.schema = fresh
            log.info("using %s", fresh.label)
            self.recheck_all()

    async def wait_ready(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), READY_TIMEOUT)

    # -- positions ---------------------------------------------------------------
    @property
    def encoding(self) -> Encoding:
        """The position encoding chosen at `initialize` (pygls picks the client's first
        offered of utf-8/utf-16/utf-32, else utf-16, and declares it in the capabilities)."""
        return encoding_of(self.workspace.position_encoding)

    def positions(self, text: str) -> Positions:
        """Offsets <-> positions of `text` in the negotiated encoding: every range, edit and
        cursor the server sends or reads goes through this."""
        return positions_of(text, self.encoding)

    # -- the text walk: text → analysis → findings (→ cluster) → publish -------------
    def current_text(self, state: DocState) -> tuple[str, int | None]:
        if state.is_open:
            document = self.workspace.get_text_document(state.uri)
            return document.source, document.version
        return state.disk_text or "", state.version

    async def analysis_now(self, uri: str) -> Analysis | None:
        """The analysis of the document's current text (analysed now if need be)."""
        await self.wait_ready()
        state = self.documents.get(uri)
        if state is None or state.fmt is None:
            return None
        text, version = self.current_text(state)
        return await analysis_of(state, text, version, self.schema)

    async def check_document(self, uri: str, force: bool = False) -> None:
        """Walk 1 for `uri`; `force` asks the cluster afresh (the user's re-check, or a
        kubeconfig changed) and marks the verdicts on screen until it answers."""
        await self.wait_ready()
        state = self.documents.get(uri)
        if state is None:
            return
        text, version = self.current_text(state)
        if state.fmt is None:
            state.analysis = None
            state.config_findings = [wrong_extension()]
            self.publish(state, version)
            return
        analysis = await analysis_of(state, text, version, self.schema, fresh=True)
        if self.documents.get(uri) is not state or (
            state.is_open and self.current_text(state)[1] != version
        ):
            return  # a newer edit (or a close) arrived meanwhile: this result is stale
        findings = analysis.findings
        if not self.schema_findings_wanted(state):
            findings = [f for f in findings if f.code not in _SCHEMA_CODES]
        state.analysis = analysis
        state.inputs = from_analysis(analysis)
        state.config_findings = findings
        state.version = version
        if not wants_cluster_check(self.settings_for(uri), state):
            state.cluster_findings, state.facts, state.cluster_key = [], None, None
            self.publish(state, version)
            self.send_status()
            return
        key = state.inputs.cluster_key
        if key != state.cluster_key:
            # Another cluster (or another setting): the old verdict says nothing about it.
            state.cluster_findings, state.facts = [], None
        elif force:
            # Same config, the cluster asked again (maybe another one now, if the kubeconfig
            # changed): until it answers, the old verdict shows, marked as being re-checked.
            mark_rechecking(state.cluster_findings)
        else:
            # Same cluster, moved text: the previous spans may be off; they come back shortly.
            state.cluster_findings = []
        state.cluster_key = key
        task = self.runs.start(state, force=force)
        try:
            # A cached verdict answers at once: publish everything together.
            await asyncio.wait_for(asyncio.shield(task), CACHED_VERDICT_WAIT)
        except TimeoutError:
            self.publish(state, version)  # the file's own findings now, the cluster's later
            self.send_status()

    def schedule(self, uri: str, delay: float, force: bool = False) -> None:
        """Debounce: cancel the pending walk of `uri` and start a new one."""
        pending = self.debounce.pop(uri, None)
        if pending is not None:
            pending.cancel()

        async def later() -> None:
            try:
                if delay:
                    await asyncio.sleep(delay)
                await self.check_document(uri, force=force)
            finally:
                if self.debounce.get(uri) is task:
                    del self.debounce[uri]

        task = self.tasks.start(later(), f"check:{uri}")
        self.debounce[uri] = task

    def recheck_all(self) -> None:
        for uri in self.documents:
            self.schedule(uri, 0)

    async def settled(self, uri: str) -> None:
        """Wait for a pending check of `uri`, so an answer is about the latest text.

        A pending check that gets replaced (cancelled) just ends the wait; a cancellation
        of the caller (the client's `$/cancelRequest`) propagates."""
        pending = self.debounce.get(uri)
        if pending is not None:
            await asyncio.wait({pending})

    def forget(self, uri: str) -> DocState | None:
        state = self.documents.pop(uri)
        if state is not None and state.cluster_task is not None:
            state.cluster_task.cancel()
        pending = self.debounce.pop(uri, None)
        if pending is not None:
            pending.cancel()
        return state

    # -- publishing ------------------------------------------------------------
    def diagnostics_for(self, state: DocState) -> list[types.Diagnostic]:
        text = state.analysis.text if state.analysis is not None else self.current_text(state)[0]
        findings = (*state.config_findings, *state.cluster_findings)
        return to_diagnostics(self.positions(text), findings)

    def publish(self, state: DocState, version: int | None = None) -> None:
        diagnostics = self.diagnostics_for(state)
        if diagnostics != state.published:
            # A new id only for new diagnostics, and one no earlier document had: a pull
            # client's "unchanged" is then never about another text.
            state.published = diagnostics
            state.result_id = self.result_ids.next()
        if self.stopping:
            return
        if self.pull_mode:
            if self.refresh_support:
                self.workspace_diagnostic_refresh(None)
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=state.uri,
                version=state.version if version is None else version,
                diagnostics=diagnostics,
            )
        )

    def clear_diagnostics(self, uri: str) -> None:
        if self.stopping:
            return
        if not self.pull_mode:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, version=None, diagnostics=[])
            )
        elif self.refresh_support:
            self.workspace_diagnostic_refresh(None)

    def show_message(self, kind: types.MessageType, message: str) -> None:
        if not self.stopping:
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    # -- status ----------------------------------------------------------------
    def status_supported(self) -> bool:
        experimental = self.client_capabilities.experimental
        return isinstance(experimental, dict) and bool(experimental.get(proto.STATUS_CAPABILITY))

    def current_status(self, uri: str | None = None) -> proto.Status:
        uri = uri if uri in self.documents else None
        uri = uri or (self.active_uri if self.active_uri in self.documents else None)
        if uri is None:
            latest = self.documents.latest_opened()
            uri = latest.uri if latest is not None else None
        state = self.documents.get(uri)
        return build_status(
            uri=uri,
            findings=[*state.config_findings, *state.cluster_findings] if state else [],
            facts=state.facts if state else None,
            busy=self.runs.busy > 0,
            config_count=len(self.documents),
        )

    def send_status(self) -> None:
        if self.stopping:
            return
        status = self.current_status()
        if status == self._last_status:
            return  # only when something changed
        self._last_status = status
        if self.status_supported():
            self.protocol.notify(proto.STATUS, proto.to_json(status))
            return
        # Clients without the status extension hear about cluster errors once each.
        state = self.documents.get(status.document)
        for finding in state.cluster_findings if state else []:
            if finding.severity == "error" and finding.message not in self._shown_messages:
                self._shown_messages.add(finding.message)
                self.show_message(types.MessageType.Error, f"mirrord-ls: {finding.message}")

    # -- lifecycle -------------------------------------------------------------
    def close_all(self) -> None:
        """The end (shutdown, exit, or the client gone): send nothing more, cancel every
        task, stop the watcher, close every cluster connection (their files go with them)."""
        if self.stopping:
            return
        self.stopping = True
        self.debounce.clear()
        self.tasks.cancel_all()
        self.daemon.stop()
        self.runs.close()

    def shutdown(self) -> None:
        """pygls calls this when the connection ends, however it ends."""
        self.close_all()
        super().shutdown()

    def touch(self) -> None:
        """The user did something (the periodic re-check keeps going while they do)."""
        self.daemon.last_activity = time.monotonic()

    async def start_background(self) -> None:
        """After `initialized`: settings, then watching and scanning, and the re-check loop."""
        await self.daemon.watch_kubeconfigs()
        await self.load_settings()

        async def watch_then_scan() -> None:
            # Watching starts first, so no change between the scan and the watch is lost.
            await self.daemon.start_watching()
            await self.daemon.scan()

        self.tasks.start(watch_then_scan(), "watch-and-scan")
        self.tasks.start(self.daemon.recheck_loop(), "recheck")
        # What start-up left out (issue 17), imported now off the event loop, so neither
        # the first diagnostics nor the first cluster check waits for it.
        self.tasks.start(asyncio.to_thread(_warm_imports), "warm-imports")


def _warm_imports() -> None:
    import importlib

    for name in ("mirrord_ls.config.analyze", "mirrord_ls.cluster.service"):
        importlib.import_module(name)


def create_server() -> MirrordLanguageServer:
    """A new server with every handler registered (one per process, or per test)."""
    from mirrord_ls.handlers import register

    server = MirrordLanguageServer()
    register(server)
    return server
