"""The LSP handlers: each a few lines from the request to a room and back.

LSP methods served: initialize/initialized/shutdown/exit, textDocument/didOpen,
didChange, didSave, didClose, textDocument/diagnostic (pull),
workspace/diagnostic, textDocument/hover, textDocument/completion,
textDocument/codeAction, workspace/didChangeConfiguration,
workspace/didChangeWatchedFiles, workspace/didChangeWorkspaceFolders,
`mirrord/activeDocument`, and the `mirrord-ls.*` commands (see protocol.py).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from mirrord_ls import protocol as proto
from mirrord_ls.documents import DocState, LspWorkspace, format_for, wants_cluster_check
from mirrord_ls.features import completion as completion_mod
from mirrord_ls.features import hover as hover_mod
from mirrord_ls.lsp_convert import (
    to_code_actions,
    to_completion_list,
    to_markdown_hover,
    to_versioned_edit,
)
from mirrord_ls.server import DEBOUNCE_SECONDS, MirrordLanguageServer

OSS_HOVER_TIMEOUT = 2.0


def register(server: MirrordLanguageServer) -> None:
    """Wire every handler below to `server`."""
    server.feature(types.INITIALIZE)(on_initialize)
    server.feature(types.INITIALIZED)(on_initialized)
    server.feature(types.SHUTDOWN)(on_shutdown)
    server.feature(types.EXIT)(on_exit)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(on_configuration)
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(on_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(on_change)
    server.feature(types.TEXT_DOCUMENT_DID_SAVE)(on_save)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(on_close)
    server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="mirrord-ls", inter_file_dependencies=False, workspace_diagnostics=True
        ),
    )(on_pull)
    server.feature(types.WORKSPACE_DIAGNOSTIC)(on_workspace_pull)
    server.feature(types.TEXT_DOCUMENT_HOVER)(on_hover)
    server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=['"', ".", ":", "=", " "]),
    )(on_completion)
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )(on_code_action)
    server.feature(proto.ACTIVE_DOCUMENT)(on_active_document)
    server.feature(proto.LOG_LEVEL)(on_log_level)
    server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(on_watched_files)
    server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)(on_folders)
    server.command(proto.RECHECK)(cmd_recheck)
    server.command(proto.SHOW_STATUS)(cmd_show_status)
    server.command(proto.SWITCH_CONTEXT)(cmd_switch_context)
    server.command(proto.ROLE_BINDING)(cmd_role_binding)
    from mirrord_ls import internals

    if internals.enabled():
        probe = internals.Internals(server)
        server.command(internals.COMMAND)(lambda ls, *args: probe.report(*args))
    server.command(proto.AGENT_ROLE)(cmd_agent_role)


# -- lifecycle --------------------------------------------------------------------------------


def on_initialize(ls: MirrordLanguageServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    ls.init_options = options if isinstance(options, dict) else {}
    text_caps = params.capabilities.text_document
    ws = params.capabilities.workspace
    ls.refresh_support = bool(ws and ws.diagnostics and ws.diagnostics.refresh_support)
    # Pull only where the server can say "pull again" when the cluster answers later;
    # otherwise push, so late verdicts always reach the editor.
    ls.pull_mode = bool(text_caps and text_caps.diagnostic) and ls.refresh_support
    # pygls made the workspace (with the negotiated position encoding) before this handler:
    # the same one, whose documents cut lines as the LSP does (see LspWorkspace).
    ls.protocol._workspace = LspWorkspace.like(ls.workspace, ls._text_document_sync_kind)


async def on_initialized(ls: MirrordLanguageServer, params: types.InitializedParams) -> None:
    await ls.start_background()


def on_shutdown(ls: MirrordLanguageServer, params: None) -> None:
    ls.close_all()


def on_exit(ls: MirrordLanguageServer, params: None) -> None:
    ls.close_all()  # also without a shutdown first (a client that is gone)


async def on_configuration(
    ls: MirrordLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    await ls.load_settings(params.settings)


# -- documents --------------------------------------------------------------------------------


async def on_open(ls: MirrordLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.touch()
    doc = params.text_document
    state = DocState(doc.uri, doc.version, format_for(doc.uri, doc.language_id))
    state.opened_at = time.monotonic()
    previous = ls.documents.get(doc.uri)
    if previous is not None:
        # Keep what is known of the cluster: the same file, now open.
        state.cluster_findings, state.facts = previous.cluster_findings, previous.facts
        state.cluster_key = previous.cluster_key
        if previous.cluster_task is not None:
            previous.cluster_task.cancel()
    ls.documents.put(state)
    if ls.active_uri is None:
        ls.active_uri = doc.uri
    ls.schedule(doc.uri, 0)


def on_change(ls: MirrordLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.touch()
    if params.text_document.uri in ls.documents:
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)


def on_save(ls: MirrordLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    if params.text_document.uri in ls.documents:
        ls.schedule(params.text_document.uri, 0)


def on_close(ls: MirrordLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.forget(uri)
    if ls.active_uri == uri:
        ls.active_uri = None
    ls.daemon.closed(uri)
    ls.send_status()


def on_active_document(ls: MirrordLanguageServer, params: Any) -> None:
    ls.active_uri = proto.parse(params, proto.ActiveDocumentParams).uri
    ls.send_status()


_LOG_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "off": logging.CRITICAL + 1,
}


def on_log_level(ls: MirrordLanguageServer, params: Any) -> None:
    level = _LOG_LEVELS.get(str(proto.parse(params, proto.LogLevelParams).level).lower())
    if level is None:
        return
    logger = logging.getLogger("mirrord_ls")
    logger.setLevel(level)
    logger.info("log level is now %s", logging.getLevelName(level))


# -- diagnostics (pull) -----------------------------------------------------------------------


async def on_pull(
    ls: MirrordLanguageServer, params: types.DocumentDiagnosticParams
) -> types.DocumentDiagnosticReport:
    uri = params.text_document.uri
    state = ls.documents.get(uri)
    if state is None or not ls.pull_mode:
        # Not pulling (the client cannot be told to pull again): diagnostics are pushed,
        # and an empty report here keeps them from showing twice.
        return types.RelatedFullDocumentDiagnosticReport(items=[], result_id="push")
    await ls.settled(uri)
    if state.analysis is None and not state.config_findings:
        await ls.check_document(uri)
    result_id = state.result_id
    if params.previous_result_id == result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    return types.RelatedFullDocumentDiagnosticReport(
        items=ls.diagnostics_for(state), result_id=result_id
    )


async def on_workspace_pull(
    ls: MirrordLanguageServer, params: types.WorkspaceDiagnosticParams
) -> types.WorkspaceDiagnosticReport:
    """Every known config's diagnostics, for clients that pull (the Problems panel)."""
    previous = {p.uri: p.value for p in params.previous_result_ids}
    items: list[types.WorkspaceDocumentDiagnosticReport] = []
    for state in ls.documents.values():
        result_id = state.result_id
        version = state.version if state.is_open else None
        if previous.get(state.uri) == result_id:
            items.append(
                types.WorkspaceUnchangedDocumentDiagnosticReport(
                    uri=state.uri, version=version, result_id=result_id
                )
            )
        else:
            items.append(
                types.WorkspaceFullDocumentDiagnosticReport(
                    uri=state.uri,
                    version=version,
                    items=ls.diagnostics_for(state),
                    result_id=result_id,
                )
            )
    return types.WorkspaceDiagnosticReport(items=items)


