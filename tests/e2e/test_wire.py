"""The wire and the lifecycle, over the real server's stdio with raw JSON-RPC framing.

pytest-lsp's client always initializes first and never sends a hostile header,
so these tests speak the framing themselves (the LSP base protocol).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest

SERVER = [sys.executable, "-m", "mirrord_ls", "serve"]
WAIT = 60.0  # generous: about correctness, not speed


class Wire:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls) -> Wire:
        proc = await asyncio.create_subprocess_exec(
            *SERVER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        length = None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), WAIT)
            if not line:
                raise EOFError("the server closed its stdout")
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            elif line == b"\r\n" and length is not None:
                body = await asyncio.wait_for(self.proc.stdout.readexactly(length), WAIT)
                return json.loads(body)

    async def response(self, msg_id: int) -> dict[str, Any]:
        """The response to request `msg_id` (notifications and server requests skipped)."""
        while True:
            message = await self.receive()
            if message.get("id") == msg_id and "method" not in message:
                return message

    async def initialize(self) -> None:
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": None, "capabilities": {}},
            }
        )
        assert "result" in await self.response(1)
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    async def close(self) -> int:
        if self.proc.returncode is None:
            self.send({"jsonrpc": "2.0", "method": "exit"})
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                return await asyncio.wait_for(self.proc.wait(), WAIT)
            except TimeoutError:
                self.proc.kill()
                return await self.proc.wait()
        return self.proc.returncode


def hover(msg_id: int) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": msg_id,
        "method": "textDocument/hover",
        "params": {
            "textDocument": {"uri": "file:///tmp/none/.mirrord/mirrord.json"},
            "position": {"line": 0, "character": 0},
        },
    }


async def test_request_before_initialize_gets_32002() -> None:
    wire = await Wire.start()
    try:
        wire.send(hover(7))
        answer = await wire.response(7)
        assert answer["error"]["code"] == -32002
        await wire.initialize()  # and the server still initializes afterwards
    finally:
        await wire.close()


async def test_request_after_shutdown_gets_32600_and_exit_ends_cleanly() -> None:
    wire = await Wire.start()
    try:
        await wire.initialize()
        wire.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        assert (await wire.response(2)).get("result") is None
        wire.send(hover(3))
        answer = await wire.response(3)
        assert answer["error"]["code"] == -32600
    finally:
        assert await wire.close() == 0


@pytest.mark.parametrize("length", [b"4000000000", b"100000000000000000000000"])
async def test_huge_content_length_is_dropped_and_the_server_goes_on(length: bytes) -> None:
    wire = await Wire.start()
    try:
        await wire.initialize()
        # A header the server must not try to hold in memory, then a short body
        # and the end of input: the server drains, finds the end, and exits.
        wire.send_raw(b"Content-Length: " + length + b"\r\n\r\n{}")
        assert wire.proc.stdin is not None
        wire.proc.stdin.close()
        assert wire.proc.stderr is not None
        stderr = await asyncio.wait_for(wire.proc.stderr.read(), WAIT)
        assert await asyncio.wait_for(wire.proc.wait(), WAIT) == 0
        assert b"OverflowError" not in stderr and b"MemoryError" not in stderr
        assert b"Dropped a message" in stderr
    finally:
        await wire.close()


async def test_oversized_message_is_skipped_then_the_next_one_answered(monkeypatch: Any) -> None:
    monkeypatch.setenv("MIRRORD_LS_MAX_MESSAGE_BYTES", "1024")
    wire = await Wire.start()
    try:
        await wire.initialize()
        big = json.dumps(hover(4) | {"padding": "x" * 5000}).encode()
        wire.send_raw(b"Content-Length: %d\r\n\r\n" % len(big) + big)
        wire.send(hover(5))
        answer = await wire.response(5)
        assert "error" not in answer
    finally:
        await wire.close()
