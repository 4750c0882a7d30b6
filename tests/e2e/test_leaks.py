"""Finished work leaves nothing behind (issue 16, "Soak"): after slow cluster checks that
showed progress, re-checks, edits and a close, the server holds no progress token, no
finished task, no cluster-check or text-walk task, and no request awaiting the client.

Read through the `mirrord-ls.internals` command (enabled by MIRRORD_LS_INTERNALS=1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from lsp_session import change_document, lsp_session, open_document, wait_for_diagnostics
from mirrord_ls.loopback import Fault
from mirrord_ls.loopback.scenarios import DemoClusters

OPERATOR = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"


async def command(lsp: LanguageClient, name: str, uri: str | None = None) -> Any:
    return await lsp.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=[{"uri": uri}] if uri else None)
    )


async def test_a_finished_check_leaves_no_token_task_or_future(
    clusters: DemoClusters, tmp_path: Path, reference_schema: Path
) -> None:
    server = clusters.server_for("healthy")
    assert server is not None
    server.inject(Fault.latency(OPERATOR, 0.6))  # slow enough to show progress
    config = tmp_path / "app-mirrord.json"
    config.write_text('{"kube_context": "healthy"}')
    env = {"KUBECONFIG": str(clusters.kubeconfig), "MIRRORD_LS_INTERNALS": "1"}
    caps = client_capabilities("visual-studio-code")
    # A configured schema: no background refresh of the published one re-checks meanwhile.
    settings = {"schema": str(reference_schema)}
    async with lsp_session(tmp_path, capabilities=caps, env=env, settings=settings) as lsp:
        uri = open_document(lsp, config, "json")
        await wait_for_diagnostics(lsp, uri)
        for _ in range(3):
            await command(lsp, "mirrord-ls.recheck", uri)
        change_document(lsp, uri, '{"kube_context": "forbidden"}', 2)
        await command(lsp, "mirrord-ls.recheck", uri)
        ends = [
            r
            for values in lsp.progress_reports.values()
            for r in values
            if getattr(r, "kind", None) == "end"
        ]
        assert len(ends) >= 3  # the checks were slow: progress was shown, and ended
        for when in ("open", "closed"):
            held = await command(lsp, "mirrord-ls.internals")
            assert held["progressTokens"] == 0, (when, held)
            assert held["runningClusterChecks"] == 0, (when, held)
            assert held["pendingWalks"] == 0, (when, held)
            assert not {"cluster", "check"} & set(held["tasks"]), (when, held)
            assert held["finishedTasksAlive"] == 0, (when, held)
            assert held["requestsAwaitingClient"] == 1, (when, held)  # this very request
            if when == "open":
                # Closed, the workspace config is read from disk and checked again: once
                # that check ended (recheck answers then), nothing is left either.
                lsp.text_document_did_close(
                    types.DidCloseTextDocumentParams(
                        text_document=types.TextDocumentIdentifier(uri=uri)
                    )
                )
                await command(lsp, "mirrord-ls.recheck", uri)