# -- hover, completion, code actions ------------------------------------------------------------


async def on_hover(ls: MirrordLanguageServer, params: types.HoverParams) -> types.Hover | None:
    ls.touch()
    uri = params.text_document.uri
    analysis = await ls.analysis_now(uri)  # the current text, even before the debounce ran
    state = ls.documents.get(uri)
    if state is None or analysis is None:
        return None
    offset = ls.positions(analysis.text).offset(params.position.line, params.position.character)
    found = hover_mod.config_hover(analysis, offset)
    if found is None:
        return None
    markdown, path = found
    facts = state.facts
    if facts is not None:
        from mirrord_ls.features.agent_hover import agent_hover
        from mirrord_ls.features.cluster_hover import cluster_hover

        extra = cluster_hover(path, facts)
        # A templated value never leaves an untrusted workspace (issue 16).
        from mirrord_ls.cluster.trust import templated_value

        trust = facts.trust
        templated = any(templated_value(analysis, p) for p in (("agent", "namespace"), ("target",)))
        sendable = trust is not None and (trust.trusted or not templated)
        agent = (
            await agent_hover(
                path,
                analysis,
                facts,
                ls.runs.cluster_service(),
                dict(os.environ),
                OSS_HOVER_TIMEOUT,
            )
            if sendable
            else None
        )
        if agent:
            extra = f"{extra}\n\n{agent}" if extra else agent
        if extra:
            markdown = f"{extra}\n\n---\n\n{markdown}"
    return to_markdown_hover(markdown)


async def on_completion(
    ls: MirrordLanguageServer, params: types.CompletionParams
) -> types.CompletionList | None:
    uri = params.text_document.uri
    analysis = await ls.analysis_now(uri)  # the current text, even before the debounce ran
    state = ls.documents.get(uri)
    if state is None or state.fmt is None or analysis is None:
        return None
    text = analysis.text
    lines = ls.positions(text)
    offset = lines.offset(params.position.line, params.position.character)
    existing: set[str] = set()
    if analysis.root is not None:
        existing = {m.key for m in analysis.root.members}
    items = completion_mod.complete(text, offset, state.fmt, ls.schema, existing)
    incomplete = False
    context = completion_mod.cursor_context(text, offset, state.fmt)
    if context is not None and context.kind == "value" and ls.settings_for(uri).cluster.enabled:
        from mirrord_ls.features.cluster_completion import cluster_values

        more, incomplete = await cluster_values(
            ls.runs.cluster_service(), ls.tasks, state.facts, state.fmt, context
        )
        items = [*more, *items]
    return to_completion_list(lines, items, offset, incomplete)


