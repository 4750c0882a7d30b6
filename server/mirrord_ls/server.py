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
from mirrord_ls.config.files import Format, config_format
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
    opened_at: float = 0.0


def git_branch_for(path: str | None) -> str | None:
    """The checked-out branch, read from `.git/HEAD` without running git.

    Running `git` in an untrusted repository could run programs its config
    names (fsmonitor), so the file is read instead.
    """
    if not path:
        return None
    current = Path(path).resolve().parent
    for folder in (current, *current.parents):
        head = folder / ".git" / "HEAD"
        try:
            content = head.read_text("utf-8", errors="replace").strip()
        except OSError:
            continue
        prefix = "ref: refs/heads/"
        return content[len(prefix) :] if content.startswith(prefix) else None
    return None


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
        document = self.workspace.get_text_document(uri)
        text = document.source
        version = document.version
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
        if self.docs.get(uri) is not state or document.version != version:
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
        if state.cluster_task is not None and not state.cluster_task.done():
            state.cluster_task.cancel()
        task = self.run_task(self._cluster_check(state, version, force), f"cluster:{state.uri}")
        state.cluster_task = task
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

    def diagnostics_for(self, state: DocState) -> list[types.Diagnostic]:
        if state.analysis is not None:
            lines = state.analysis.lines
        else:
            from mirrord_ls.config.document import LineIndex

            lines = LineIndex(self.workspace.get_text_document(state.uri).source)
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
            if delay:
                await asyncio.sleep(delay)
            self._debounce.pop(uri, None)
            await self.check_document(uri)

        self._debounce[uri] = self.run_task(later(), f"check:{uri}")

    def recheck_all(self) -> None:
        for uri in list(self.docs):
            self.schedule(uri, 0)


server = MirrordLanguageServer()


@server.feature(types.INITIALIZE)
def on_initialize(ls: MirrordLanguageServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    ls.init_options = options if isinstance(options, dict) else {}
    text_caps = params.capabilities.text_document
    ls.pull_mode = bool(text_caps and text_caps.diagnostic)
    ws = params.capabilities.workspace
    ls.refresh_support = bool(ws and ws.diagnostics and ws.diagnostics.refresh_support)


@server.feature(types.INITIALIZED)
async def on_initialized(ls: MirrordLanguageServer, params: types.InitializedParams) -> None:
    await ls.load_settings()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def on_configuration(
    ls: MirrordLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    await ls.load_settings(params.settings)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def on_open(ls: MirrordLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    doc = params.text_document
    state = DocState(doc.uri, doc.version, ls.format_for(doc.uri, doc.language_id))
    state.opened_at = time.monotonic()
    ls.docs[doc.uri] = state
    ls.schedule(doc.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def on_change(ls: MirrordLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
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
    ls.send_status()
    if not ls.pull_mode:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=None, diagnostics=[])
        )
    elif ls.refresh_support:
        ls.workspace_diagnostic_refresh(None)


@server.feature(
    types.TEXT_DOCUMENT_DIAGNOSTIC,
    types.DiagnosticOptions(
        identifier="mirrord-ls", inter_file_dependencies=False, workspace_diagnostics=False
    ),
)
async def on_pull(
    ls: MirrordLanguageServer, params: types.DocumentDiagnosticParams
) -> types.DocumentDiagnosticReport:
    uri = params.text_document.uri
    state = ls.docs.get(uri)
    if state is None:
        return types.RelatedFullDocumentDiagnosticReport(items=[], result_id="closed")
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
        from mirrord_ls.features.cluster_hover import cluster_hover

        extra = cluster_hover(path, state.facts)
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
    items = completion_mod.complete(document.source, offset, state.fmt, ls.schema, existing)
    out = []
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
                filter_text=item.label,
            )
        )
    return types.CompletionList(is_incomplete=False, items=out)


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
    tasks = [ls.start_cluster_check(state, state.version, force=True) for state in targets]
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    return ls.current_status()


@server.command("mirrord-ls.showStatus")
def cmd_show_status(ls: MirrordLanguageServer, *args: Any) -> dict[str, Any]:
    return ls.current_status()
