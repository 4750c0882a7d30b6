"""Cluster verdicts in the editor, end to end: real server over stdio, real HTTPS on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types

from lsp_session import change_document, lsp_session, open_document, wait_for_diagnostics
from mirrord_ls.loopback.scenarios import DemoClusters

OPERATOR = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"


def plain(value: Any) -> Any:
    """pygls hands unknown notifications over as named tuples: back to JSON-like values."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def status_capabilities() -> types.ClientCapabilities:
    from pytest_lsp import client_capabilities

    caps = client_capabilities("visual-studio-code")
    caps.experimental = {"mirrordStatus": True}
    return caps


async def test_forbidden_error_hover_and_status(clusters: DemoClusters, tmp_path: Path) -> None:
    work = tmp_path / "ws"
    (work / ".mirrord").mkdir(parents=True)
    config = work / ".mirrord" / "mirrord.json"
    config.write_text('{\n  "kube_context": "forbidden",\n  "target": "deployment/web"\n}\n')
    statuses: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def status_where(predicate: Any) -> dict[str, Any]:
        async def waiter() -> dict[str, Any]:
            while True:
                for status in statuses:
                    if predicate(status):
                        return status
                arrived.clear()
                await arrived.wait()

        return await asyncio.wait_for(waiter(), 15)

    async with lsp_session(
        work, capabilities=status_capabilities(), env={"KUBECONFIG": str(clusters.kubeconfig)}
    ) as lsp:

        @lsp.feature("mirrord/status")
        def on_status(params: Any) -> None:
            statuses.append(plain(params))
            arrived.set()

        uri = open_document(lsp, config, "json")
        diags = await wait_for_diagnostics(
            lsp, uri, lambda d: any(x.code == "operator-forbidden" for x in d)
        )
        (diag,) = diags
        # An error with `operator` unset: mirrord/operator/src/client.rs `OperatorApi::try_new`
        # returns the 403 once discovery lists the kind (`Ok(true) => error`): mirrord stops.
        assert diag.severity == types.DiagnosticSeverity.Error
        assert diag.range.start.line == 1  # on kube_context: no operator key in the file
        assert diag.source == "mirrord-ls (cluster)"
        assert diag.data["context"] == "forbidden" and diag.data["checkedAt"]

        hover = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=1, character=5),
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "Context `forbidden`" in hover.contents.value
        assert "user: bob" in hover.contents.value

        status = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.showStatus")
        )
        assert status["health"] == "error"  # mirrord stops (client.rs try_new, above)
        assert status["operator"] == "forbidden"
        assert status["context"] == "forbidden"
        assert "healthy" in status["contexts"]
        assert any(s.get("operator") == "forbidden" for s in statuses)
        assert any(s.get("busy") for s in statuses)

        # Switch the context in the file: the error goes, the status follows.
        change_document(
            lsp, uri, '{\n  "kube_context": "healthy",\n  "target": "deployment/web"\n}\n', 2
        )
        statuses.clear()
        status = await status_where(lambda s: s.get("operator") == "installed")
        assert status["health"] == "ok" and status["context"] == "healthy"
        assert list(lsp.diagnostics[uri]) == []


async def test_edits_of_unrelated_fields_send_no_request(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    server = clusters.server_for("healthy")
    assert server is not None
    config = tmp_path / "app-mirrord.json"
    config.write_text('{"kube_context": "healthy", "target": "deployment/web"}')
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        await wait_for_diagnostics(lsp, uri)
        # recheck answers once the verdict and the target lookup are in.
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.recheck", arguments=[{"uri": uri}])
        )
        before = server.log.count()
        for version in range(2, 6):
            change_document(
                lsp,
                uri,
                '{"kube_context": "healthy", "target": "deployment/web",'
                f' "agent": {{"ttl": {version}}}}}',
                version,
            )
        # A recheck of all documents waits for every cluster check to finish.
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.showStatus")
        )
        await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 0)
        assert server.log.count() == before


async def test_recheck_command_forces_a_fresh_check(clusters: DemoClusters, tmp_path: Path) -> None:
    server = clusters.server_for("forbidden")
    assert server is not None
    config = tmp_path / "app-mirrord.json"
    config.write_text('{"kube_context": "forbidden"}')
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 1)
        # An admin grants bob the role: a forced re-check sees it at once.
        server.allow_mirrord_operator_user(users=["bob"])
        status = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.recheck", arguments=[{"uri": uri}])
        )
        assert status["operator"] == "installed"
        await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 0)


async def test_client_without_status_gets_errors_once(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    config = tmp_path / "app-mirrord.json"
    config.write_text('{"kube_context": "not-installed", "operator": true}')
    async with lsp_session(
        tmp_path, client="neovim@v0.7.0", env={"KUBECONFIG": str(clusters.kubeconfig)}
    ) as lsp:
        uri = open_document(lsp, config, "json")
        await wait_for_diagnostics(
            lsp, uri, lambda d: any(x.code == "operator-not-installed" for x in d)
        )
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.recheck", arguments=[{"uri": uri}])
        )
        shown = [m for m in lsp.messages if "not installed" in m.message]
        assert len(shown) == 1
