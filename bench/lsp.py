"""Drive the real mirrord-ls server over stdio, and time what it sends.

Every notification the client receives is recorded with its arrival time
(`time.perf_counter()` when the client's handler runs); waits are on those
notifications, with a timeout, never on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

SERVER_COMMAND = [sys.executable, "-m", "mirrord_ls", "serve"]
STATUS = "mirrord/status"
ACTIVE_DOCUMENT = "mirrord/activeDocument"
DIAGNOSTICS = types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS


def plain(value: Any) -> Any:
    """pygls hands unknown notifications over as named tuples: back to JSON-like values."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Event:
    at: float
    """perf_counter() when the client handled the notification."""
    method: str
    uri: str | None
    diagnostics: Sequence[types.Diagnostic] = ()
    status: dict[str, Any] = field(default_factory=dict)


Predicate = Callable[[Event], bool]


class Recorder:
    """Every notification of interest, in arrival order, and waiters on them."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._waiters: list[tuple[Predicate, asyncio.Future[Event]]] = []

    def add(self, event: Event) -> None:
        self.events.append(event)
        keep = []
        for pred, fut in self._waiters:
            if fut.done():
                continue
            if pred(event):
                fut.set_result(event)
            else:
                keep.append((pred, fut))
        self._waiters = keep

    async def wait(self, pred: Predicate, *, since: int = 0, timeout: float = 60) -> Event:
        """The first event at index >= `since` that satisfies `pred` (waiting if none yet)."""
        for event in self.events[since:]:
            if pred(event):
                return event
        fut: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._waiters.append((pred, fut))
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise TimeoutError(f"no matching notification within {timeout} s") from None

    def mark(self) -> int:
        return len(self.events)


def _client_factory(recorder: Recorder) -> Callable[[], LanguageClient]:
    def make() -> LanguageClient:
        client = LanguageClient(converter_factory=default_converter)

        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            client.diagnostics[params.uri] = params.diagnostics
            recorder.add(Event(time.perf_counter(), DIAGNOSTICS, params.uri, params.diagnostics))

        def on_status(params: Any) -> None:
            status = plain(params)
            status = status if isinstance(status, dict) else {}
            recorder.add(Event(time.perf_counter(), STATUS, status.get("document"), (), status))

        def on_register(params: types.RegistrationParams) -> None:
            return None  # accept, as VS Code does (the server may ask to watch files)

        features = dict(DEFAULT_CLIENT_FEATURES)
        features[DIAGNOSTICS] = on_diagnostics
        features[STATUS] = on_status
        features[types.CLIENT_REGISTER_CAPABILITY] = on_register
        register_lsp_features(client, features)
        return client

    return make


@dataclass
class Session:
    client: LanguageClient
    recorder: Recorder
    pid: int
    versions: dict[str, int] = field(default_factory=dict)

    # -- documents -------------------------------------------------------------
    def open(self, path: Path, text: str | None = None, *, active: bool = True) -> str:
        """didOpen; with `active`, first tell the server it is the active editor (as the
        VS Code extension does), so `mirrord/status` follows this document."""
        uri = path.as_uri()
        self.versions[uri] = 1
        if active:
            self.client.protocol.notify(ACTIVE_DOCUMENT, {"uri": uri})
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri,
                    language_id=path.suffix.lstrip(".") or "json",
                    version=1,
                    text=path.read_text("utf-8") if text is None else text,
                )
            )
        )
        return uri

    def close(self, uri: str) -> None:
        self.versions.pop(uri, None)
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    async def diagnostics(
        self,
        uri: str,
        pred: Callable[[Sequence[types.Diagnostic]], bool] = lambda _: True,
        *,
        since: int = 0,
        timeout: float = 60,
    ) -> Event:
        return await self.recorder.wait(
            lambda e: e.method == DIAGNOSTICS and e.uri == uri and pred(e.diagnostics),
            since=since,
            timeout=timeout,
        )

    async def verdict(self, uri: str, kind: str, *, since: int = 0, timeout: float = 60) -> Event:
        """The `mirrord/status` that reports verdict `kind` for `uri` (sent right after the
        document's diagnostics with that verdict are published)."""
        return await self.recorder.wait(
            lambda e: e.method == STATUS and e.uri == uri and e.status.get("operator") == kind,
            since=since,
            timeout=timeout,
        )

    def last_diagnostics_before(self, uri: str, event: Event) -> Event | None:
        """The last publishDiagnostics for `uri` received at or before `event`."""
        found = None
        for e in self.recorder.events:
            if e.at > event.at:
                break
            if e.method == DIAGNOSTICS and e.uri == uri:
                found = e
        return found

    # -- requests --------------------------------------------------------------
    async def hover(self, uri: str, line: int, character: int) -> tuple[float, Any]:
        t0 = time.perf_counter()
        result = await self.client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
            )
        )
        return time.perf_counter() - t0, result

    async def completion(self, uri: str, line: int, character: int) -> tuple[float, Any]:
        t0 = time.perf_counter()
        result = await self.client.text_document_completion_async(
            types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
            )
        )
        return time.perf_counter() - t0, result

    async def command(self, name: str, *args: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(args) or None)
        )

    # -- the server process ----------------------------------------------------
    def rss_mb(self) -> float:
        """VmRSS of the server process, in MiB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """utime + stime of the server process, in seconds."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return ticks / os.sysconf("SC_CLK_TCK")


def server_env(base: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: no MIRRORD_* or KUBECONFIG from the caller, a private HOME."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("MIRRORD_") and k != "KUBECONFIG"
    }
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    env["HOME"] = str(home)
    env["MIRRORD_LS_CACHE_DIR"] = str(base / "mirrord-ls-cache")
    env.update(extra or {})
    return env


@contextlib.asynccontextmanager
async def session(
    workspace: Path,
    *,
    settings: dict[str, Any],
    env: dict[str, str],
    status: bool = True,
) -> AsyncIterator[Session]:
    """The real server over stdio, initialized, with `settings` served as `mirrordLs`."""
    recorder = Recorder()
    config = ClientServerConfig(
        server_command=SERVER_COMMAND, server_env=env, client_factory=_client_factory(recorder)
    )
    client = await config.start()
    assert isinstance(client, LanguageClient)
    try:
        client.set_configuration(settings, section="mirrordLs")
        caps = client_capabilities("visual-studio-code")
        if status:
            caps.experimental = {"mirrordStatus": True}
        await client.initialize_session(
            types.InitializeParams(
                capabilities=caps,
                root_uri=workspace.as_uri(),
                workspace_folders=[
                    types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)
                ],
            )
        )
        assert client._server is not None
        yield Session(client, recorder, client._server.pid)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), 10)
        await client.stop()
