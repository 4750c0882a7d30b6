"""Two sick API servers on 127.0.0.1, for the bulkhead and deadline tests.

* :class:`SlowLoris`: finishes TLS, reads the request, then answers one byte a second and
  never finishes the headers (a per-read timeout never fires against it).
* :class:`NeverTls`: accepts TCP connections and never says a word (the TLS handshake
  never completes).

Both count connections (and the most open at once), and close everything on exit, so no
test leaves a thread blocked.
"""

from __future__ import annotations

import socket
import ssl
import threading
from types import TracebackType

import trustme


class _Base:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.port = self._listener.getsockname()[1]
        self._cond = threading.Condition()
        self._open: set[socket.socket] = set()
        self.accepted = 0
        self.most_open = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> _Base:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._listener.close()
        with self._cond:
            for conn in list(self._open):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._open.clear()
            self._cond.notify_all()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._cond:
                self.accepted += 1
                self._open.add(conn)
                self.most_open = max(self.most_open, len(self._open))
                self._cond.notify_all()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _closed(self, conn: socket.socket) -> None:
        with self._cond:
            self._open.discard(conn)
            self._cond.notify_all()
        conn.close()

    def wait_accepted(self, n: int, timeout: float = 30) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.accepted >= n, timeout=timeout):
                raise TimeoutError(f"{self.accepted} of {n} connections accepted")

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


class NeverTls(_Base):
    """Takes TCP connections and never answers: the TLS handshake never completes."""

    def _serve(self, conn: socket.socket) -> None:
        try:
            while conn.recv(4096):  # swallow the ClientHello; answer nothing
                pass
        except OSError:
            pass
        self._closed(conn)


class SlowLoris(_Base):
    """Finishes TLS, reads the request, then trickles a status line a byte a second."""

    def __init__(self) -> None:
        super().__init__()
        self.ca = trustme.CA()
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ca.issue_cert("127.0.0.1").configure_cert(self._ctx)
        self.requests = 0

    def wait_requests(self, n: int, timeout: float = 30) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.requests >= n, timeout=timeout):
                raise TimeoutError(f"{self.requests} of {n} requests seen")

    def _serve(self, raw: socket.socket) -> None:
        conn = raw
        try:
            raw.settimeout(60)
            conn = self._ctx.wrap_socket(raw, server_side=True)
            with self._cond:  # the wrapped socket owns the descriptor now
                self._open.discard(raw)
                self._open.add(conn)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    raise OSError("client left")
                data += chunk
            with self._cond:
                self.requests += 1
                self._cond.notify_all()
            status = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 500
            for byte in status:
                if self._stopping.wait(1.0):  # sleep-ok: the trickle is the fault
                    break
                conn.sendall(bytes([byte]))
        except OSError:
            pass
        self._closed(conn)