async def on_code_action(
    ls: MirrordLanguageServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    from mirrord_ls.features.code_actions import actions_for

    uri = params.text_document.uri
    analysis = await ls.analysis_now(uri)  # the current text, even before the debounce ran
    state = ls.documents.get(uri)
    if state is None or analysis is None:
        return None
    ours = [d for d in params.context.diagnostics if str(d.source or "").startswith("mirrord-ls")]
    lines = ls.positions(analysis.text)
    offsets = [
        (
            lines.offset(d.range.start.line, d.range.start.character),
            lines.offset(d.range.end.line, d.range.end.character),
        )
        for d in ours
    ]
    actions = actions_for(analysis, ours, state.facts, uri, offsets)
    return to_code_actions(lines, uri, actions)


# -- workspace ---------------------------------------------------------------------------------


def on_watched_files(ls: MirrordLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
    paths = {Path(to_fs_path(change.uri) or "") for change in params.changes}
    ls.daemon.config_paths_changed({p for p in paths if str(p)})


async def on_folders(
    ls: MirrordLanguageServer, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    ls.daemon.folders_removed([Path(to_fs_path(r.uri) or "") for r in params.event.removed])
    await ls.load_settings()  # a new folder may have settings of its own
    await ls.daemon.scan()


# -- commands ----------------------------------------------------------------------------------


async def cmd_recheck(ls: MirrordLanguageServer, *args: Any) -> Any:
    """Force a fresh cluster check of one config (args: {uri}) or of all open ones."""
    uri = proto.first_arg(args, proto.DocumentArgs).uri
    one = ls.documents.get(uri)
    targets = [one] if one is not None else ls.documents.values()
    for state in targets:
        await ls.settled(state.uri)  # read the latest text first
    for state in targets:
        if wants_cluster_check(ls.settings_for(state.uri), state):
            ls.runs.start(state, force=True)  # never joins a check begun before the ask
        else:
            ls.schedule(state.uri, 0)
    for state in targets:
        # The answer is about the latest check: one that replaced ours (a kubeconfig change
        # seen meanwhile) is waited for too.
        await ls.settled(state.uri)
        await ls.runs.settled(state)
    return proto.to_json(ls.current_status())


def cmd_show_status(ls: MirrordLanguageServer, *args: Any) -> Any:
    return proto.to_json(ls.current_status())


async def cmd_switch_context(ls: MirrordLanguageServer, *args: Any) -> Any:
    """Write `kube_context` into a config through workspace/applyEdit (never a kubeconfig)."""
    from mirrord_ls.features.edits import set_top_level

    parsed = proto.first_arg(args, proto.SwitchContextArgs)
    uri = parsed.uri or ls.active_uri
    state = ls.documents.get(uri)
    if uri is None or state is None or state.analysis is None or parsed.context is None:
        return proto.to_json(
            proto.SwitchContextResult(False, "no open mirrord config, or no context given")
        )
    edit = set_top_level(state.analysis, "kube_context", parsed.context)
    if edit is None:
        return proto.to_json(proto.SwitchContextResult(False, "the config is not an object"))
    version = state.version if state.is_open else None
    result = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(
            label=f"mirrord: use context {parsed.context}",
            edit=to_versioned_edit(ls.positions(state.analysis.text), uri, version, [edit]),
        )
    )
    return proto.to_json(proto.SwitchContextResult(bool(result.applied), result.failure_reason))


async def cmd_role_binding(ls: MirrordLanguageServer, *args: Any) -> Any:
    """A ready-to-apply ClusterRoleBinding for the admin, shown as a document."""
    from mirrord_ls.features.role_binding import role_binding_for

    uri = proto.first_arg(args, proto.DocumentArgs).uri or ls.active_uri
    state = ls.documents.get(uri)
    facts = state.facts if state else None
    if facts is None or facts.resolved is None:
        return {"error": "no cluster is known for this config yet"}
    result = await role_binding_for(ls.runs.cluster_service(), facts)
    path = result.get("path")
    caps = ls.client_capabilities.window
    if path and caps and caps.show_document and caps.show_document.support:
        await ls.window_show_document_async(
            types.ShowDocumentParams(uri=Path(path).as_uri(), take_focus=True)
        )
    return result


async def cmd_agent_role(ls: MirrordLanguageServer, *args: Any) -> Any:
    """The `agent-forbidden` fix: a Role and RoleBinding for the admin, shown as a document."""
    from mirrord_ls.features.agent_role import agent_role

    parsed = proto.first_arg(args, proto.AgentRoleArgs)
    result = proto.converter.structure(
        agent_role(parsed.namespace, parsed.variant, parsed.user), proto.AgentRoleResult
    )
    path = result.path
    caps = ls.client_capabilities.window
    if path and caps and caps.show_document and caps.show_document.support:
        await ls.window_show_document_async(
            types.ShowDocumentParams(uri=Path(path).as_uri(), take_focus=True)
        )
    return proto.to_json(result)
