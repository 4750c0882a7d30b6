"""Fixtures for the loopback API server's tests: a started server and a tiny HTTPS client."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mirrord_ls.loopback import LoopbackApiServer, User


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def client_context(server: LoopbackApiServer, user: User | None, tmp: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=server.ca_pem.decode())
    if user is not None and user.client_cert is not None:
        crt, key = tmp / f"{user.name}.crt", tmp / f"{user.name}.key"
        crt.write_bytes(user.client_cert.cert_pem)
        key.write_bytes(user.client_cert.key_pem)
        ctx.load_cert_chain(crt, key)
    return ctx


def connection(
    server: LoopbackApiServer, user: User | None, tmp: Path, timeout: float = 5
) -> http.client.HTTPConnection:
    if server.url.startswith("http://"):
        return http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    return http.client.HTTPSConnection(
        server.host, server.port, context=client_context(server, user, tmp), timeout=timeout
    )


def request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    *,
    user: User | None = None,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    hdrs = {"Accept": "application/json", **(headers or {})}
    tok = token if token is not None else (user.token if user is not None else None)
    if tok:
        hdrs["Authorization"] = f"Bearer {tok}"
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    return Reply(resp.status, resp.headers, resp.read())


Call = Callable[..., Reply]


class ApiConn:
    """One kept-alive connection to a server, as `user` (None: no credentials)."""

    def __init__(self, server: LoopbackApiServer, user: User | None, tmp: Path, timeout: float):
        self.user = user
        self.conn = connection(server, user, tmp, timeout)

    def request(self, method: str, path: str, **kw: Any) -> Reply:
        kw.setdefault("user", self.user)
        return request(self.conn, method, path, **kw)

    def close(self) -> None:
        self.conn.close()


Connect = Callable[..., ApiConn]


@pytest.fixture
def server() -> Iterator[LoopbackApiServer]:
    """A started cluster with alice (may use the operator) and bob (may not)."""
    with LoopbackApiServer() as srv:
        srv.add_user("alice")
        srv.add_user("bob")
        srv.allow_mirrord_operator_user(users=["alice"])
        yield srv


@pytest.fixture
def call(server: LoopbackApiServer, tmp_path: Path) -> Call:
    """call(method, path, user=..., body=...) on a fresh connection to `server`."""

    def do(method: str, path: str, **kw: Any) -> Reply:
        conn = connection(server, kw.get("user"), tmp_path)
        try:
            return request(conn, method, path, **kw)
        finally:
            conn.close()

    return do


@pytest.fixture
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Connect]:
    """connect(user=None, timeout=5, srv=<the server fixture>) -> ApiConn, closed after the test."""
    opened: list[ApiConn] = []

    def do(
        user: User | None = None, timeout: float = 5, srv: LoopbackApiServer | None = None
    ) -> ApiConn:
        target = srv if srv is not None else request.getfixturevalue("server")
        conn = ApiConn(target, user, tmp_path, timeout)
        opened.append(conn)
        return conn

    yield do
    for conn in opened:
        conn.close()
