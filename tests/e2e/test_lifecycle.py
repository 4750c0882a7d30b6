"""Regression tests for the bugs of the server's old shape (issue 11), end to end over stdio.

Each waits on what the server sends (a publish, a status, a response, the process's
exit), bounded by a timeout; none sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_session import SERVER_COMMAND, codes, lsp_session, open_document, wait_for_diagnostics
from mirrord_ls.loopback import Fault
from mirrord_ls.loopback.scenarios import DemoClusters
from reliability.support import recorded_session

OPERATOR = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
UNKNOWN_FIELD = '{\n  "feature": {"nework": {}}\n}\n'


class Publishes:
    """Every publishDiagnostics the client receives, in order, with a way to wait for the
    next one of a document after a mark."""

    def __init__(self, lsp: LanguageClient) -> None:
        self.seen: list[types.PublishDiagnosticsParams] = []
        self.arrived = asyncio.Event()
        original = lsp.protocol.handle_message

        def handle(message: Any) -> None:
            original(message)
            if getattr(message, "method", None) == types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
                self.seen.append(message.params)
                self.arrived.set()

        lsp.protocol.handle_message = handle  # type: ignore[method-assign]

    def mark(self) -> int:
        return len(self.seen)

    async def after(
        self, uri: str, mark: int, within: float = 15
    ) -> types.PublishDiagnosticsParams:
        """The first publish for `uri` after `mark`."""

        async def waiter() -> types.PublishDiagnosticsParams:
            while True:
                for params in self.seen[mark:]:
                    if params.uri == uri:
                        return params
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(waiter(), within)


def switch_context(kubeconfig: Path, context: str) -> None:
    """What `kubectl config use-context` does: write a temporary file, rename it over."""
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["current-context"] = context
    tmp = kubeconfig.with_name(kubeconfig.name + ".tmp")
    tmp.write_text(yaml.safe_dump(doc))
    os.replace(tmp, kubeconfig)


def pull_capabilities() -> types.ClientCapabilities:
    caps = client_capabilities("visual-studio-code")
    assert caps.text_document and caps.workspace
    caps.text_document.diagnostic = types.DiagnosticClientCapabilities(dynamic_registration=False)
    caps.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    return caps


async def pull(lsp: LanguageClient, uri: str, previous: str | None = None) -> Any:
    return await asyncio.wait_for(
        lsp.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=previous
            )
        ),
        15,
    )


# -- 1. cluster checks off: a kubeconfig rewrite asks no cluster -------------------------------


async def test_kubeconfig_rewrite_with_cluster_checks_off_asks_no_cluster(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    forbidden = clusters.server_for("forbidden")
    assert forbidden is not None
    switch_context(clusters.kubeconfig, "forbidden")
    config = tmp_path / "app-mirrord.json"
    config.write_text('{\n  "target": "deployment/web"\n}\n')
    settings = {"cluster": {"enabled": False}}
    env = {"KUBECONFIG": str(clusters.kubeconfig)}
    async with lsp_session(tmp_path, settings=settings, env=env) as lsp:
        publishes = Publishes(lsp)
        uri = open_document(lsp, config, "json")
        await wait_for_diagnostics(lsp, uri)
        before = forbidden.log.count()
        mark = publishes.mark()
        switch_context(clusters.kubeconfig, "forbidden")  # rewritten, as kubectl does
        after = await publishes.after(uri, mark)
        assert "operator-forbidden" not in codes(after.diagnostics)
        assert forbidden.log.count() == before, "the server asked the cluster"


# -- 4. the client's live officialExtensionInstalled is obeyed ---------------------------------


async def test_live_official_extension_update_hides_json_schema_findings(
    tmp_path: Path, reference_schema: Path
) -> None:
    config = tmp_path / "app-mirrord.json"
    config.write_text(UNKNOWN_FIELD)
    settings: dict[str, Any] = {
        "schema": str(reference_schema),
        "cluster": {"enabled": False},
        "officialExtensionInstalled": False,
    }
    async with lsp_session(
        tmp_path, settings=settings, init_options={"officialExtensionInstalled": False}
    ) as lsp:
        uri = open_document(lsp, config, "json")
        await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == ["unknown-field"])
        # The official extension was installed meanwhile: VS Code's client says so in the
        # section it answers, and tells the server to read its settings again.
        lsp.set_configuration({**settings, "officialExtensionInstalled": True}, section="mirrordLs")
        lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == [])


# -- 5. a kubeconfig change marks the old verdict while the new check runs ----------------------


async def test_context_switch_marks_the_old_verdict_while_the_new_check_runs(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    healthy = clusters.server_for("healthy")
    assert healthy is not None
    switch_context(clusters.kubeconfig, "forbidden")
    config = tmp_path / "app-mirrord.json"
    config.write_text('{\n  "feature": {}\n}\n')
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        publishes = Publishes(lsp)
        uri = open_document(lsp, config, "json")
        await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == ["operator-forbidden"])
        hang = healthy.inject(Fault.hang(OPERATOR))
        try:
            mark = publishes.mark()
            switch_context(clusters.kubeconfig, "healthy")
            first = await publishes.after(uri, mark)
            # Not the old verdict as if it were fresh: it is marked while "healthy" is asked.
            assert [d.message.endswith("(re-checking...)") for d in first.diagnostics] == [True]
            assert first.diagnostics[0].data["context"] == "forbidden"
        finally:
            hang.release()
        await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == [])


# -- 6. exit while a cluster check is in flight ---------------------------------------------------


@contextlib.asynccontextmanager
async def raw_session(
    workspace: Path,
    env: dict[str, str],
    capabilities: types.ClientCapabilities | None = None,
    before_initialize: Any = None,
) -> AsyncIterator[tuple[LanguageClient, list[str], asyncio.Task[None]]]:
    """The real server over stdio, its stderr kept (the test drives shutdown itself)."""
    config = ClientServerConfig(server_command=SERVER_COMMAND, server_env={**os.environ, **env})
    lsp = await config.start()
    assert isinstance(lsp, LanguageClient)
    if lsp._stderr_forwarder is not None:
        lsp._stderr_forwarder.cancel()
    server = lsp._server
    assert server is not None and server.stderr is not None
    stream = server.stderr
    lines: list[str] = []

    async def read() -> None:
        while line := await stream.readline():
            lines.append(line.decode("utf-8", "replace"))

    reader = asyncio.create_task(read())
    caps = capabilities or client_capabilities("visual-studio-code")
    caps.experimental = {"mirrordStatus": True}
    lsp.set_configuration({}, section="mirrordLs")
    if before_initialize is not None:
        before_initialize(lsp)
    await lsp.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
        )
    )
    try:
        yield lsp, lines, reader
    finally:
        if server.returncode is None:
            server.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(lsp.stop(), 10)


async def test_exit_during_a_cluster_check_writes_nothing_to_the_closed_stdout(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    healthy = clusters.server_for("healthy")
    assert healthy is not None
    switch_context(clusters.kubeconfig, "healthy")
    hang = healthy.inject(Fault.hang(OPERATOR))
    config = tmp_path / "app-mirrord.json"
    config.write_text('{\n  "feature": {}\n}\n')
    env = {"KUBECONFIG": str(clusters.kubeconfig), "MIRRORD_LS_LOG": "INFO"}
    try:
        async with raw_session(tmp_path, env) as (lsp, stderr, reader):
            began = asyncio.wrap_future(lsp.protocol.wait_for_notification(types.PROGRESS))
            open_document(lsp, config, "json")
            # The check is in flight (hanging), long enough to report progress.
            await asyncio.wait_for(began, 15)
            await asyncio.wait_for(lsp.shutdown_session(), 15)
            server = lsp._server
            assert server is not None
            await asyncio.wait_for(server.wait(), 15)
            await asyncio.wait_for(reader, 15)
            text = "".join(stderr)
            assert "closed file" not in text, text
            assert "Traceback" not in text, text
            assert server.returncode == 0
    finally:
        hang.release()


# -- 7. a client's $/cancelRequest reaches the pull handler ---------------------------------------


async def test_cancelled_pull_is_answered_as_cancelled(tmp_path: Path) -> None:
    config = tmp_path / "app-mirrord.json"
    config.write_text(UNKNOWN_FIELD)
    release = asyncio.Event()

    def hold_settings(lsp: LanguageClient) -> None:
        # Hold the server's first settings request: its checks wait for settings first,
        # so a pull sent now waits too.
        answer = lsp.protocol.fm.features[types.WORKSPACE_CONFIGURATION]

        async def held(params: types.ConfigurationParams) -> Any:
            await release.wait()
            return answer(params)

        lsp.protocol.fm.features[types.WORKSPACE_CONFIGURATION] = held

    try:
        async with raw_session(
            tmp_path, {}, capabilities=pull_capabilities(), before_initialize=hold_settings
        ) as (lsp, _stderr, _reader):
            uri = open_document(lsp, config, "json")
            msg_id = "pull-to-cancel"
            future = lsp.protocol.send_request(
                types.TEXT_DOCUMENT_DIAGNOSTIC,
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri)),
                msg_id=msg_id,
            )
            lsp.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
            answered = asyncio.wrap_future(future)
            done, _ = await asyncio.wait({answered}, timeout=15)
            assert done, "no answer to the cancelled request"
            assert isinstance(answered.exception(), JsonRpcRequestCancelled), answered
            release.set()
            await asyncio.wait_for(lsp.shutdown_session(), 15)
    finally:
        release.set()


# -- 8. pull result ids never repeat across a reopen -----------------------------------------------


async def test_reopened_document_never_answers_unchanged_for_an_old_result(
    tmp_path: Path, reference_schema: Path
) -> None:
    config = tmp_path / "app-mirrord.json"
    config.write_text(UNKNOWN_FIELD)
    settings = {"schema": str(reference_schema), "cluster": {"enabled": False}}
    async with lsp_session(None, capabilities=pull_capabilities(), settings=settings) as lsp:
        uri = open_document(lsp, config, "json")
        first = await pull(lsp, uri)
        assert codes(first.items) == ["unknown-field"]
        lsp.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        config.write_text('{\n  "feature": {"network": {}}\n}\n')
        open_document(lsp, config, "json")
        second = await pull(lsp, uri, previous=first.result_id)
        assert second.kind == "full", "answered 'unchanged' with the old text's diagnostics"
        assert second.result_id != first.result_id
        assert codes(second.items) == []
        third = await pull(lsp, uri, previous=second.result_id)
        assert third.kind == "unchanged"


# -- 9. settings per workspace folder -----------------------------------------------------------


async def test_each_folder_of_a_multi_root_workspace_has_its_own_settings(
    tmp_path: Path, reference_schema: Path
) -> None:
    quiet, loud = tmp_path / "quiet", tmp_path / "loud"
    for folder in (quiet, loud):
        folder.mkdir()
        (folder / "app-mirrord.json").write_text(UNKNOWN_FIELD)
    base = {"schema": str(reference_schema), "cluster": {"enabled": False}}
    async with lsp_session(quiet, settings=base) as lsp:
        lsp.set_configuration(
            {**base, "schemaDiagnostics": {"json": "off"}},
            section="mirrordLs",
            scope_uri=quiet.as_uri(),
        )
        lsp.set_configuration(
            {**base, "schemaDiagnostics": {"json": "on"}},
            section="mirrordLs",
            scope_uri=loud.as_uri(),
        )
        lsp.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                event=types.WorkspaceFoldersChangeEvent(
                    added=[types.WorkspaceFolder(uri=loud.as_uri(), name="loud")], removed=[]
                )
            )
        )
        lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        loud_uri = open_document(lsp, loud / "app-mirrord.json", "json")
        quiet_uri = open_document(lsp, quiet / "app-mirrord.json", "json")
        await wait_for_diagnostics(lsp, loud_uri, lambda d: codes(d) == ["unknown-field"])
        await wait_for_diagnostics(lsp, quiet_uri, lambda d: codes(d) == [])


async def test_the_log_level_follows_the_client(tmp_path: Path) -> None:
    async with recorded_session(tmp_path, settings={"cluster": {"enabled": False}}) as rec:
        rec.lsp.protocol.notify("mirrord/logLevel", {"level": "info"})
        status = await rec.command("mirrord-ls.showStatus")  # handled after the notification
        assert status["health"] == "ok"
    assert any("log level is now INFO" in line for line in rec.stderr), rec.stderr


# -- issue 12: completion, hover and code actions answer on the current text -------------------


@pytest.mark.parametrize(
    ("text", "line", "character", "expected"),
    [
        ('{\n  "kube_context": ""\n}\n', 1, 19, "healthy"),
        ('{\n  "target": "deployment/"\n}\n', 1, 24, "deployment/web"),
    ],
)
async def test_completion_in_the_same_batch_as_the_change_that_made_it_possible(
    clusters: DemoClusters,
    tmp_path: Path,
    text: str,
    line: int,
    character: int,
    expected: str,
) -> None:
    switch_context(clusters.kubeconfig, "healthy")
    config = tmp_path / "app-mirrord.json"
    config.write_text("{\n}\n")
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        params = types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )
        first = await asyncio.wait_for(lsp.text_document_completion_async(params), 15)
        assert isinstance(first, types.CompletionList)
        labels = [item.label for item in first.items]
        # Either the cluster already answered, or the editor is told to ask again.
        assert expected in labels or first.is_incomplete, labels
        result = first
        for _ in range(10):  # the editor asks again as the user types: so do we
            if expected in [item.label for item in result.items]:
                break
            # recheck answers once the cluster check of the current text is done.
            await asyncio.wait_for(
                lsp.workspace_execute_command_async(
                    types.ExecuteCommandParams(
                        command="mirrord-ls.recheck", arguments=[{"uri": uri}]
                    )
                ),
                30,
            )
            result = await asyncio.wait_for(lsp.text_document_completion_async(params), 15)
        assert expected in [item.label for item in result.items]
