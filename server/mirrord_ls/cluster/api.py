"""HTTP to one API server, through the Kubernetes client's REST layer.

One :class:`ApiConnection` per cluster identity (server, trust, credentials,
context), each with its own `kubernetes.client.Configuration`: never the
process-wide default, never written back to a kubeconfig. Requests run in a
worker thread with connect/read timeouts, so a hanging cluster costs a
bounded wait and never blocks the event loop. Failures are classified into
transport kinds (refused, DNS, timeout, TLS, reset) here; HTTP status codes
are judged by the caller, never the wording of bodies.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mirrord_ls.cluster.credentials import RequestCredentials
from mirrord_ls.cluster.kubeconfig import ResolvedCluster

TransportKind = Literal["refused", "dns", "timeout", "tls", "reset", "proxy", "other"]
MAX_BODY = 4 * 1024 * 1024


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON (proxies answer HTML)."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def retry_after(self) -> float | None:
        raw = self.headers.get("retry-after")
        if raw is None:
            return None
        try:
            return max(0.0, float(raw))
        except ValueError:
            return None


class TransportError(Exception):
    """No HTTP answer: the request failed on the way."""

    def __init__(self, kind: TransportKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class RequestLog:
    """Counts what a check cost, for tests, benchmarks and the status."""

    requests: int = 0
    paths: list[str] = field(default_factory=list)


def _classify(exc: BaseException) -> TransportError:
    """Turn urllib3/ssl/socket failures into a kind and a sentence."""
    import urllib3.exceptions as ue

    seen: set[int] = set()
    cur: BaseException | None = exc
    chain: list[BaseException] = []
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        chain.append(cur)
        nxt = getattr(cur, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = cur.__cause__ or cur.__context__
        cur = nxt
    # The most specific cause first: urllib3 wraps (and sometimes subclasses) the OS errors.
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return TransportError("refused", "the connection was refused (nothing listens there)")
        if isinstance(e, socket.gaierror):
            return TransportError("dns", "the server's host name could not be resolved")
        if isinstance(e, ssl.SSLCertVerificationError):
            detail = (getattr(e, "verify_message", None) or _short(e)).strip().rstrip(".")
            return TransportError("tls", f"the server's certificate was refused: {detail}")
    for e in chain:
        text = _short(e)
        if isinstance(e, ue.SSLError | ssl.SSLError) or text.startswith("SSLError"):
            verify = re.search(r"certificate verify failed: ([^(]+)", text)
            if verify:
                detail = verify.group(1).strip().rstrip(".")
                return TransportError("tls", f"the server's certificate was refused: {detail}")
            return TransportError("tls", f"the TLS handshake failed ({text})")
        if isinstance(e, ue.ProxyError):
            return TransportError("proxy", f"the proxy failed ({text})")
        if isinstance(e, ue.NameResolutionError):
            return TransportError("dns", "the server's host name could not be resolved")
        if isinstance(e, ue.NewConnectionError):
            if "refused" in text.lower():
                return TransportError("refused", "the connection was refused")
            if "timed out" not in text.lower():
                return TransportError("other", f"the connection failed ({text})")
        if isinstance(e, ue.ConnectTimeoutError):
            return TransportError("timeout", "connecting timed out")
        if isinstance(e, ue.ReadTimeoutError | TimeoutError | socket.timeout):
            return TransportError("timeout", "the server took the connection but never answered")
        if isinstance(e, ue.ProtocolError | ConnectionResetError | ue.IncompleteRead):
            return TransportError("reset", "the connection broke while the server was answering")
    for e in chain:
        if isinstance(e, OSError):
            return TransportError("other", f"the connection failed ({_short(e)})")
    return TransportError("other", f"the request failed ({_short(exc)})")


def _short(exc: BaseException) -> str:
    text = str(exc).split("\n")[0]
    return text if len(text) <= 200 else text[:197] + "..."


class ApiConnection:
    """A configured client for one cluster identity. Thread-safe; close() when done."""

    def __init__(
        self,
        cluster: ResolvedCluster,
        credentials: RequestCredentials,
        *,
        accept_invalid_certificates: bool,
    ) -> None:
        from kubernetes.client import Configuration
        from kubernetes.client.rest import RESTClientObject

        self.cluster = cluster
        self._tmp: str | None = None
        config = Configuration()
        config.host = cluster.server.rstrip("/")
        config.verify_ssl = not accept_invalid_certificates
        # Our own retry policy (with Retry-After) runs above this layer.
        config.retries = False
        ca = cluster.certificate_authority
        if ca is not None and ca.data:
            config.ssl_ca_cert = self._private_file("ca.crt", ca.data)
        elif ca is not None and ca.file is not None:
            config.ssl_ca_cert = str(ca.file)
        if cluster.tls_server_name:
            config.tls_server_name = cluster.tls_server_name
        if cluster.proxy_url:
            config.proxy = cluster.proxy_url
        cert = credentials.client_certificate
        if cert is not None:
            # Python's ssl loads client identities only from files: private 0600 files
            # in a 0700 folder, removed when the connection is closed.
            config.cert_file = (
                self._private_file("client.crt", cert.cert_data.reveal())
                if cert.cert_data
                else str(cert.cert_file)
            )
            config.key_file = (
                self._private_file("client.key", cert.key_data.reveal())
                if cert.key_data
                else str(cert.key_file)
            )
        self._headers: dict[str, str] = {"Accept": "application/json", "User-Agent": "mirrord-ls"}
        if credentials.token is not None:
            self._headers["Authorization"] = f"Bearer {credentials.token.reveal()}"
        elif credentials.username and credentials.password is not None:
            pair = f"{credentials.username}:{credentials.password.reveal()}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        if credentials.impersonate:
            self._headers["Impersonate-User"] = credentials.impersonate
        self.has_credentials = bool(
            "Authorization" in self._headers or credentials.client_certificate
        )
        self._config = config
        self._rest = RESTClientObject(config)
        self.log = RequestLog()

    def _private_file(self, name: str, data: bytes) -> str:
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="mirrord-ls-")
            os.chmod(self._tmp, 0o700)
        path = Path(self._tmp) / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return str(path)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._rest.pool_manager.clear()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _request_sync(self, method: str, path: str, body: Any, timeout: float) -> Response:
        headers = dict(self._headers)
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = body
        try:
            raw = self._rest.request(
                method,
                self._config.host + path,
                headers=headers,
                body=payload,
                _request_timeout=(min(timeout, 5.0), timeout),
            )
            data = raw.response.read(MAX_BODY + 1, decode_content=True)
            with contextlib.suppress(Exception):
                raw.response.release_conn()
        except Exception as exc:  # every failure is classified, none escapes
            raise _classify(exc) from None
        lowered = {k.lower(): v for k, v in raw.getheaders().items()}
        return Response(int(raw.status), lowered, bytes(data[:MAX_BODY]))

    async def request(
        self, method: str, path: str, *, body: Any = None, timeout: float = 10.0
    ) -> Response:
        """One request, bounded by `timeout`; raises TransportError without an HTTP answer."""
        self.log.requests += 1
        self.log.paths.append(f"{method} {path}")
        started = time.monotonic()
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._request_sync, method, path, body, timeout),
                timeout + 0.5,
            )
        except TimeoutError:
            spent = time.monotonic() - started
            raise TransportError(
                "timeout", f"the server did not answer within {spent:.1f} s"
            ) from None
