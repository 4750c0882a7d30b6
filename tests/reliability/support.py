"""The real server over stdio, with everything it says recorded.

`recorded_session` starts `mirrord-ls serve` like `lsp_session` does, and keeps every
message the server sent (notifications, responses, requests, as their repr), everything it
wrote on stderr, and the `mirrord/status` notifications. Waiting is on events, with timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_session import SERVER_COMMAND

OPERATOR = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
DISCOVERY = "/apis/operator.metalbear.co/v1"


async def bounded(awaitable: Any, within: float) -> Any:
    """Await with a timeout that never waits on the cancellation itself (a request whose
    answer never comes cannot always be cancelled promptly)."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        task.cancel()
        raise TimeoutError(f"no answer within {within} s")
    return task.result()


def plain(value: Any) -> Any:
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass
class Recorded:
    lsp: LanguageClient
    messages: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pid(self) -> int:
        server = self.lsp._server
        assert server is not None
        return server.pid

    def proc_status(self, key: str) -> int:
        """A number from /proc/<pid>/status (VmRSS in kB, Threads)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def everything(self) -> str:
        return "\n".join([*self.messages, *self.stderr, *map(repr, self.statuses)])

    async def wait_status(self, predicate: Callable[[dict[str, Any]], bool], within: float = 15):
        async def waiter() -> dict[str, Any]:
            while True:
                for status in reversed(self.statuses):
                    if predicate(status):
                        return status
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(waiter(), within)

    async def diagnostics(
        self,
        uri: str,
        predicate: Callable[[Sequence[types.Diagnostic]], bool] = lambda _: True,
        within: float = 15,
    ) -> Sequence[types.Diagnostic]:
        lsp = self.lsp

        async def waiter() -> Sequence[types.Diagnostic]:
            while True:
                if uri in lsp.diagnostics and predicate(lsp.diagnostics[uri]):
                    return lsp.diagnostics[uri]
                await lsp.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

        return await asyncio.wait_for(waiter(), within)

    async def command(self, name: str, *args: Any, within: float = 20) -> Any:
        return await bounded(
            self.lsp.workspace_execute_command_async(
                types.ExecuteCommandParams(command=name, arguments=list(args) or None)
            ),
            within,
        )

    async def hover(self, uri: str, line: int, character: int, within: float = 10) -> Any:
        return await bounded(
            self.lsp.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=character),
                )
            ),
            within,
        )

    async def complete(self, uri: str, line: int, character: int, within: float = 10) -> Any:
        return await bounded(
            self.lsp.text_document_completion_async(
                types.CompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=character),
                )
            ),
            within,
        )

    def open(self, path: Path, text: str | None = None, version: int = 1) -> str:
        uri = path.as_uri()
        self.lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri,
                    language_id=path.suffix.lstrip(".") or "json",
                    version=version,
                    text=path.read_text("utf-8") if text is None else text,
                )
            )
        )
        return uri

    def change(self, uri: str, text: str, version: int) -> None:
        self.lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    def close(self, uri: str) -> None:
        self.lsp.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )


def status_capabilities() -> types.ClientCapabilities:
    caps = client_capabilities("visual-studio-code")
    caps.experimental = {"mirrordStatus": True}
    return caps


@contextlib.asynccontextmanager
async def recorded_session(
    workspace: Path | None,
    *,
    settings: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    init_options: dict[str, Any] | None = None,
    capabilities: types.ClientCapabilities | None = None,
) -> AsyncIterator[Recorded]:
    config = ClientServerConfig(
        server_command=SERVER_COMMAND, server_env={**os.environ, **(env or {})}
    )
    lsp = await config.start()
    assert isinstance(lsp, LanguageClient)
    rec = Recorded(lsp)

    # Keep stderr ourselves (pytest-lsp only forwards it).
    if lsp._stderr_forwarder is not None:
        lsp._stderr_forwarder.cancel()
    server = lsp._server
    assert server is not None and server.stderr is not None
    stream = server.stderr

    async def read_stderr() -> None:
        while line := await stream.readline():
            rec.stderr.append(line.decode("utf-8", "replace"))

    stderr_task = asyncio.create_task(read_stderr())

    original = lsp.protocol.handle_message

    def handle(message: Any) -> None:
        rec.messages.append(repr(message))
        original(message)

    lsp.protocol.handle_message = handle  # type: ignore[method-assign]

    @lsp.feature("mirrord/status")
    def on_status(params: Any) -> None:
        rec.statuses.append(plain(params))
        rec.changed.set()

    lsp.set_configuration(settings or {}, section="mirrordLs")
    folders = None
    root_uri = None
    if workspace is not None:
        root_uri = workspace.as_uri()
        folders = [types.WorkspaceFolder(uri=root_uri, name=workspace.name)]
    await lsp.initialize_session(
        types.InitializeParams(
            capabilities=capabilities or status_capabilities(),
            root_uri=root_uri,
            workspace_folders=folders,
            initialization_options=init_options,
        )
    )
    try:
        yield rec
    finally:
        with contextlib.suppress(Exception):
            await bounded(lsp.shutdown_session(), 10)
        try:
            await bounded(lsp.stop(), 10)
        except TimeoutError:
            server.kill()
            raise
        with contextlib.suppress(Exception):
            await asyncio.wait_for(stderr_task, 5)


def run_check(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mirrord_ls", "check", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
