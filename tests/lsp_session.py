"""Start the real server over stdio with pytest-lsp's client, and wait on what it sends.

Waiting is always on a notification (with a timeout), never on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER_COMMAND = [sys.executable, "-m", "mirrord_ls", "serve"]


@contextlib.asynccontextmanager
async def lsp_session(
    workspace: Path | None = None,
    *,
    client: str = "visual-studio-code",
    capabilities: types.ClientCapabilities | None = None,
    settings: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    init_options: dict[str, Any] | None = None,
) -> AsyncIterator[LanguageClient]:
    server_env = {**os.environ, **(env or {})}
    config = ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env)
    lsp = await config.start()
    assert isinstance(lsp, LanguageClient)
    lsp.set_configuration(settings or {}, section="mirrordLs")
    folders = None
    root_uri = None
    if workspace is not None:
        root_uri = workspace.as_uri()
        folders = [types.WorkspaceFolder(uri=root_uri, name=workspace.name)]
    caps = capabilities or client_capabilities(client)
    if not (caps.workspace and caps.workspace.configuration) and settings:
        # Clients without workspace/configuration hand settings over at start-up.
        init_options = {**(init_options or {}), "settings": settings}
    await lsp.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=root_uri,
            workspace_folders=folders,
            initialization_options=init_options,
        )
    )
    try:
        yield lsp
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(lsp.shutdown_session(), 10)
        await lsp.stop()


async def wait_for_diagnostics(
    lsp: LanguageClient,
    uri: str,
    predicate: Callable[[Sequence[types.Diagnostic]], bool] = lambda _: True,
    within: float = 15,
) -> Sequence[types.Diagnostic]:
    """Wait until the diagnostics published for `uri` satisfy `predicate`."""

    async def waiter() -> Sequence[types.Diagnostic]:
        while True:
            if uri in lsp.diagnostics and predicate(lsp.diagnostics[uri]):
                return lsp.diagnostics[uri]
            await lsp.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    return await asyncio.wait_for(waiter(), within)


def open_document(lsp: LanguageClient, path: Path, language_id: str = "", version: int = 1) -> str:
    uri = path.as_uri()
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri,
                language_id=language_id or path.suffix.lstrip("."),
                version=version,
                text=path.read_text("utf-8"),
            )
        )
    )
    return uri


def change_document(lsp: LanguageClient, uri: str, text: str, version: int) -> None:
    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def codes(diagnostics: Sequence[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)
