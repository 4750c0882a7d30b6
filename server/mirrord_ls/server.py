"""The language server: state and thin handlers.

Every handler delegates to a pure function in `config/` or `features/`; this
module owns only what must live across requests: open documents and their
analyses, settings, the schema in use, and background tasks.

LSP methods served: initialize/initialized, textDocument/didOpen, didChange,
didClose, didSave, textDocument/diagnostic (pull), textDocument/hover,
textDocument/completion, workspace/didChangeConfiguration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from mirrord_ls import __version__
from mirrord_ls.config import schema as schema_mod
from mirrord_ls.config.analyze import Analysis, analyze
from mirrord_ls.config.files import Format, config_format, git_branch_for
from mirrord_ls.config.schema import Schema
from mirrord_ls.features import completion as completion_mod
from mirrord_ls.features import hover as hover_mod
from mirrord_ls.features.diagnostics import to_diagnostic
from mirrord_ls.features.status import build_status
from mirrord_ls.findings import Finding
from mirrord_ls.settings import Settings, parse_settings

log = logging.getLogger("mirrord_ls")

DEBOUNCE_SECONDS = 0.15
_SCHEMA_CODES = frozenset({"unknown-field", "invalid-value", "missing-field", "deprecated"})
_LANGUAGE_FORMATS: dict[str, Format] = {
    "json": "json",
    "jsonc": "json",
    "toml": "toml",
    "yaml": "yaml",
}


@dataclass
class DocState:
    """One open document and what is known about it."""

    uri: str
    version: int | None
    fmt: Format | None
    analysis: Analysis | None = None
    config_findings: list[Finding] = field(default_factory=list)
    """Findings from the file itself (syntax, template, schema)."""
    result_id: int = 0
    """Bumped on every new set of diagnostics, for pull clients."""
    cluster_findings: list[Finding] = field(default_factory=list)
    """Findings from the cluster (verdicts, kubeconfig and context problems)."""
    cluster_key: tuple[Any, ...] | None = None
    """The config values the cluster findings were computed from."""
    facts: Any = None
    """ClusterFacts of the last cluster check (hover, status)."""
    cluster_task: asyncio.Task[None] | None = None
    cluster_analysis: Analysis | None = None
    """The analysis the running cluster check works on."""
    opened_at: float = 0.0
    is_open: bool = True
    """False for a workspace config read from disk (not open in the editor)."""
    disk_text: str | None = None


def cluster_inputs(analysis: Analysis) -> tuple[Any, ...]:
    """The config values a cluster verdict depends on (edits elsewhere keep the verdict)."""
    return (
        analysis.value(("operator",)),
        analysis.value(("kube_context",)),
        analysis.value(("kubeconfig",)),
        analysis.value(("accept_invalid_certificates",)),
    )


class MirrordLanguageServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("mirrord-ls", __version__)
        self.settings = Settings()
        """Current settings; replaced whole on every change."""
        self.schema: Schema = schema_mod.builtin_schema()
        """The schema every check uses (configured, published or built-in)."""
        self.schema_problem: str | None = None
        self.docs: dict[str, DocState] = {}
        self.init_options: dict[str, Any] = {}
        self.pull_mode = False
        """True when the client pulls diagnostics (textDocument/diagnostic)."""
        self.refresh_support = False
        self.ready = asyncio.Event()
        """Set once the first settings (and so the schema) are loaded: checks wait for it,
        so a document opened at start-up is never judged against the wrong schema."""
        self._debounce: dict[str, asyncio.Task[None]] = {}
        self.cluster: Any = None
        """The ClusterService (created on first use, so start-up stays light)."""
        self.active_uri: str | None = None
        """The document the status is about (the client's active editor, else the last opened)."""
        self.busy = 0
        self._last_status: dict[str, Any] | None = None
        self._shown_messages: set[str] = set()
        self.watcher: Any = None
        """The FileWatcher (kubeconfigs always; workspace configs when the client cannot)."""
        self.client_watches = False
        """True once the client agreed to watch workspace configs for us."""
        self.last_activity = time.monotonic()
        self._recheck_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- task helper -------------------------------------------------------
    def run_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Start a background task, keep a reference, and log (not lose) its failure."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("task %s failed", name, exc_info=t.exception())

        task.add_done_callback(done)
        return task

    # -- settings and schema -----------------------------------------------
    def schema_findings_wanted(self, fmt: Format | None) -> bool:
        if fmt != "json":
            return True
        mode = self.settings.schemaDiagnostics.json
        if mode == "auto":
            return not bool(self.init_options.get("officialExtensionInstalled"))
        return mode == "on"

    async def load_settings(self, pushed: Any = None) -> None:
        """Read settings: pulled through workspace/configuration where the client can,
        else from the didChangeConfiguration payload or the initialization options."""
        raw: Any = None
        caps = self.client_capabilities
        if caps.workspace and caps.workspace.configuration:
            try:
                result = await asyncio.wait_for(
                    self.workspace_configuration_async(
                        types.ConfigurationParams(
                            items=[types.ConfigurationItem(section="mirrordLs")]
                        )
                    ),
                    timeout=5,
                )
                raw = result[0] if result else None
            except (TimeoutError, Exception) as exc:  # a client bug must not stop the server
                log.warning("could not read settings: %s", exc)
        elif isinstance(pushed, dict) and isinstance(pushed.get("mirrordLs"), dict):
            raw = pushed["mirrordLs"]
        else:
            raw = self.init_options.get("settings")
        await self.apply_settings(raw)

    async def apply_settings(self, raw: Any) -> None:
        settings, problems = parse_settings(raw)
        for problem in problems:
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning, message=f"mirrord-ls: {problem}"
                )
            )
        schema_changed = settings.schema != self.settings.schema or not hasattr(self, "_loaded")
        self.settings = settings
        self._loaded = True
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
            self.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Warning, message=problem)
            )
        if not configured:
            self.run_task(self._refresh_published(), "schema-refresh")

    async def _refresh_published(self) -> None:
        fresh = await asyncio.to_thread(schema_mod.refresh_published)
        if fresh is not None and not self.settings.schema:
            self.schema = fresh
            log.info("using %s", fresh.label)
            self.recheck_all()

    # -- documents ---------------------------------------------------------
    def format_for(self, uri: str, language_id: str | None) -> Format | None:
        path = to_fs_path(uri) or uri
        fmt = config_format(path)
        if fmt is None and language_id:
            return _LANGUAGE_FORMATS.get(language_id)
        return fmt

    async def wait_ready(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), 10)

    async def check_document(self, uri: str) -> None:
        await self.wait_ready()
        state = self.docs.get(uri)
        if state is None:
            return
        if state.is_open:
            document = self.workspace.get_text_document(uri)
            text, version = document.source, document.version
        else:
            text, version = state.disk_text or "", state.version
        if state.fmt is None:
            findings = [
                Finding(
                    "syntax",
                    "error",
                    0,
                    0,
                    "mirrord reads only .json, .toml, .yaml or .yml config files;"
                    " it would refuse this extension.",
                )
            ]
            state.analysis = None
            state.config_findings = findings
            self.publish(state, version)
            return
        fmt = state.fmt
        path = to_fs_path(uri)
        env = dict(os.environ)
        branch = git_branch_for(path)
        schema = self.schema
        if len(text) > 256 * 1024:
            # Big files are read off the event loop so other requests keep flowing.
            analysis = await asyncio.to_thread(analyze, text, fmt, schema, env, branch)
        else:
            analysis = analyze(text, fmt, schema, env, branch)
        if self.docs.get(uri) is not state or (state.is_open and self.doc_version(uri) != version):
            return  # a newer edit (or a close) arrived meanwhile: this result is stale
        findings = analysis.findings
        if not self.schema_findings_wanted(fmt):
            findings = [f for f in findings if f.code not in _SCHEMA_CODES]
        state.analysis = analysis
        state.config_findings = findings
        state.version = version
        if not self.settings.cluster.enabled:
            state.cluster_findings, state.facts, state.cluster_key = [], None, None
            self.publish(state, version)
            self.send_status()
            return
        key = cluster_inputs(analysis)
        if key != state.cluster_key:
            # Another cluster (or another setting): the old verdict says nothing about it.
            state.cluster_findings, state.facts = [], None
        else:
            # Same cluster, moved text: the previous spans may be off; they come back shortly.
            state.cluster_findings = []
        state.cluster_key = key
        task = self.start_cluster_check(state, version)
        try:
            # A cached verdict answers at once: publish everything together.
            await asyncio.wait_for(asyncio.shield(task), 0.05)
        except TimeoutError:
            self.publish(state, version)  # the file's own findings now, the cluster's later
            self.send_status()

    def start_cluster_check(
        self, state: DocState, version: int | None, force: bool = False
    ) -> asyncio.Task[None]:
        running = state.cluster_task
        if running is not None and not running.done():
            if state.cluster_analysis is state.analysis:
                return running  # already checking this very text: that answer is fresh
            running.cancel()  # checking an older text: its answer would be stale
        task = self.run_task(self._cluster_check(state, version, force), f"cluster:{state.uri}")
        state.cluster_task = task
        state.cluster_analysis = state.analysis
        return task

    def cluster_service(self) -> Any:
        if self.cluster is None:
            from mirrord_ls.cluster.service import ClusterService

            self.cluster = ClusterService(timeout=self.settings.cluster.timeoutSeconds)
        self.cluster.timeout = self.settings.cluster.timeoutSeconds
        return self.cluster

    def folder_of(self, path: str | None) -> Path | None:
        if not path:
            return None
        best: Path | None = None
        for folder in self.workspace.folders.values():
            root = Path(to_fs_path(folder.uri) or "")
            if Path(path).is_relative_to(root) and (
                best is None or len(str(root)) > len(str(best))
            ):
                best = root
        return best

    def trusted(self) -> bool:
        return (
            bool(self.init_options.get("workspaceTrusted"))
            or self.settings.trustWorkspaceKubeconfigs
        )

    async def _cluster_check(self, state: DocState, version: int | None, force: bool) -> None:
        analysis = state.analysis
        if analysis is None:
            return
        inner = asyncio.ensure_future(self._cluster_check_inner(state, analysis, force))
        try:
            await asyncio.wait_for(asyncio.shield(inner), 0.2)
            return
        except TimeoutError:
            pass
        # A slow check: say so. Kept verdicts are marked as being re-checked, never fresh.
        if state.cluster_findings and state.analysis is analysis:
            for finding in state.cluster_findings:
                if not finding.data.get("rechecking"):
                    finding.data["rechecking"] = True
                    finding.message += " (re-checking...)"
            self.publish(state, state.version)
        token = await self.begin_progress(state, inner)
        try:
            await inner
        finally:
            if token is not None:
                self.work_done_progress.end(token, types.WorkDoneProgressEnd())

    async def begin_progress(self, state: DocState, task: asyncio.Future[None]) -> str | None:
        window = self.client_capabilities.window
        if not (window and window.work_done_progress):
            return None
        token = f"mirrord-ls-check-{id(task)}"
        created = asyncio.ensure_future(self.work_done_progress.create_async(token))
        done, _ = await asyncio.wait({created}, timeout=2)
        if not done or created.exception() is not None:
            # A busy or refusing client still gets its diagnostics; the late answer is
            # left to pygls (cancelling its future would make it fail on that answer).
            created.add_done_callback(lambda f: f.cancelled() or f.exception())
            return None
        name = Path(to_fs_path(state.uri) or state.uri).name
        self.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title="mirrord-ls", message=f"checking the cluster of {name}", cancellable=True
            ),
        )
        cancelled = self.work_done_progress.tokens.get(token)
        if cancelled is not None:
            cancelled.add_done_callback(lambda f: task.cancel() if f.cancelled() else None)
        return token

    async def _cluster_check_inner(self, state: DocState, analysis: Analysis, force: bool) -> None:
        path = to_fs_path(state.uri)
        folders = tuple(Path(to_fs_path(f.uri) or "") for f in self.workspace.folders.values())
        folder = self.folder_of(path) or (Path(path).parent if path else None)
        self.busy += 1
        self.send_status()
        try:
            result = await self.cluster_service().check(
                analysis,
                config_path=Path(path) if path else None,
                workspace_folder=folder,
                workspace_folders=folders,
                trusted=self.trusted(),
                force=force,
            )
        finally:
            self.busy -= 1
        if self.docs.get(state.uri) is not state or state.analysis is not analysis:
            self.send_status()
            return  # the config changed while the cluster answered: this verdict is stale
        state.cluster_findings = result.findings
        state.facts = result.facts
        self.publish(state, state.version)
        self.send_status()
        self.update_watches()

    async def settled(self, uri: str) -> None:
        """Wait for a pending check of `uri`, so an answer is about the latest text."""
        pending = self._debounce.get(uri)
        if pending is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(pending)

    def doc_version(self, uri: str) -> int | None:
        return self.workspace.get_text_document(uri).version

    def diagnostics_for(self, state: DocState) -> list[types.Diagnostic]:
        if state.analysis is not None:
            lines = state.analysis.lines
        else:
            from mirrord_ls.config.document import LineIndex

            text = (
                self.workspace.get_text_document(state.uri).source
                if state.is_open
                else state.disk_text or ""
            )
            lines = LineIndex(text)
        return [to_diagnostic(lines, f) for f in (*state.config_findings, *state.cluster_findings)]

    def publish(self, state: DocState, version: int | None) -> None:
        state.result_id += 1
        if self.pull_mode:
            if self.refresh_support:
                self.workspace_diagnostic_refresh(None)
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=state.uri, version=version, diagnostics=self.diagnostics_for(state)
            )
        )

    # -- the daemon: unopened configs, watching, periodic re-checks ------------------
    def workspace_roots(self) -> list[Path]:
        return [Path(to_fs_path(f.uri) or "") for f in self.workspace.folders.values()]

    def add_disk_config(self, path: Path) -> None:
        """Read a workspace config that is not open, and check it (push and pull)."""
        uri = path.as_uri()
        state = self.docs.get(uri)
        if state is not None and state.is_open:
            return  # the editor's text is the truth while it is open
        from mirrord_ls.checker import read_config_text

        text, problem = read_config_text(path)
        if state is None:
            state = DocState(uri, 0, config_format(path), is_open=False)
            self.docs[uri] = state
        state.version = (state.version or 0) + 1
        state.disk_text = text or ""
        if problem is not None:
            state.analysis = None
            state.config_findings = [problem]
            state.cluster_findings = []
            self.publish(state, None)
            return
        self.schedule(uri, 0)

    def forget_disk_config(self, uri: str) -> None:
        state = self.docs.get(uri)
        if state is None or state.is_open:
            return
        del self.docs[uri]
        if state.cluster_task is not None:
            state.cluster_task.cancel()
        self.clear_diagnostics(uri)

    def clear_diagnostics(self, uri: str) -> None:
        if not self.pull_mode:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, version=None, diagnostics=[])
            )
        elif self.refresh_support:
            self.workspace_diagnostic_refresh(None)

    async def scan_workspace(self) -> None:
        from mirrord_ls.watch import find_configs

        paths = await asyncio.to_thread(find_configs, self.workspace_roots())
        for path in paths:
            if path.as_uri() not in self.docs:
                self.add_disk_config(path)
        self.send_status()

    def config_paths_changed(self, paths: set[Path]) -> None:
        for path in paths:
            uri = path.as_uri()
            if not any(path.is_relative_to(root) for root in self.workspace_roots()):
                continue
            if path.is_file():
                self.add_disk_config(path)
            else:
                self.forget_disk_config(uri)
        self.send_status()

    def files_changed(self, paths: set[Path]) -> None:
        """From the watcher: kubeconfigs and the files they name, and (maybe) configs."""
        from mirrord_ls.config.files import is_mirrord_config

        configs = {p for p in paths if is_mirrord_config(p)}
        if configs:
            self.config_paths_changed(configs)
        others = paths - configs
        if not others:
            return
        affected = [
            state
            for state in self.docs.values()
            if (state.facts is not None and others & set(state.facts.watched))
            or (state.facts is None and state.analysis is not None)
        ]
        if self.cluster is not None:
            self.cluster.invalidate(
                {s.facts.identity for s in affected if s.facts and s.facts.identity}
            )
            self.cluster.forget_files(others)
        for state in affected:
            # The kubeconfig may now name another cluster: the old verdict is not shown.
            state.cluster_findings = []
            self.start_cluster_check(state, state.version, force=True)

    def update_watches(self) -> None:
        if self.watcher is None:
            return
        files: set[Path] = set()
        for state in self.docs.values():
            if state.facts is not None:
                files.update(state.facts.watched)
        if not files:
            from mirrord_ls.cluster.kubeconfig import KubeconfigOrigin, kubeconfig_paths

            source = kubeconfig_paths(None, None, os.environ, Path.home())
            if source.origin is not KubeconfigOrigin.MIRRORD_ENV:
                files.update(source.paths)
        self.watcher.watch_files(files)

    async def start_watching(self) -> None:
        from mirrord_ls.config.files import GLOBS
        from mirrord_ls.watch import FileWatcher

        self.watcher = FileWatcher(asyncio.get_running_loop(), self.files_changed)
        ws = self.client_capabilities.workspace
        dynamic = bool(
            ws and ws.did_change_watched_files and ws.did_change_watched_files.dynamic_registration
        )
        if dynamic:
            try:
                await asyncio.wait_for(
                    self.client_register_capability_async(
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
            self.watcher.watch_roots(self.workspace_roots())
        self.update_watches()

    async def recheck_loop(self) -> None:
        """Re-ask the cluster periodically, so cluster-side changes show without user action."""
        idle_limit = 30 * 60
        while True:
            period = self.settings.cluster.recheckSeconds
            await asyncio.sleep(period if period > 0 else 60)
            if period <= 0 or not self.settings.cluster.enabled:
                continue
            if time.monotonic() - self.last_activity > idle_limit:
                continue  # the editor is idle: do not keep clusters busy for nobody
            open_docs = [s for s in self.docs.values() if s.is_open and s.analysis is not None]
            if not open_docs:
                continue
            service = self.cluster_service()
            for state in open_docs:
                identity = state.facts.identity if state.facts else None
                if identity is not None and not service.due(identity, period):
                    continue  # a failing cluster backs off
                self.start_cluster_check(state, state.version, force=True)

    # -- status ----------------------------------------------------------------
    def status_supported(self) -> bool:
        experimental = self.client_capabilities.experimental
        return isinstance(experimental, dict) and bool(experimental.get("mirrordStatus"))

    def current_status(self) -> dict[str, Any]:
        uri = self.active_uri if self.active_uri in self.docs else None
        if uri is None and self.docs:
            uri = max(self.docs.values(), key=lambda d: d.opened_at).uri
        state = self.docs.get(uri) if uri else None
        return build_status(
            uri=uri,
            findings=[*state.config_findings, *state.cluster_findings] if state else [],
            facts=state.facts if state else None,
            busy=self.busy > 0,
            config_count=len(self.docs),
        )

    def send_status(self) -> None:
        status = self.current_status()
        if status == self._last_status:
            return  # only when something changed
        self._last_status = status
        if self.status_supported():
            self.protocol.notify("mirrord/status", status)
            return
        # Clients without the status extension hear about cluster errors once each.
        state = self.docs.get(status["document"]) if status["document"] else None
        for finding in state.cluster_findings if state else []:
            if finding.severity == "error" and finding.message not in self._shown_messages:
                self._shown_messages.add(finding.message)
                self.window_show_message(
                    types.ShowMessageParams(
                        type=types.MessageType.Error, message=f"mirrord-ls: {finding.message}"
                    )
                )

    def schedule(self, uri: str, delay: float) -> None:
        """Debounce: cancel the pending check of `uri` and start a new one."""
        pending = self._debounce.pop(uri, None)
        if pending is not None:
            pending.cancel()

        async def later() -> None:
            try:
                if delay:
                    await asyncio.sleep(delay)
                await self.check_document(uri)
            finally:
                if self._debounce.get(uri) is task:
                    del self._debounce[uri]

        task = self.run_task(later(), f"check:{uri}")
        self._debounce[uri] = task

    def recheck_all(self) -> None:
        for uri in list(self.docs):
            self.schedule(uri, 0)


server = MirrordLanguageServer()


@server.feature(types.INITIALIZE)
def on_initialize(ls: MirrordLanguageServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    ls.init_options = options if isinstance(options, dict) else {}
    text_caps = params.capabilities.text_document
    ws = params.capabilities.workspace
    ls.refresh_support = bool(ws and ws.diagnostics and ws.diagnostics.refresh_support)
    # Pull only where the server can say "pull again" when the cluster answers later;
    # otherwise push, so late verdicts always reach the editor.
    ls.pull_mode = bool(text_caps and text_caps.diagnostic) and ls.refresh_support


@server.feature(types.INITIALIZED)
async def on_initialized(ls: MirrordLanguageServer, params: types.InitializedParams) -> None:
    await ls.load_settings()

    async def watch_then_scan() -> None:
        # Watching starts first, so no change between the scan and the watch is lost.
        await ls.start_watching()
        await ls.scan_workspace()

    ls.run_task(watch_then_scan(), "watch-and-scan")
    ls._recheck_task = ls.run_task(ls.recheck_loop(), "recheck")


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_configuration(
    ls: MirrordLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    await ls.load_settings(params.settings)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def on_open(ls: MirrordLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.last_activity = time.monotonic()
    doc = params.text_document
    state = DocState(doc.uri, doc.version, ls.format_for(doc.uri, doc.language_id))
    state.opened_at = time.monotonic()
    previous = ls.docs.get(doc.uri)
    if previous is not None:
        # Keep what is known of the cluster: the same file, now open.
        state.cluster_findings, state.facts = previous.cluster_findings, previous.facts
        state.cluster_key = previous.cluster_key
        if previous.cluster_task is not None:
            previous.cluster_task.cancel()
    ls.docs[doc.uri] = state
    if ls.active_uri is None:
        ls.active_uri = doc.uri
    ls.schedule(doc.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def on_change(ls: MirrordLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.last_activity = time.monotonic()
    if params.text_document.uri in ls.docs:
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def on_save(ls: MirrordLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    if params.text_document.uri in ls.docs:
        ls.schedule(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def on_close(ls: MirrordLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    state = ls.docs.pop(uri, None)
    if state is not None and state.cluster_task is not None:
        state.cluster_task.cancel()
    pending = ls._debounce.pop(uri, None)
    if pending is not None:
        pending.cancel()
    if ls.active_uri == uri:
        ls.active_uri = None
    path = Path(to_fs_path(uri) or "")
    from mirrord_ls.config.files import is_mirrord_config

    in_workspace = any(path.is_relative_to(root) for root in ls.workspace_roots())
    if in_workspace and is_mirrord_config(path) and path.is_file():
        # A workspace config stays in the Problems panel, as it is on disk.
        ls.add_disk_config(path)
    else:
        ls.clear_diagnostics(uri)
    ls.send_status()


@server.feature(
    types.TEXT_DOCUMENT_DIAGNOSTIC,
    types.DiagnosticOptions(
        identifier="mirrord-ls", inter_file_dependencies=False, workspace_diagnostics=True
    ),
)
async def on_pull(
    ls: MirrordLanguageServer, params: types.DocumentDiagnosticParams
) -> types.DocumentDiagnosticReport:
    uri = params.text_document.uri
    state = ls.docs.get(uri)
    if state is None or not ls.pull_mode:
        # Not pulling (the client cannot be told to pull again): diagnostics are pushed,
        # and an empty report here keeps them from showing twice.
        return types.RelatedFullDocumentDiagnosticReport(items=[], result_id="push")
    pending = ls._debounce.get(uri)
    if pending is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(pending)
    if state.analysis is None and not state.config_findings:
        await ls.check_document(uri)
    result_id = str(state.result_id)
    if params.previous_result_id == result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    return types.RelatedFullDocumentDiagnosticReport(
        items=ls.diagnostics_for(state), result_id=result_id
    )


@server.feature(types.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: MirrordLanguageServer, params: types.HoverParams) -> types.Hover | None:
    ls.last_activity = time.monotonic()
    await ls.wait_ready()
    state = ls.docs.get(params.text_document.uri)
    if state is None or state.analysis is None:
        return None
    analysis = state.analysis
    offset = analysis.lines.offset(params.position.line, params.position.character)
    found = hover_mod.config_hover(analysis, offset)
    if found is None:
        return None
    markdown, path = found
    if state.facts is not None:
        from mirrord_ls.features.cluster_hover import cluster_hover, oss_hover

        extra = cluster_hover(path, state.facts)
        facts = state.facts
        # sec hook (issue 16): a templated namespace never leaves an untrusted workspace.
        from mirrord_ls.cluster.trust import templated_value

        sendable = facts.trust is not None and (
            facts.trust.trusted or not templated_value(analysis, path)
        )
        if path == ("agent", "namespace") and facts.resolved is not None and sendable:
            namespace = analysis.value(path)
            if isinstance(namespace, str) and namespace:
                try:
                    perms = await asyncio.wait_for(
                        ls.cluster_service().oss_permissions(
                            facts.resolved, namespace, facts.trust, dict(os.environ)
                        ),
                        2.0,
                    )
                    extra = oss_hover(namespace, perms)
                except Exception as exc:  # hover must answer, whatever the cluster does
                    extra = f"Permissions in `{namespace}` could not be checked: {exc}"
        if extra:
            markdown = f"{extra}\n\n---\n\n{markdown}"
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=['"', ".", ":", "=", " "]),
)
async def on_completion(
    ls: MirrordLanguageServer, params: types.CompletionParams
) -> types.CompletionList | None:
    await ls.wait_ready()
    uri = params.text_document.uri
    state = ls.docs.get(uri)
    if state is None or state.fmt is None:
        return None
    document = ls.workspace.get_text_document(uri)
    from mirrord_ls.config.document import LineIndex

    lines = LineIndex(document.source)
    offset = lines.offset(params.position.line, params.position.character)
    existing: set[str] = set()
    if state.analysis is not None and state.analysis.root is not None:
        existing = {m.key for m in state.analysis.root.members}
    items = completion_mod.complete(document.source, offset, state.fmt, ls.schema, existing)
    incomplete = False
    context = completion_mod.cursor_context(document.source, offset, state.fmt)
    if context is not None and context.kind == "value" and ls.settings.cluster.enabled:
        from mirrord_ls.features.cluster_completion import cluster_values

        more, incomplete = await cluster_values(ls, state, context)
        items = [*more, *items]
    out: list[types.CompletionItem] = []
    for item in items:
        start = lines.position(item.start)
        out.append(
            types.CompletionItem(
                label=item.label,
                kind=types.CompletionItemKind.Property
                if item.kind == "field"
                else types.CompletionItemKind.Value,
                detail=item.detail,
                documentation=types.MarkupContent(
                    kind=types.MarkupKind.Markdown, value=item.documentation
                )
                if item.documentation
                else None,
                text_edit=types.TextEdit(
                    range=types.Range(
                        start=types.Position(line=start[0], character=start[1]),
                        end=params.position,
                    ),
                    new_text=item.insert,
                ),
                filter_text=item.insert.strip('"'),
                sort_text=f"{len(out):04d}",
            )
        )
    return types.CompletionList(is_incomplete=incomplete, items=out)


@server.feature("mirrord/activeDocument")
def on_active_document(ls: MirrordLanguageServer, params: Any) -> None:
    uri = getattr(params, "uri", None)
    if uri is None and isinstance(params, dict):
        uri = params.get("uri")
    ls.active_uri = uri if isinstance(uri, str) else None
    ls.send_status()


@server.command("mirrord-ls.recheck")
async def cmd_recheck(ls: MirrordLanguageServer, *args: Any) -> dict[str, Any]:
    """Force a fresh cluster check of one config (args: {uri}) or of all open ones."""
    uri = None
    if args and isinstance(args[0], dict):
        uri = args[0].get("uri")
    elif args and hasattr(args[0], "uri"):
        uri = args[0].uri
    targets = [ls.docs[uri]] if uri in ls.docs else list(ls.docs.values())
    for state in targets:
        await ls.settled(state.uri)  # read the latest text first
    if not ls.settings.cluster.enabled:
        for state in targets:
            ls.schedule(state.uri, 0)
        return ls.current_status()
    tasks = [ls.start_cluster_check(state, state.version, force=True) for state in targets]
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    return ls.current_status()


@server.command("mirrord-ls.showStatus")
def cmd_show_status(ls: MirrordLanguageServer, *args: Any) -> dict[str, Any]:
    return ls.current_status()


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def on_watched_files(ls: MirrordLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
    paths = {Path(to_fs_path(change.uri) or "") for change in params.changes}
    ls.config_paths_changed({p for p in paths if str(p)})


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
async def on_folders(
    ls: MirrordLanguageServer, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    for removed in params.event.removed:
        root = Path(to_fs_path(removed.uri) or "")
        for uri, state in list(ls.docs.items()):
            if not state.is_open and Path(to_fs_path(uri) or "").is_relative_to(root):
                ls.forget_disk_config(uri)
    if ls.watcher is not None and not ls.client_watches:
        ls.watcher.watch_roots(ls.workspace_roots())
    await ls.scan_workspace()


@server.feature(
    types.WORKSPACE_DIAGNOSTIC,
)
async def on_workspace_pull(
    ls: MirrordLanguageServer, params: types.WorkspaceDiagnosticParams
) -> types.WorkspaceDiagnosticReport:
    """Every known config's diagnostics, for clients that pull (the Problems panel)."""
    previous = {p.uri: p.value for p in params.previous_result_ids}
    items: list[types.WorkspaceDocumentDiagnosticReport] = []
    for uri, state in list(ls.docs.items()):
        result_id = str(state.result_id)
        if previous.get(uri) == result_id:
            items.append(
                types.WorkspaceUnchangedDocumentDiagnosticReport(
                    uri=uri, version=state.version if state.is_open else None, result_id=result_id
                )
            )
        else:
            items.append(
                types.WorkspaceFullDocumentDiagnosticReport(
                    uri=uri,
                    version=state.version if state.is_open else None,
                    items=ls.diagnostics_for(state),
                    result_id=result_id,
                )
            )
    return types.WorkspaceDiagnosticReport(items=items)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
async def on_code_action(
    ls: MirrordLanguageServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    from mirrord_ls.features.code_actions import actions_for

    uri = params.text_document.uri
    await ls.settled(uri)
    state = ls.docs.get(uri)
    if state is None or state.analysis is None:
        return None
    analysis = state.analysis
    ours = [d for d in params.context.diagnostics if str(d.source or "").startswith("mirrord-ls")]
    offsets = [
        (
            analysis.lines.offset(d.range.start.line, d.range.start.character),
            analysis.lines.offset(d.range.end.line, d.range.end.character),
        )
        for d in ours
    ]
    result = []
    for action in actions_for(analysis, ours, state.facts, uri, offsets):
        edit = None
        if action.edits:
            edit = types.WorkspaceEdit(
                changes={uri: [to_text_edit(analysis, e) for e in action.edits]}
            )
        command = None
        if action.command is not None:
            command = types.Command(
                title=action.title, command=action.command[0], arguments=action.command[1]
            )
        result.append(
            types.CodeAction(
                title=action.title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[action.diagnostic] if action.diagnostic is not None else None,
                edit=edit,
                command=command,
                is_preferred=action.preferred or None,
            )
        )
    return result


def to_text_edit(analysis: Analysis, edit: tuple[int, int, str]) -> types.TextEdit:
    start = analysis.lines.position(edit[0])
    end = analysis.lines.position(edit[1])
    return types.TextEdit(
        range=types.Range(
            start=types.Position(line=start[0], character=start[1]),
            end=types.Position(line=end[0], character=end[1]),
        ),
        new_text=edit[2],
    )


def _arg(args: tuple[Any, ...], name: str) -> Any:
    if not args:
        return None
    first = args[0]
    if isinstance(first, dict):
        return first.get(name)
    return getattr(first, name, None)


@server.command("mirrord-ls.switchContext")
async def cmd_switch_context(ls: MirrordLanguageServer, *args: Any) -> dict[str, Any]:
    """Write `kube_context` into a config through workspace/applyEdit (never a kubeconfig)."""
    from mirrord_ls.features.edits import set_top_level

    uri = _arg(args, "uri") or ls.active_uri
    context = _arg(args, "context")
    state = ls.docs.get(uri) if isinstance(uri, str) else None
    if state is None or state.analysis is None or not isinstance(context, str):
        return {"applied": False, "reason": "no open mirrord config, or no context given"}
    assert isinstance(uri, str)
    edit = set_top_level(state.analysis, "kube_context", context)
    if edit is None:
        return {"applied": False, "reason": "the config is not an object"}
    version = state.version if state.is_open else None
    result = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(
            label=f"mirrord: use context {context}",
            edit=types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(
                            uri=uri, version=version
                        ),
                        edits=[to_text_edit(state.analysis, edit)],
                    )
                ]
            ),
        )
    )
    return {"applied": bool(result.applied), "reason": result.failure_reason}


@server.command("mirrord-ls.roleBinding")
async def cmd_role_binding(ls: MirrordLanguageServer, *args: Any) -> dict[str, Any]:
    """A ready-to-apply ClusterRoleBinding for the admin, shown as a document."""
    from mirrord_ls.features.role_binding import role_binding_for

    uri = _arg(args, "uri") or ls.active_uri
    state = ls.docs.get(uri) if uri else None
    facts = state.facts if state else None
    if facts is None or facts.resolved is None:
        return {"error": "no cluster is known for this config yet"}
    result = await role_binding_for(ls.cluster_service(), facts)
    path = result.get("path")
    caps = ls.client_capabilities.window
    if path and caps and caps.show_document and caps.show_document.support:
        await ls.window_show_document_async(
            types.ShowDocumentParams(uri=Path(path).as_uri(), take_focus=True)
        )
    return result
