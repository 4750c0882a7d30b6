"""The wire: a bounded stdio reader and the LSP lifecycle rules pygls leaves open.

- A `Content-Length` the server cannot hold (4e9, 10^23) is not read into memory:
  the body is drained in chunks, logged, and dropped; the server goes on with the
  next message. Header lines are bounded too.
- Before `initialize`, a request gets error -32002 (ServerNotInitialized) and a
  notification is dropped, except `exit` (LSP 3.17, "Initialize Request").
- After `shutdown`, a request gets error -32600 (InvalidRequest) and only `exit`
  is handled (LSP 3.17, "Shutdown Request").
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidRequest, JsonRpcServerNotInitialized
from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import RPCNotification, RPCRequest

log = logging.getLogger("mirrord_ls.jsonrpc")

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""The largest message body read; a 50 MB config sent by an editor still fits."""
MAX_HEADER_LINE = 8 * 1024
_DRAIN_CHUNK = 1024 * 1024
# What the loop is handed instead of an oversized body: a `$/` notification, which
# a server may ignore (LSP 3.17, "$ Notifications and Requests").
DROPPED = b'{"jsonrpc": "2.0", "method": "$/mirrord-ls/droppedMessage"}'


class BoundedStdinReader(StdinAsyncReader):
    """pygls' stdin reader with a cap on header lines and on message bodies."""

    def __init__(self, stdin: BinaryIO, executor: Any = None, limit: int = MAX_MESSAGE_BYTES):
        super().__init__(stdin, executor)
        self.limit = limit

    def readline(self) -> asyncio.Future[bytes]:
        return self.loop.run_in_executor(self.executor, self.stdin.readline, MAX_HEADER_LINE)

    def readexactly(self, n: int) -> asyncio.Future[bytes]:
        if n <= self.limit:
            return self.loop.run_in_executor(self.executor, self.stdin.read, n)
        log.error(
            "Dropped a message of %d bytes (Content-Length over the %d-byte limit)", n, self.limit
        )
        return self.loop.run_in_executor(self.executor, self._drain, n)

    def _drain(self, n: int) -> bytes:
        left = n
        while left > 0:
            chunk = self.stdin.read(min(_DRAIN_CHUNK, left))
            if not chunk:
                return b""  # the client went away mid-message: end of input
            left -= len(chunk)
        return DROPPED


class MirrordProtocol(LanguageServerProtocol):
    """LanguageServerProtocol that keeps the LSP lifecycle rules for requests."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._initialize_seen = False

    def handle_message(self, message: Any) -> None:
        method = getattr(message, "method", None)
        if method == types.EXIT:
            return super().handle_message(message)
        if not self._initialize_seen:
            if isinstance(message, RPCRequest) and method == types.INITIALIZE:
                self._initialize_seen = True
            elif isinstance(message, RPCRequest):
                self._send_response(
                    message.id, None, JsonRpcServerNotInitialized().to_response_error()
                )
                return None
            elif isinstance(message, RPCNotification):
                log.warning("Dropped %r: the server is not initialized yet", method)
                return None
        if self._shutdown and isinstance(message, RPCRequest):
            error = JsonRpcInvalidRequest("the server is shutting down (shutdown was received)")
            self._send_response(message.id, None, error.to_response_error())
            return None
        return super().handle_message(message)


def start_stdio(server: Any, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Serve LSP over stdio like pygls' `start_io`, with the bounded reader."""
    server._stop_event = stop = threading.Event()
    limit = int(os.environ.get("MIRRORD_LS_MAX_MESSAGE_BYTES") or MAX_MESSAGE_BYTES)
    reader = BoundedStdinReader(stdin or sys.stdin.buffer, server.thread_pool, limit)
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    try:
        asyncio.run(
            run_async(
                stop_event=stop,
                reader=reader,
                protocol=server.protocol,
                logger=log,
                error_handler=server.report_server_error,
            )
        )
    except BrokenPipeError:
        log.error("The connection to the client is lost; shutting down.")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        stop.set()
        server.shutdown()
