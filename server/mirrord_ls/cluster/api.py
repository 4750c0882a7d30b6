"""HTTP to one API server: bounded in time and in parallel, with credentials asked per request.

One :class:`ApiConnection` per cluster identity (server, trust, credentials, context), with
its own connection pool (aiohttp, on the event loop: no worker thread a stuck server could
hold). Each connection is a bulkhead: at most :attr:`Limits.in_flight` requests of one
identity run at once, so a slow cluster (a "slow-loris" trickling a byte a second) only
ever waits on itself. Every request has one total deadline covering the wait for a slot,
the TCP connect, the TLS handshake, the headers and the body; the connect and handshake
have a shorter deadline of their own, so a port that accepts TCP but never finishes TLS
is "unreachable" quickly, whatever the number of such clusters.

Credentials come from a :class:`~.credentials.CredentialProvider` before each request (an
expiring exec token or a rotated ``tokenFile`` is picked up), and a 401 is retried once
with fresh ones. Impersonation headers follow the kubeconfig's ``as``/``as-groups``/
``as-uid``. Failures are classified into transport kinds (refused, DNS, timeout, TLS,
reset, proxy) here; HTTP status codes are judged by the caller, never the wording of bodies.
Messages pass :func:`mirrord_ls.redact.redact`: no URL user-info, no token.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from mirrord_ls import redact
from mirrord_ls.cluster.credentials import CredentialProvider, RequestCredentials, fingerprint
from mirrord_ls.cluster.kubeconfig import ResolvedCluster
from mirrord_ls.cluster.tls import TlsMaterialError, client_context

TransportKind = Literal["refused", "dns", "timeout", "tls", "reset", "proxy", "other"]
MAX_BODY = 4 * 1024 * 1024
# Connection pools being closed (kept referenced until their sockets are gone).
_CLOSING: set[asyncio.Future[Any]] = set()


@dataclass(frozen=True)
class Limits:
    """How much one cluster identity may take."""

    in_flight: int = 4
    """Requests of one identity running at once (the bulkhead)."""
    connect_timeout: float = 5.0
    """TCP connect plus TLS handshake, at most (and at most half the request's deadline)."""

    def connect_deadline(self, timeout: float) -> float:
        return max(0.05, min(self.connect_timeout, timeout / 2))


DEFAULT_LIMITS = Limits()


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
        message = redact.redact(message)
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class RequestLog:
    """Counts what a check cost, for tests, benchmarks and the status."""

    requests: int = 0
    paths: list[str] = field(default_factory=list)


def _short(exc: BaseException) -> str:
    text = str(exc).split("\n")[0] or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _chain(exc: BaseException) -> list[BaseException]:
    seen: set[int] = set()
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        out.append(cur)
        nxt: Any = None
        for attr in ("certificate_error", "os_error"):
            candidate = getattr(cur, attr, None)
            if isinstance(candidate, BaseException) and candidate is not cur:
                nxt = candidate
                break
        cur = nxt or cur.__cause__ or cur.__context__
    return out


def _verify_detail(e: BaseException) -> str:
    detail = getattr(e, "verify_message", None) or getattr(e, "reason", None) or _short(e)
    return str(detail).strip().rstrip(".")


def classify(exc: BaseException, *, connect_timeout: float | None = None) -> TransportError:
    """Turn aiohttp/ssl/socket failures into a kind and a sentence."""
    chain = _chain(exc)
    # The most specific cause first: aiohttp wraps the OS and ssl errors.
    for e in chain:
        if isinstance(e, aiohttp.ClientError):
            continue  # aiohttp's wrappers subclass the ssl/OS errors; the wrapped one says more
        if isinstance(e, ssl.SSLCertVerificationError | ssl.CertificateError):
            return TransportError(
                "tls", f"the server's certificate was refused: {_verify_detail(e)}"
            )
        if isinstance(e, ConnectionRefusedError):
            return TransportError("refused", "the connection was refused (nothing listens there)")
        if isinstance(e, socket.gaierror):
            return TransportError("dns", "the server's host name could not be resolved")
    for e in chain:
        if isinstance(e, aiohttp.ClientProxyConnectionError | aiohttp.ClientHttpProxyError):
            return TransportError("proxy", f"the proxy failed ({_short(e)})")
        if isinstance(e, aiohttp.ClientConnectorDNSError):
            return TransportError("dns", "the server's host name could not be resolved")
        if isinstance(e, aiohttp.ConnectionTimeoutError):
            within = f" within {connect_timeout:g} s" if connect_timeout else ""
            return TransportError(
                "timeout", f"connecting timed out (no TCP connection or TLS handshake{within})"
            )
        if isinstance(e, ssl.SSLError | aiohttp.ClientSSLError):
            reason = getattr(e, "reason", None) or _short(e)
            return TransportError("tls", f"the TLS handshake failed ({reason})")
        if isinstance(
            e,
            aiohttp.ServerDisconnectedError
            | aiohttp.ClientPayloadError
            | ConnectionResetError
            | aiohttp.ClientConnectionResetError,
        ):
            return TransportError("reset", "the connection broke while the server was answering")
        if isinstance(e, aiohttp.SocketTimeoutError | TimeoutError):
            return TransportError("timeout", "the server took the connection but never answered")
        if isinstance(e, aiohttp.InvalidURL):
            return TransportError("other", f"the server URL is not valid ({_short(e)})")
    for e in chain:
        if isinstance(e, OSError):
            return TransportError("other", f"the connection failed ({_short(e)})")
    return TransportError("other", f"the request failed ({_short(exc)})")


def _is_deadline(exc: BaseException) -> bool:
    """Our total deadline (asyncio.timeout), not one of aiohttp's own timeouts (which are
    TimeoutError subclasses too, and say more)."""
    return isinstance(exc, TimeoutError) and not isinstance(exc, aiohttp.ServerTimeoutError)


def _without_userinfo(url: str) -> str:
    """The URL with no ``user:password@`` (never sent: credentials come from the kubeconfig's
    user, and aiohttp would refuse them next to an Authorization header)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _headers(creds: RequestCredentials) -> list[tuple[str, str]]:
    headers = [("Accept", "application/json"), ("User-Agent", "mirrord-ls")]
    if creds.token is not None:
        headers.append(("Authorization", f"Bearer {creds.token.reveal()}"))
    elif creds.username and creds.password is not None:
        pair = f"{creds.username}:{creds.password.reveal()}".encode()
        headers.append(("Authorization", "Basic " + base64.b64encode(pair).decode()))
    # As kube-rs (what mirrord uses) does in kube-client/src/client/config_ext.rs,
    # extra_headers_layer: Impersonate-User for `as`, one Impersonate-Group per `as-groups`
    # entry. Impersonate-Uid for `as-uid` as client-go (kubectl) sends it.
    if creds.impersonate:
        headers.append(("Impersonate-User", creds.impersonate))
    for group in creds.impersonate_groups:
        headers.append(("Impersonate-Group", group))
    if creds.impersonate_uid:
        headers.append(("Impersonate-Uid", creds.impersonate_uid))
    return headers


class _Static:
    """A provider for fixed credentials (tests, or a caller that already has them)."""

    def __init__(self, creds: RequestCredentials) -> None:
        self._creds = creds

    async def current(self) -> RequestCredentials:
        return self._creds

    async def after_unauthorized(self, used: RequestCredentials) -> RequestCredentials | None:
        return None


class ApiConnection:
    """A client for one cluster identity. close() when done (aclose() inside a loop)."""

    def __init__(
        self,
        cluster: ResolvedCluster,
        credentials: RequestCredentials | CredentialProvider,
        *,
        accept_invalid_certificates: bool,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.cluster = cluster
        self.limits = limits
        self.log = RequestLog()
        self._provider: CredentialProvider | _Static = (
            _Static(credentials) if isinstance(credentials, RequestCredentials) else credentials
        )
        self._insecure = accept_invalid_certificates
        self._base = _without_userinfo(cluster.server.rstrip("/"))
        self._https = urlsplit(self._base).scheme == "https"
        self._proxy = cluster.proxy_url
        self._bulkhead: asyncio.Semaphore | None = None
        self._session: aiohttp.ClientSession | None = None
        self._session_key: str | None = None
        self._session_lock: asyncio.Lock | None = None
        self._old: list[aiohttp.ClientSession] = []
        self._last: RequestCredentials | None = (
            credentials if isinstance(credentials, RequestCredentials) else None
        )

    @property
    def has_credentials(self) -> bool:
        creds = self._last
        if creds is None:
            return False
        return bool(
            creds.token is not None
            or (creds.username and creds.password is not None)
            or creds.client_certificate is not None
        )

    async def credentials(self) -> RequestCredentials:
        """The credentials the next request will carry (fetched if needed)."""
        creds = await self._provider.current()
        self._last = creds
        return creds

    async def _session_for(
        self, creds: RequestCredentials, connect: float
    ) -> aiohttp.ClientSession:
        cert = creds.client_certificate
        key = fingerprint(RequestCredentials(client_certificate=cert)) if cert else "none"

        def current() -> aiohttp.ClientSession | None:
            session = self._session
            if session is not None and self._session_key == key and not session.closed:
                return session
            return None

        if (ready := current()) is not None:
            return ready
        if self._session_lock is None:
            self._session_lock = asyncio.Lock()
        async with self._session_lock:
            if (ready := current()) is not None:
                return ready
            tls: ssl.SSLContext | bool = False
            if self._https:
                try:
                    # Off the loop: loading the system's roots takes a while on a busy machine.
                    tls = await asyncio.to_thread(
                        client_context,
                        self.cluster.certificate_authority,
                        insecure=self._insecure,
                        identity=cert,
                    )
                except TlsMaterialError as exc:
                    raise TransportError("tls", str(exc)) from None
            if self._session is not None:
                self._old.append(self._session)  # a new client identity: a new TLS context
            connector = aiohttp.TCPConnector(
                ssl=tls, limit=self.limits.in_flight, limit_per_host=self.limits.in_flight
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # The total is ours (asyncio.timeout); aiohttp bounds connect + TLS handshake.
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect, connect=None),
                trust_env=False,
                auto_decompress=not self.cluster.disable_compression,
            )
            self._session_key = key
            return self._session

    async def _send(
        self, creds: RequestCredentials, method: str, path: str, body: Any, connect: float
    ) -> Response:
        session = await self._session_for(creds, connect)
        payload = None
        headers = _headers(creds)
        if body is not None:
            payload = json.dumps(body).encode()
            headers.append(("Content-Type", "application/json"))
        async with session.request(
            method,
            self._base + path,
            data=payload,
            headers=headers,
            allow_redirects=False,
            proxy=self._proxy,
            server_hostname=(self.cluster.tls_server_name or None) if self._https else None,
        ) as raw:
            data = bytearray()
            while len(data) <= MAX_BODY:
                chunk = await raw.content.read(65536)
                if not chunk:
                    break
                data.extend(chunk)
            lowered = {k.lower(): v for k, v in raw.headers.items()}
            return Response(int(raw.status), lowered, bytes(data[:MAX_BODY]))

    async def request(
        self, method: str, path: str, *, body: Any = None, timeout: float = 10.0
    ) -> Response:
        """One request, all of it within `timeout`; raises TransportError without an HTTP
        answer (and CredentialError when no credentials can be had)."""
        self.log.requests += 1
        self.log.paths.append(f"{method} {path}")
        if self._proxy and not urlsplit(self._proxy).scheme.startswith("http"):
            raise TransportError(
                "proxy", "mirrord-ls can use only http:// and https:// proxies (proxy-url)"
            )
        if self._bulkhead is None:
            self._bulkhead = asyncio.Semaphore(self.limits.in_flight)
        creds = await self.credentials()  # an exec plugin has its own timeout
        started = time.monotonic()
        connect = self.limits.connect_deadline(timeout)
        try:
            async with asyncio.timeout(timeout):
                async with self._bulkhead:
                    response = await self._send(creds, method, path, body, connect)
        except TransportError:
            raise
        except Exception as exc:  # every failure is classified, none escapes
            raise self._failure(exc, started, connect) from None
        if response.status != 401:
            return response
        fresh = await self._provider.after_unauthorized(creds)
        left = timeout - (time.monotonic() - started)
        if fresh is None or left <= 0:
            return response
        self._last = fresh
        try:
            async with asyncio.timeout(left):
                async with self._bulkhead:
                    return await self._send(fresh, method, path, body, connect)
        except Exception as exc:
            if _is_deadline(exc):
                return response  # no time left to retry: judge the 401 we have
            raise self._failure(exc, started, connect) from None

    @staticmethod
    def _failure(exc: BaseException, started: float, connect: float) -> TransportError:
        if _is_deadline(exc):
            spent = time.monotonic() - started
            return TransportError("timeout", f"the server did not answer within {spent:.1f} s")
        return classify(exc, connect_timeout=connect)

    def close(self) -> None:
        """Close every connection now, without waiting (sockets are aborted).

        Callable from synchronous code inside or outside the event loop: aiohttp's public
        close is a coroutine, which a loop about to stop may never run.
        """
        sessions = [s for s in (self._session, *self._old) if s is not None]
        self._session, self._old = None, []
        for session in sessions:
            connector = session.connector
            if connector is None or connector.closed:
                continue
            close_now = getattr(connector, "_close", None)
            with contextlib.suppress(Exception):
                if close_now is not None:
                    close_now(abort_ssl=True)  # closes the transports synchronously
                    continue
                closing = asyncio.ensure_future(session.close())
                _CLOSING.add(closing)
                closing.add_done_callback(_CLOSING.discard)

    async def aclose(self) -> None:
        sessions = [s for s in (self._session, *self._old) if s is not None]
        self._session, self._old = None, []
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.close()
