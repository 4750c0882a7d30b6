"""End to end over stdio: the real server process, driven by pytest-lsp's client."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_session import (
    change_document,
    codes,
    lsp_session,
    open_document,
    wait_for_diagnostics,
)

JSON_CONFIG = """{
  "operator": "yes",
  "feature": {
    "nework": {}
  }
}
"""

TOML_CONFIG = """operator = true
[feature.network]
incomin = "steal"
"""

YAML_CONFIG = """feature:
  fs: wirte
"""


def offline(schema: Path | None) -> dict[str, object]:
    """Settings for config-only tests: the schema given, no cluster."""
    settings: dict[str, object] = {"cluster": {"enabled": False}}
    if schema is not None:
        settings["schema"] = str(schema)
    return settings


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / ".mirrord").mkdir()
    (tmp_path / ".mirrord" / "mirrord.json").write_text(JSON_CONFIG)
    (tmp_path / "app-mirrord.toml").write_text(TOML_CONFIG)
    (tmp_path / "app-mirrord.yaml").write_text(YAML_CONFIG)
    return tmp_path


@pytest.mark.parametrize("client", ["visual-studio-code", "neovim@v0.7.0"])
async def test_open_publishes_schema_findings_with_exact_ranges(
    workspace: Path, reference_schema: Path, client: str
) -> None:
    async with lsp_session(workspace, client=client, settings=offline(reference_schema)) as lsp:
        uri = open_document(lsp, workspace / ".mirrord" / "mirrord.json", "json")
        diags = await wait_for_diagnostics(lsp, uri, lambda d: len(d) >= 2)
        by_code = {d.code: d for d in diags}
        assert codes(diags) == ["invalid-value", "unknown-field"]
        unknown = by_code["unknown-field"]
        assert unknown.range == types.Range(
            start=types.Position(line=3, character=4), end=types.Position(line=3, character=12)
        )
        assert 'Did you mean "network"?' in unknown.message
        assert unknown.severity == types.DiagnosticSeverity.Error
        assert unknown.source == "mirrord-ls"
        invalid = by_code["invalid-value"]
        assert invalid.range.start == types.Position(line=1, character=14)
        assert "true or false" in invalid.message

        toml_uri = open_document(lsp, workspace / "app-mirrord.toml", "toml")
        diags = await wait_for_diagnostics(lsp, toml_uri, lambda d: len(d) >= 1)
        assert codes(diags) == ["unknown-field"]
        assert diags[0].range.start == types.Position(line=2, character=0)
        assert 'Did you mean "incoming"?' in diags[0].message

        yaml_uri = open_document(lsp, workspace / "app-mirrord.yaml", "yaml")
        diags = await wait_for_diagnostics(lsp, yaml_uri, lambda d: len(d) >= 1)
        assert codes(diags) == ["invalid-value"]
        assert diags[0].range.start == types.Position(line=1, character=6)


async def test_edit_revalidates_and_close_shows_the_file_on_disk(
    workspace: Path, reference_schema: Path
) -> None:
    async with lsp_session(workspace, settings=offline(reference_schema)) as lsp:
        uri = open_document(lsp, workspace / ".mirrord" / "mirrord.json", "json")
        await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 2)
        change_document(lsp, uri, '{"operator": true}', 2)
        diags = await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 0)
        assert list(diags) == []
        change_document(lsp, uri, '{"operator": true,}', 3)
        diags = await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 1)
        assert diags[0].code == "syntax"
        assert "Trailing comma" in diags[0].message
        close(lsp, uri)
        # Closed without saving: the Problems panel shows the config as it is on disk.
        diags = await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == codes_on_disk)
        assert codes(diags) == codes_on_disk


codes_on_disk = ["invalid-value", "unknown-field"]


def close(lsp: LanguageClient, uri: str) -> None:
    lsp.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )


async def test_close_clears_a_file_outside_the_workspace(
    workspace: Path, tmp_path_factory: pytest.TempPathFactory, reference_schema: Path
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "other-mirrord.json"
    elsewhere.write_text('{"operator": 1}')
    async with lsp_session(workspace, settings=offline(reference_schema)) as lsp:
        uri = open_document(lsp, elsewhere, "json")
        await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 1)
        close(lsp, uri)
        diags = await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 0)
        assert list(diags) == []


async def test_hover_shows_schema_docs(workspace: Path, reference_schema: Path) -> None:
    async with lsp_session(workspace, settings=offline(reference_schema)) as lsp:
        uri = open_document(lsp, workspace / ".mirrord" / "mirrord.json", "json")
        await wait_for_diagnostics(lsp, uri)
        hover = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=1, character=5),
            )
        )
        assert hover is not None
        assert isinstance(hover.contents, types.MarkupContent)
        text = hover.contents.value
        assert "`operator`" in text
        assert "operator" in text.lower() and "Accepts: true or false" in text
        assert "configured schema" in text


async def test_completion_offers_keys_and_values(tmp_path: Path, reference_schema: Path) -> None:
    path = tmp_path / "mirrord.json"
    path.write_text('{\n  "feature": {\n    "network": {\n      "incoming": "\n')
    async with lsp_session(tmp_path, settings=offline(reference_schema)) as lsp:
        uri = open_document(lsp, path, "json")
        result = await lsp.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=3, character=19),
            )
        )
        assert isinstance(result, types.CompletionList)
        labels = {i.label for i in result.items}
        assert {'"steal"', '"mirror"', '"off"'} <= labels
        change_document(lsp, uri, '{\n  "feature": {\n    "ne\n', 2)
        result = await lsp.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=2, character=7),
            )
        )
        assert isinstance(result, types.CompletionList)
        labels = {i.label for i in result.items}
        assert {"network", "env", "fs"} <= labels


async def test_settings_change_revalidates(workspace: Path, tmp_path: Path) -> None:
    async with lsp_session(workspace, settings=offline(None)) as lsp:
        uri = open_document(lsp, workspace / ".mirrord" / "mirrord.json", "json")
        # The built-in schema (mirrord's structure, offline) knows both mistakes.
        diags = await wait_for_diagnostics(lsp, uri)
        assert codes(diags) == ["invalid-value", "unknown-field"]
        # A configured schema that only knows `operator` (a number): one finding left.
        lenient = tmp_path / "lenient-schema.json"
        lenient.write_text('{"type": "object", "properties": {"operator": {"type": "integer"}}}')
        lsp.set_configuration(offline(lenient), section="mirrordLs")
        lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        diags = await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 1)
        assert codes(diags) == ["invalid-value"]


async def test_pull_diagnostics(workspace: Path, reference_schema: Path) -> None:
    caps = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            diagnostic=types.DiagnosticClientCapabilities(dynamic_registration=False)
        ),
        workspace=types.WorkspaceClientCapabilities(
            configuration=True,
            diagnostics=types.DiagnosticWorkspaceClientCapabilities(refresh_support=True),
        ),
    )
    async with lsp_session(workspace, capabilities=caps, settings=offline(reference_schema)) as lsp:
        uri = open_document(lsp, workspace / "app-mirrord.toml", "toml")
        report = await lsp.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
        assert [d.code for d in report.items] == ["unknown-field"]
        again = await lsp.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                previous_result_id=report.result_id,
            )
        )
        assert isinstance(again, types.RelatedUnchangedDocumentDiagnosticReport)
        assert uri not in lsp.diagnostics  # nothing was pushed to a pulling client


async def test_invalid_settings_give_a_message_and_defaults(workspace: Path) -> None:
    async with lsp_session(
        workspace, settings={"cluster": {"timeoutSeconds": "soon", "enabled": False}}
    ) as lsp:
        uri = open_document(lsp, workspace / ".mirrord" / "mirrord.json", "json")
        await wait_for_diagnostics(lsp, uri)
        assert any("timeoutSeconds" in m.message for m in lsp.messages)
