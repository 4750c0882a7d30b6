"""Reading a schema from a path or an http(s) URL, within a size cap and a total deadline.

A schema location comes from settings (`mirrordLs.schema`, possibly a workspace's), from
`$ref`s inside a schema, or is mirrord's published address. None of them may stall the
server: a file is read through `fs.read_regular` (regular files only, capped: no FIFO, no
/dev/zero), and a URL is fetched with a per-operation socket timeout *and* a total deadline
that cuts the connection however slowly the server trickles bytes (headers and TLS handshake
included), and with a size cap. Proxies configured in the environment are honoured (urllib).
Blocking: call from a worker thread.
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from mirrord_ls.fs import FileReadError, read_regular

FETCH_TIMEOUT = 10.0
"""Total time for one URL, connection to last byte."""
MAX_SCHEMA_BYTES = 16 * 1024 * 1024


class FetchError(Exception):
    """Why a schema location could not be read, in words."""


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def read_file(location: str, limit: int = MAX_SCHEMA_BYTES) -> tuple[bytes, str]:
    """The bytes of a schema file (`~` and `$VAR` expanded), and its path as read."""
    path = Path(os.path.expandvars(location)).expanduser()
    try:
        return read_regular(path, limit=limit), str(path)
    except FileReadError as exc:
        raise FetchError(f"{path} could not be read: {exc.reason}.") from exc


class _Cutter:
    """Shuts every socket of one fetch down when its deadline passes."""

    def __init__(self, deadline: float) -> None:
        self.sockets: list[socket.socket] = []
        self.expired = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self.cut)
        self._timer.daemon = True
        self._timer.start()

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self.sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def cut(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self.sockets:
                _shutdown(sock)

    def stop(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _opener(cutter: _Cutter) -> urllib.request.OpenerDirector:
    """urllib with connections whose raw sockets the cutter knows (before any TLS)."""

    def tracked(base: Any) -> Any:
        class Tracked(base):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                create: Any = getattr(self, "_create_connection")  # noqa: B009

                def create_tracked(*a: Any, **kw: Any) -> socket.socket:
                    sock: socket.socket = create(*a, **kw)
                    cutter.track(sock)
                    return sock

                self._create_connection = create_tracked

        return Tracked

    http_conn = tracked(http.client.HTTPConnection)
    https_conn = tracked(http.client.HTTPSConnection)

    class HTTP(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(http_conn, req)

    class HTTPS(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(https_conn, req, context=getattr(self, "_context", None))

    return urllib.request.build_opener(HTTP, HTTPS)


def fetch_url(
    url: str,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
    limit: int = MAX_SCHEMA_BYTES,
) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) of a GET, all within `timeout` seconds and `limit` bytes.

    A 304 is returned as such (for revalidation); other HTTP errors raise FetchError.
    """
    timeout = FETCH_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    cutter = _Cutter(deadline)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener(cutter).open(request, timeout=timeout) as response:
            chunks: list[bytes] = []
            total = 0
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = response.read(min(64 * 1024, limit + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > limit:
                    raise FetchError(f"{url} is larger than {limit // (1024 * 1024)} MB.")
            return response.status, b"".join(chunks), dict(response.headers.items())
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return 304, b"", dict(exc.headers.items())
        raise FetchError(f"{url} answered HTTP {exc.code}.") from exc
    except FetchError:
        raise
    except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as exc:
        if cutter.expired or isinstance(exc, TimeoutError) or time.monotonic() > deadline:
            raise FetchError(f"{url} did not answer within {timeout:g} s.") from exc
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{url} could not be fetched: {reason}.") from exc
    finally:
        cutter.stop()


def read_location(location: str, timeout: float | None = None) -> tuple[bytes, str]:
    """The bytes at a path or URL, and the location as read (the expanded path, or the URL)."""
    if is_url(location):
        _, body, _ = fetch_url(location, timeout=timeout)
        return body, location
    return read_file(location)
