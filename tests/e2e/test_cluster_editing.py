"""Cluster-aware editing over LSP: targets checked and completed, hovers, quick fixes, switch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_session import codes, lsp_session, open_document, wait_for_diagnostics
from mirrord_ls.loopback import LoopbackApiServer
from mirrord_ls.loopback.scenarios import DemoClusters


def doc_id(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


async def complete(lsp: LanguageClient, uri: str, line: int, char: int) -> types.CompletionList:
    result = await lsp.text_document_completion_async(
        types.CompletionParams(
            text_document=doc_id(uri), position=types.Position(line=line, character=char)
        )
    )
    assert isinstance(result, types.CompletionList)
    return result


async def complete_until(
    lsp: LanguageClient, uri: str, line: int, char: int, want: Callable[[set[str]], bool]
) -> set[str]:
    """A cold answer is incomplete; asking again (as editors do on typing) brings the rest."""
    labels: set[str] = set()
    for _ in range(50):
        result = await complete(lsp, uri, line, char)
        labels = {i.label for i in result.items}
        if want(labels) or not result.is_incomplete:
            return labels
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.showStatus")
        )
    return labels


async def actions(lsp: LanguageClient, uri: str, diags: Any) -> list[types.CodeAction]:
    result = await lsp.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc_id(uri),
            range=diags[0].range,
            context=types.CodeActionContext(diagnostics=list(diags)),
        )
    )
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


@pytest.mark.parametrize(
    ("target", "operator", "code"),
    [
        ('"deployment/wbe"', None, "target-not-found"),
        ('"deployment/web/container/side"', None, "target-container-not-found"),
        ('"statefulset/db"', "false", "target-requires-operator"),
        ('"pods/web"', None, "invalid-value"),
        ('{"path": "deployment/web", "namespace": "default"}', None, None),
        # The demo operator (3.120.0) lists no LabelTargeting: mirrord/operator/src/client.rs
        # `check_feature_support` stops with "Feature `label targeting` is not supported ...".
        ('"label/app=nothing-matches"', None, ("feature-unsupported", "target-not-found")),
    ],
)
async def test_target_diagnostics(
    clusters: DemoClusters,
    tmp_path: Path,
    target: str,
    operator: str | None,
    code: str | tuple[str, ...] | None,
) -> None:
    config = tmp_path / "app-mirrord.json"
    extra = f', "operator": {operator}' if operator else ""
    config.write_text(f'{{"kube_context": "healthy", "target": {target}{extra}}}')
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        status = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.recheck", arguments=[{"uri": uri}])
        )
        assert status["context"] == "healthy"
        want = list(code) if isinstance(code, tuple) else ([code] if code else [])
        diags = await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == want)
        if code == "target-not-found" and "wbe" in target:
            assert "Closest: web" in diags[0].message
            fixes = await actions(lsp, uri, diags)
            assert [a.title for a in fixes] == ["Use deployment/web"]


async def test_target_the_user_may_not_read(tmp_path: Path) -> None:
    with LoopbackApiServer() as server:
        server.add_user("carol")
        server.allow_mirrord_operator_user(users=["carol"])
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig", current="loopback-carol")
        # The workspace is a folder of its own: a kubeconfig inside it would not be used.
        (tmp_path / "ws").mkdir()
        config = tmp_path / "ws" / "app-mirrord.json"
        config.write_text('{"target": "deployment/web"}')
        async with lsp_session(tmp_path / "ws", env={"KUBECONFIG": str(kubeconfig)}) as lsp:
            uri = open_document(lsp, config, "json")
            diags = await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == ["target-forbidden"])
            assert "may not get deployments in namespace default" in diags[0].message
            labels = await complete_until(
                lsp, uri, 0, 26, lambda ls: any("may not list" in x for x in ls)
            )
            assert any("may not list deployments" in label for label in labels)


async def test_completion_from_the_cluster(clusters: DemoClusters, tmp_path: Path) -> None:
    config = tmp_path / "app-mirrord.json"
    text = '{\n  "kube_context": "healthy",\n  "target": "deployment/"\n}\n'
    config.write_text(text)
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.recheck", arguments=[{"uri": uri}])
        )
        contexts = {i.label for i in (await complete(lsp, uri, 1, 19)).items}
        assert {"healthy", "forbidden", "not-installed"} <= contexts
        kinds = {i.label for i in (await complete(lsp, uri, 2, 13)).items}
        assert {"deployment/", "pod/", "rollout/", "statefulset/", "targetless"} <= kinds
        names = await complete_until(lsp, uri, 2, 24, lambda ls: "deployment/web" in ls)
        assert "deployment/web" in names


async def test_hover_on_target(clusters: DemoClusters, tmp_path: Path) -> None:
    config = tmp_path / "app-mirrord.json"
    config.write_text('{"kube_context": "healthy", "target": "deployment/web"}')
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.recheck", arguments=[{"uri": uri}])
        )
        hover = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=doc_id(uri), position=types.Position(line=0, character=32)
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        text = hover.contents.value
        assert "deployment/web" in text and "exists" in text and "containers: web, sidecar" in text


async def test_quick_fixes_for_context_field_and_operator(
    clusters: DemoClusters, tmp_path: Path, reference_schema: Path
) -> None:
    config = tmp_path / "app-mirrord.json"
    config.write_text('{\n  "kube_context": "prod",\n  "operator": true,\n  "feture": {}\n}\n')
    async with lsp_session(
        tmp_path,
        env={"KUBECONFIG": str(clusters.kubeconfig)},
        settings={"schema": str(reference_schema)},
    ) as lsp:
        uri = open_document(lsp, config, "json")
        diags = await wait_for_diagnostics(
            lsp, uri, lambda d: {"context-not-found", "unknown-field"} <= set(codes(d))
        )
        by_code = {d.code: d for d in diags}
        fixes = await actions(lsp, uri, [by_code["context-not-found"]])
        titles = [a.title for a in fixes]
        assert "Use context healthy" in titles
        healthy = fixes[titles.index("Use context healthy")]
        assert healthy.edit is not None and healthy.edit.changes is not None
        (edit,) = healthy.edit.changes[uri]
        assert edit.new_text == '"healthy"' and edit.range.start.line == 1
        fixes = await actions(lsp, uri, [by_code["unknown-field"]])
        assert fixes[0].title == 'Rename to "feature"' and fixes[0].is_preferred


async def test_operator_not_installed_fixes_and_role_binding(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    config = tmp_path / "app-mirrord.yaml"
    config.write_text("kube_context: not-installed\noperator: true\n")
    forbidden = tmp_path / "other-mirrord.json"
    forbidden.write_text('{"kube_context": "forbidden"}')
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "yaml")
        diags = await wait_for_diagnostics(
            lsp, uri, lambda d: codes(d) == ["operator-not-installed"]
        )
        fixes = await actions(lsp, uri, diags)
        assert [a.title for a in fixes] == [
            "Set operator to false",
            "Remove operator (try it, run without)",
        ]
        assert fixes[0].edit is not None and fixes[0].edit.changes is not None
        assert fixes[0].edit.changes[uri][0].new_text == "false"
        assert fixes[1].edit is not None and fixes[1].edit.changes is not None
        removal = fixes[1].edit.changes[uri][0]
        assert removal.new_text == "" and removal.range.start.line == 1

        other = open_document(lsp, forbidden, "json")
        diags = await wait_for_diagnostics(lsp, other, lambda d: codes(d) == ["operator-forbidden"])
        result_items = await lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=doc_id(other),
                range=diags[0].range,
                context=types.CodeActionContext(diagnostics=list(diags)),
            )
        )
        # A code action with only a command reads back as a Command in lsprotocol's client.
        (fix,) = result_items or []
        assert fix.title == "Copy the RoleBinding for your admin"
        result = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.roleBinding", arguments=[{"uri": other}])
        )
        assert result["user"] == "bob"
        assert "kind: ClusterRoleBinding" in result["yaml"]
        assert "name: mirrord-operator-user\n" in result["yaml"]
        assert yaml.safe_load(result["yaml"])["subjects"][0]["name"] == "bob"
        assert lsp.shown_documents and lsp.shown_documents[-1].uri.endswith(".yaml")


async def test_switch_context_edits_the_config_not_the_kubeconfig(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    config = tmp_path / "app-mirrord.toml"
    config.write_text('# my config\ntarget = "deployment/web"\n')
    before = clusters.kubeconfig.read_bytes()
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        applied: list[types.ApplyWorkspaceEditParams] = []

        @lsp.feature(types.WORKSPACE_APPLY_EDIT)
        def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            applied.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)

        uri = open_document(lsp, config, "toml")
        await wait_for_diagnostics(lsp, uri)
        result = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="mirrord-ls.switchContext",
                arguments=[{"uri": uri, "context": "forbidden"}],
            )
        )
        assert result["applied"] is True
        (change,) = applied[0].edit.document_changes or []
        assert isinstance(change, types.TextDocumentEdit)
        (edit,) = change.edits
        assert edit.new_text == 'kube_context = "forbidden"\n'
        assert edit.range.start.line == 1  # after the leading comment
    assert clusters.kubeconfig.read_bytes() == before


async def test_hover_on_agent_namespace_says_what_oss_mode_may_do(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    config = tmp_path / "app-mirrord.json"
    config.write_text('{"kube_context": "healthy", "agent": {"namespace": "default"}}')
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.recheck", arguments=[{"uri": uri}])
        )
        hover = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=doc_id(uri), position=types.Position(line=0, character=42)
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        text = hover.contents.value
        assert "without the operator" in text
        assert "`create jobs (batch)`: denied" in text  # the demo users only read workloads
        assert "`list pods`: allowed" in text
