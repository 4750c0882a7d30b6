"""A faithful Kubernetes API server on 127.0.0.1, for tests, the demo and benchmarks.

It authenticates (bearer tokens, client certificates, anonymous), authorizes
with RBAC, serves discovery (legacy and aggregated v2) and a generic object
store, answers the self-subject reviews, and lets a test switch the mirrord
operator between installed, not installed and down, or inject faults. Every
answer is shaped as kube-apiserver shapes it, because the code under test
judges clusters by exactly those shapes.

Threads: `ThreadingHTTPServer` serves each connection in a daemon thread; the
TLS handshake runs in that thread too, so a stalled client holds up nobody.
`stop()` wakes hung requests and shuts every open connection, so it never
waits on a client.

Secrets: tokens and keys are never logged; the request log keeps no headers.
"""

from __future__ import annotations

import datetime
import enum
import json
import logging
import secrets
import socket
import ssl
import struct
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mirrord_ls.loopback import discovery, metadata, protobuf, samples
from mirrord_ls.loopback import status as st
from mirrord_ls.loopback.certs import ClusterPki, TlsMode, identity_from_peercert
from mirrord_ls.loopback.faults import Fault, FaultKind, FaultSet
from mirrord_ls.loopback.kubeconfig import KubeContext, write_kubeconfig
from mirrord_ls.loopback.rbac import (
    ANONYMOUS,
    AUTHENTICATED,
    UNAUTHENTICATED,
    Attributes,
    Rbac,
    UserInfo,
    install_mirrord_operator_user,
)
from mirrord_ls.loopback.requestlog import RequestLog, RequestRecord
from mirrord_ls.loopback.resources import (
    BUILTIN_RESOURCES,
    EPHEMERAL_CONTAINERS,
    OPERATOR_GROUP,
    OPERATOR_RESOURCES,
    PROFILE_RESOURCES,
    ResourceType,
)
from mirrord_ls.loopback.store import JsonObj, ObjectStore, SelectorError
from mirrord_ls.loopback.users import User

log = logging.getLogger(__name__)

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


class OperatorState(enum.Enum):
    INSTALLED = "installed"
    """The APIService is available: the group is listed and its resources served."""
    NOT_INSTALLED = "not-installed"
    """No APIService: the group is absent, everything under it answers 404."""
    DOWN = "down"
    """The APIService exists but its pods are down: 503 under the group, still listed."""


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, obj: Any, content_type: str = JSON) -> _Response:
    return _Response(status, json.dumps(obj, separators=(",", ":")).encode(), content_type)


class _BodyError(ValueError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class _Body:
    """A request body and its Content-Type."""

    data: bytes
    content_type: str

    def json(self) -> JsonObj:
        if self.content_type.startswith(protobuf.PROTOBUF):
            raise _BodyError(415, "the loopback server only reads protobuf for self-reviews")
        try:
            obj = json.loads(self.data or b"{}")
        except ValueError as exc:
            raise _BodyError(400, f"invalid JSON body: {exc}") from None
        if not isinstance(obj, dict):
            raise _BodyError(400, "the body is not a JSON object")
        return obj

    def review(self) -> JsonObj:
        """A self-subject review from JSON or, as kubectl sends it, protobuf."""
        if self.content_type.startswith(protobuf.PROTOBUF):
            try:
                return protobuf.decode_review(self.data)
            except protobuf.ProtobufError as exc:
                raise _BodyError(400, f"invalid protobuf body: {exc}") from None
        return self.json()


def _text(status: int, text: str) -> _Response:
    return _Response(status, text.encode(), TEXT)


_PROXY_PAGE = (
    "<html>\r\n<head><title>{code} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{code} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)

_VERBS_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch"}

_REVIEWS = {
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authentication.k8s.io", "selfsubjectreviews"),
}


def request_attributes(method: str, path: str, query: dict[str, list[str]]) -> Attributes:
    """What a request asks for, parsed as Kubernetes' RequestInfoFactory parses it."""
    parts = [p for p in path.split("/") if p]
    resource_request = (len(parts) >= 3 and parts[0] == "api") or (
        len(parts) >= 4 and parts[0] == "apis"
    )
    if not resource_request:
        return Attributes(verb=method.lower(), resource_request=False, path=path)
    if parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    else:
        group, version, rest = parts[1], parts[2], parts[3:]
    special = ""
    if rest[0] in ("proxy", "watch") and len(rest) > 1:
        # RequestInfoFactory's special verbs: /apis/G/V/proxy/namespaces/ns/targets/name.
        special, rest = rest[0], rest[1:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        # /namespaces/x is the Namespace x itself; /namespaces/x/status its subresource.
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if special:
        verb = special
    elif method == "GET":
        watch = query.get("watch", [""])[0] in ("true", "1")
        verb = "get" if name else ("watch" if watch else "list")
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _VERBS_BY_METHOD.get(method, method.lower())
    return Attributes(
        verb=verb,
        resource_request=True,
        path=path,
        group=group,
        version=version,
        resource=resource,
        subresource=subresource,
        name=name,
        namespace=namespace,
    )


def _age(created: str) -> str:
    """kubectl's short age: 42s, 17m, 5h, 12d."""
    try:
        then = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.UTC
        )
    except (TypeError, ValueError):
        return "<unknown>"
    secs = int((datetime.datetime.now(datetime.UTC) - then).total_seconds())
    if secs < 120:
        return f"{max(secs, 0)}s"
    if secs < 3600:
        return f"{secs // 60}m"
    if secs < 48 * 3600:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"


def _extra_columns(kind: str, obj: JsonObj) -> list[tuple[str, Any]]:
    """The columns kube-apiserver prints between Name and Age for a few kinds."""
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    if kind == "Deployment":
        want = spec.get("replicas", 0)
        return [
            ("Ready", f"{status.get('readyReplicas', 0)}/{want}"),
            ("Up-to-date", status.get("updatedReplicas", 0)),
            ("Available", status.get("availableReplicas", 0)),
        ]
    if kind == "StatefulSet":
        return [("Ready", f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}")]
    if kind == "Pod":
        cs = status.get("containerStatuses") or []
        ready = sum(1 for c in cs if c.get("ready"))
        restarts = sum(c.get("restartCount", 0) for c in cs)
        return [
            ("Ready", f"{ready}/{len(spec.get('containers') or [])}"),
            ("Status", status.get("phase", "")),
            ("Restarts", restarts),
        ]
    return []


def _table(rt: ResourceType, items: list[JsonObj], rv: str, include: str) -> JsonObj:
    """A meta.k8s.io/v1 Table, which kubectl asks for to print `get` output."""
    extra_names = [n for n, _ in _extra_columns(rt.kind, items[0])] if items else []
    columns = ["Name", *extra_names, "Age"]
    rows = []
    for obj in items:
        meta = obj.get("metadata", {})
        cells = [
            meta.get("name", ""),
            *[v for _, v in _extra_columns(rt.kind, obj)],
            _age(meta.get("creationTimestamp", "")),
        ]
        row: JsonObj = {"cells": cells}
        if include == "Object":
            row["object"] = {"apiVersion": rt.api_version, "kind": rt.kind, **obj}
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": [
            {
                "name": c,
                "type": "string",
                "format": "name" if c == "Name" else "",
                "description": c,
                "priority": 0,
            }
            for c in columns
        ],
        "rows": rows,
    }


class LoopbackApiServer:
    """One loopback cluster. Configure, `start()` (or `with`), point clients at `url`.

    Public state, all safe to change while serving: `rbac` (roles and
    bindings), `store` (objects), `faults` (via `inject`), `log` (requests
    seen), `operator_state`, `round_trip` (seconds added to every request),
    `handshakes` (a new connection also waits one round trip for the TCP handshake and,
    with TLS, one more for a TLS 1.3 handshake, as on a real network; `connections` counts
    them, so a client's keep-alive shows).
    """

    def __init__(
        self,
        *,
        tls: TlsMode = TlsMode.VALID,
        operator_state: OperatorState = OperatorState.INSTALLED,
        sample_data: bool = True,
        aggregated_discovery: bool = True,
        round_trip: float = 0.0,
        ephemeral_containers: bool = True,
        extra_resources: Iterable[ResourceType] = (),
    ) -> None:
        self.tls = tls
        self.ephemeral_containers = ephemeral_containers
        """False: `/api/v1` does not list pods/ephemeralcontainers (an old API server)."""
        self.extra_resources = tuple(extra_resources)
        self.pki = ClusterPki()
        self.rbac = Rbac()
        self.store = ObjectStore(
            BUILTIN_RESOURCES + OPERATOR_RESOURCES + PROFILE_RESOURCES + self.extra_resources
        )
        self.faults = FaultSet()
        self.log = RequestLog()
        self.aggregated_discovery = aggregated_discovery
        self.round_trip = round_trip
        self.handshakes = True
        self.connections = 0
        """Connections accepted so far."""
        self._state_lock = threading.Lock()
        self._operator_state = operator_state
        self._users_lock = threading.Lock()
        self._tokens: dict[str, User] = {}
        self._users: dict[str, User] = {}
        self._stopping = threading.Event()
        self._conns_lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        if sample_data:
            self.store.put_all(samples.sample_objects())
        self.store.put(samples.mirrord_operator())

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> LoopbackApiServer:
        """Bind an ephemeral port on 127.0.0.1 and serve in a background thread."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        ctx = None if self.tls is TlsMode.PLAIN else self.pki.server_context(self.tls)
        self._stopping.clear()
        self._httpd = _HttpServer(self, ctx)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"loopback-apiserver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.debug("loopback API server listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving: wakes hung requests, closes every connection, frees the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        self.faults.clear()
        httpd.shutdown()
        httpd.server_close()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            _shutdown_socket(conn)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> LoopbackApiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        scheme = "http" if self.tls is TlsMode.PLAIN else "https"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def ca_pem(self) -> bytes:
        """The PEM of this run's CA, which signed the server and client certificates."""
        return self.pki.ca_pem

    # -- users ------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        groups: Iterable[str] = (),
        *,
        token: bool = True,
        client_cert: bool = False,
    ) -> User:
        """Register a user with a fresh bearer token and/or a client certificate."""
        grps = tuple(groups)
        user = User(
            name,
            grps,
            token=secrets.token_urlsafe(24) if token else None,
            client_cert=self.pki.client_cert(name, grps) if client_cert else None,
        )
        with self._users_lock:
            self._users[name] = user
            if user.token:
                self._tokens[user.token] = user
        return user

    def add_token(self, token: str, name: str, groups: Iterable[str] = ()) -> User:
        """Accept a given token for a user (for kubeconfigs written elsewhere)."""
        user = User(name, tuple(groups), token=token)
        with self._users_lock:
            self._tokens[token] = user
            self._users.setdefault(name, user)
        return user

    def revoke_token(self, token: str) -> None:
        """Stop accepting a token: its requests then get 401."""
        with self._users_lock:
            self._tokens.pop(token, None)

    def user(self, name: str) -> User:
        with self._users_lock:
            return self._users[name]

    def allow_mirrord_operator_user(
        self, users: Iterable[str] = (), groups: Iterable[str] = ()
    ) -> str:
        """Install and bind the chart's `mirrord-operator-user` ClusterRole; returns the binding."""
        return install_mirrord_operator_user(self.rbac, users=users, groups=groups)

    # -- operator ---------------------------------------------------------------

    @property
    def operator_state(self) -> OperatorState:
        with self._state_lock:
            return self._operator_state

    @operator_state.setter
    def operator_state(self, state: OperatorState) -> None:
        with self._state_lock:
            self._operator_state = state

    def set_operator(self, **spec: Any) -> JsonObj:
        """Replace the MirrordOperator object (keyword arguments of `samples.mirrord_operator`)."""
        return self.store.put(samples.mirrord_operator(**spec))

    def served_resources(self) -> list[ResourceType]:
        """What discovery lists now; a down operator is still listed, as the aggregator does."""
        served = [
            rt
            for rt in BUILTIN_RESOURCES
            if self.ephemeral_containers or rt.name != EPHEMERAL_CONTAINERS
        ]
        served += self.extra_resources
        if self.operator_state is not OperatorState.NOT_INSTALLED:
            served += OPERATOR_RESOURCES + PROFILE_RESOURCES
        return served

    # -- faults -----------------------------------------------------------------

    def inject(self, fault: Fault) -> Fault:
        """Install a fault; returns it (for `remove_fault` or reading `hits`)."""
        return self.faults.add(fault)

    def remove_fault(self, fault: Fault) -> None:
        self.faults.remove(fault)

    def clear_faults(self) -> None:
        """Remove every fault and release the requests they hold."""
        self.faults.clear()

    # -- kubeconfig -------------------------------------------------------------

    def context(
        self,
        user: User,
        *,
        name: str | None = None,
        namespace: str | None = None,
        cluster: str = "loopback",
    ) -> KubeContext:
        """A kubeconfig context for `user` on this server."""
        return KubeContext(
            name=name or f"loopback-{user.name}",
            server=self.url,
            user=user,
            ca_pem=None if self.tls is TlsMode.PLAIN else self.ca_pem,
            namespace=namespace,
            cluster=cluster,
        )

    def write_kubeconfig(
        self,
        path: str | Path,
        users: Sequence[User] | None = None,
        *,
        namespace: str | None = None,
        current: str | None = None,
        cert_dir: str | Path | None = None,
    ) -> Path:
        """A kubeconfig with one context per user (all known users by default)."""
        if users is None:
            with self._users_lock:
                users = list(self._users.values())
        contexts = [self.context(u, namespace=namespace) for u in users]
        return write_kubeconfig(path, contexts, current=current, cert_dir=cert_dir)

    # -- serving ----------------------------------------------------------------

    def _pause(self, seconds: float) -> None:
        """Wait, but not past stop(): latency must never hold up shutdown."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _authenticate(
        self, authorization: str | None, peercert: dict[str, Any] | None
    ) -> UserInfo | None:
        """The user a request runs as; None means the credentials were rejected (401)."""
        identity = identity_from_peercert(peercert)
        if identity is not None:
            name, groups = identity
            return UserInfo(name, (*groups, AUTHENTICATED))
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            with self._users_lock:
                user = self._tokens.get(token.strip())
            if user is None:
                return None
            return UserInfo(user.name, (*user.groups, AUTHENTICATED))
        return UserInfo(ANONYMOUS, (UNAUTHENTICATED,))

    def impersonate(self, user: UserInfo, headers: Any) -> UserInfo | _Response | None:
        """User impersonation (`Impersonate-User`, `-Group`, `-Uid`), each value allowed by
        RBAC verb `impersonate` on users, groups or uids, as kube-apiserver's filter does;
        None when the request asks for none."""
        name = headers.get("Impersonate-User")
        groups = tuple(headers.get_all("Impersonate-Group") or ())
        uid = headers.get("Impersonate-Uid")
        if not name and not groups and not uid:
            return None
        if not name:
            return _json(400, st.status_body(400, "impersonation requires Impersonate-User"))
        asked = [("", "users", name), *(("", "groups", g) for g in groups)]
        if uid:
            asked.append(("authentication.k8s.io", "uids", uid))
        for group, resource, value in asked:
            attrs = Attributes("impersonate", True, group=group, resource=resource, name=value)
            if not self.rbac.authorize(user, attrs).allowed:
                return _json(
                    403,
                    st.forbidden_resource(user.name, "impersonate", group, resource, "", value, ""),
                )
        return UserInfo(name, (*groups, AUTHENTICATED), uid=uid or "")

    def answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        accept: str,
        body: bytes,
        user: UserInfo,
        content_type: str = JSON,
    ) -> _Response:
        """Authorize and answer an authenticated request (everything after TLS and auth)."""
        attrs = request_attributes(method, path, query)
        decision = self.rbac.authorize(user, attrs)
        if not decision.allowed:
            if not attrs.resource_request:
                return _json(403, st.forbidden_path(user.name, attrs.verb, path))
            return _json(
                403,
                st.forbidden_resource(
                    user.name,
                    attrs.verb,
                    attrs.group,
                    attrs.resource,
                    attrs.subresource,
                    attrs.name,
                    attrs.namespace,
                ),
            )
        state = self.operator_state
        if state is OperatorState.DOWN and path.startswith(f"/apis/{OPERATOR_GROUP}/"):
            # The aggregator's proxy answers for the unreachable service, in plain text.
            return _text(503, "service unavailable\n")
        if attrs.resource_request:
            return self._resource(attrs, query, accept, _Body(body, content_type), user)
        return self._non_resource(path, accept)

    def _non_resource(self, path: str, accept: str) -> _Response:
        served = self.served_resources()
        stale = [OPERATOR_GROUP] if self.operator_state is OperatorState.DOWN else []
        parts = [p for p in path.split("/") if p]
        if path in ("/version", "/version/"):
            return _json(200, discovery.VERSION_INFO)
        if path in ("/healthz", "/livez", "/readyz"):
            return _text(200, "ok")
        if parts == ["api"]:
            if self.aggregated_discovery and discovery.wants_aggregated(accept):
                doc = discovery.aggregated(served, core=True)
                return _json(200, doc, discovery.AGGREGATED_V2)
            return _json(200, discovery.api_versions(f"{self.host}:{self.port}"))
        if parts == ["apis"]:
            if self.aggregated_discovery and discovery.wants_aggregated(accept):
                doc = discovery.aggregated(served, core=False, stale_groups=stale)
                return _json(200, doc, discovery.AGGREGATED_V2)
            return _json(200, discovery.api_group_list(served))
        if parts == ["api", "v1"]:
            return _json(200, discovery.api_resource_list("", "v1", served))
        if len(parts) in (2, 3) and parts[0] == "apis":
            group = parts[1]
            versions = sorted({rt.version for rt in served if rt.group == group}, reverse=True)
            if len(parts) == 2 and versions:
                return _json(200, discovery.api_group(group, versions))
            if len(parts) == 3 and parts[2] in versions:
                return _json(200, discovery.api_resource_list(group, parts[2], served))
        return _json(404, st.not_found_path())

    def _resource_type(self, attrs: Attributes) -> ResourceType | None:
        name = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        for rt in self.served_resources():
            if (rt.group, rt.version, rt.name) == (attrs.group, attrs.version, name):
                return rt
        return None

    def _resource(
        self,
        attrs: Attributes,
        query: dict[str, list[str]],
        accept: str,
        body: _Body,
        user: UserInfo,
    ) -> _Response:
        rt = self._resource_type(attrs)
        if rt is None:
            return _json(404, st.not_found_path())
        qualified = st.qualified_resource(rt.group, rt.plural)
        if attrs.verb not in rt.verbs or rt.is_subresource:
            return _json(405, st.method_not_allowed(attrs.verb, qualified))
        if (rt.group, rt.name) in _REVIEWS:
            return self._review(rt, body, user)
        rv = self.store.resource_version
        wants_table = "as=Table" in accept
        wants_meta = metadata.wanted(accept)
        include = query.get("includeObject", ["Metadata"])[0]
        namespace = attrs.namespace if rt.namespaced else ""
        if attrs.verb == "get":
            obj = self.store.get(rt, namespace, attrs.name)
            if obj is None:
                return _json(404, st.not_found_object(rt.group, rt.plural, attrs.name))
            if wants_table:
                return _json(200, _table(rt, [obj], rv, include))
            if wants_meta:
                return _json(200, metadata.partial(obj))
            return _json(200, obj)
        if attrs.verb == "list":
            try:
                items = self.store.list(
                    rt,
                    namespace,
                    label_selector=query.get("labelSelector", [""])[0],
                    field_selector=query.get("fieldSelector", [""])[0],
                )
            except SelectorError as exc:
                return _json(400, st.status_body(400, str(exc)))
            if wants_table:
                return _json(200, _table(rt, items, rv, include))
            if wants_meta == "list":
                return _json(200, metadata.partial_list(items, rv))
            if rt.builtin:
                for item in items:
                    item.pop("apiVersion", None)
                    item.pop("kind", None)
            return _json(
                200,
                {
                    "apiVersion": rt.api_version,
                    "kind": f"{rt.kind}List",
                    "metadata": {"resourceVersion": rv},
                    "items": items,
                },
            )
        if attrs.verb == "create":
            return self._create(rt, namespace, body)
        if attrs.verb == "delete":
            gone = self.store.delete(rt, namespace, attrs.name)
            if gone is None:
                return _json(404, st.not_found_object(rt.group, rt.plural, attrs.name))
            return _json(200, gone)
        return _json(405, st.method_not_allowed(attrs.verb, qualified))

    def _create(self, rt: ResourceType, namespace: str, body: _Body) -> _Response:
        try:
            obj = body.json()
        except _BodyError as exc:
            return _json(exc.code, st.status_body(exc.code, str(exc)))
        obj.setdefault("apiVersion", rt.api_version)
        obj.setdefault("kind", rt.kind)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name", "")
        if not name:
            return _json(
                422, st.status_body(422, "metadata.name: Required value: name is required")
            )
        if rt.namespaced:
            meta["namespace"] = namespace
        if self.store.get(rt, namespace, name) is not None:
            return _json(
                409,
                st.status_body(
                    409,
                    f'{st.qualified_resource(rt.group, rt.plural)} "{name}" already exists',
                    details=st.resource_details(rt.group, rt.plural, name),
                ),
            )
        return _json(201, self.store.put(obj))

    def _review(self, rt: ResourceType, body: _Body, user: UserInfo) -> _Response:
        """SelfSubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview: 201, spec echoed."""
        try:
            req = body.review()
        except _BodyError as exc:
            return _json(exc.code, st.status_body(exc.code, str(exc)))
        spec = req.get("spec") or {}
        if not isinstance(spec, dict):
            return _json(400, st.status_body(400, "spec is not an object"))
        out: JsonObj = {
            "kind": rt.kind,
            "apiVersion": rt.api_version,
            "metadata": {"creationTimestamp": None},
        }
        if rt.name == "selfsubjectreviews":
            info: JsonObj = {"username": user.name, "groups": list(user.groups)}
            if user.uid:
                info["uid"] = user.uid
            out["status"] = {"userInfo": info}
            return _json(201, out)
        if rt.name == "selfsubjectrulesreviews":
            resource, non_resource = self.rbac.rules_for(user, spec.get("namespace", ""))
            out["spec"] = spec
            out["status"] = {
                "resourceRules": [r.to_json() for r in resource],
                "nonResourceRules": [r.to_json() for r in non_resource],
                "incomplete": False,
            }
            return _json(201, out)
        ra: JsonObj = spec.get("resourceAttributes") or {}
        nra: JsonObj = spec.get("nonResourceAttributes") or {}
        if bool(ra) == bool(nra):
            return _json(
                422,
                st.status_body(
                    422,
                    f'{rt.kind} "" is invalid: spec.resourceAttributes: Invalid value: '
                    '"null": exactly one of nonResourceAttributes or resourceAttributes '
                    "must be specified",
                ),
            )
        if ra:
            attrs = Attributes(
                verb=ra.get("verb", ""),
                resource_request=True,
                group=ra.get("group", ""),
                version=ra.get("version", ""),
                resource=ra.get("resource", ""),
                subresource=ra.get("subresource", ""),
                name=ra.get("name", ""),
                namespace=ra.get("namespace", ""),
            )
        else:
            attrs = Attributes(
                verb=nra.get("verb", ""), resource_request=False, path=nra.get("path", "")
            )
        decision = self.rbac.authorize(user, attrs)
        out["spec"] = spec
        out["status"] = {"allowed": decision.allowed}
        if decision.reason:
            out["status"]["reason"] = decision.reason
        return _json(201, out)


def _shutdown_socket(conn: socket.socket) -> None:
    """Shut a connection from another thread; the plain socket call, not SSLSocket's."""
    try:
        socket.socket.shutdown(conn, socket.SHUT_RDWR)
    except OSError:
        pass


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # Never join handler threads on close: a hung request must not hold up stop().
    block_on_close = False

    def __init__(self, api: LoopbackApiServer, ssl_ctx: ssl.SSLContext | None) -> None:
        self.api = api
        self.ssl_ctx = ssl_ctx
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        conn: socket.socket = request
        self.api._track(conn, True)
        api = self.api
        api.connections += 1
        try:
            if api.handshakes:
                api._pause(api.round_trip)  # SYN, SYN-ACK: the client waits one round trip
            if self.ssl_ctx is not None:
                # Bounded, so a client that opens and never speaks costs one idle thread at most.
                conn.settimeout(10)
                self.api._track(conn, False)
                conn = self.ssl_ctx.wrap_socket(conn, server_side=True)
                self.api._track(conn, True)
                if api.handshakes:
                    api._pause(api.round_trip)  # TLS 1.3: ClientHello to ServerHello
            _Handler(conn, client_address, self)
        except (OSError, ssl.SSLError) as exc:
            # Clients refusing our certificate (expired, wrong name) end up here: expected.
            log.debug("connection from %s ended: %s", client_address, type(exc).__name__)
        finally:
            self.api._track(conn, False)
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("error serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Like kube-apiserver (Go sets TCP_NODELAY): without it, a body written after its
    # headers waits ~40 ms for the client's delayed ACK (Nagle), which no real cluster does.
    disable_nagle_algorithm = True
    server_version = "loopback-apiserver"
    sys_version = ""
    # Idle keep-alive connections are closed after this; stop() closes them sooner.
    timeout = 120
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        # The stdlib logs to stderr; ours go to logging at debug level, headers never.
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            # After a deliberate reset the socket is already gone.
            pass

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _peercert(self) -> dict[str, Any] | None:
        if isinstance(self.connection, ssl.SSLSocket):
            cert = self.connection.getpeercert()
            return dict(cert) if cert else None
        return None

    def _handle(self) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        path, query = url.path or "/", parse_qs(url.query)
        body = self._read_body()
        record = api.log.add(RequestRecord(self.command, path, query))
        api._pause(api.round_trip)
        fault = api.faults.take(self.command, path)
        if fault is not None:
            api.log.update(record, fault=fault.kind.value)
            if fault.kind is FaultKind.LATENCY:
                api._pause(fault.seconds)
            elif fault.kind is FaultKind.HANG:
                # Released by clear_faults()/remove_fault() and by stop(); then answered.
                fault.wait_released()
            elif fault.kind not in (
                FaultKind.RESET,
                FaultKind.TRUNCATED,
                FaultKind.WRONG_CONTENT_TYPE,
            ):
                self._send(record, self._fault_response(fault))
                return
        if api._stopping.is_set():
            self.close_connection = True
            return
        user = api._authenticate(self.headers.get("Authorization"), self._peercert())
        impersonated = api.impersonate(user, self.headers) if user is not None else None
        if user is None:
            resp = _json(401, st.unauthorized())
        elif isinstance(impersonated, _Response):
            resp = impersonated
        else:
            user = impersonated or user
            api.log.update(record, user=user.name)
            try:
                resp = api.answer(
                    self.command,
                    path,
                    query,
                    self.headers.get("Accept", ""),
                    body,
                    user,
                    self.headers.get("Content-Type", JSON),
                )
            except Exception:
                log.exception("loopback API server failed on %s %s", self.command, path)
                resp = _json(500, st.status_body(500, "internal error in the loopback server"))
        if fault is not None and fault.kind is FaultKind.WRONG_CONTENT_TYPE:
            resp.content_type = fault.content_type
        elif fault is not None and fault.kind in (FaultKind.RESET, FaultKind.TRUNCATED):
            self._cut(record, resp, reset=fault.kind is FaultKind.RESET)
            return
        self._send(record, resp)

    def _fault_response(self, fault: Fault) -> _Response:
        if fault.kind is FaultKind.STATUS:
            resp = (
                _Response(fault.status, fault.body, TEXT)
                if fault.body is not None
                else _json(
                    fault.status,
                    st.status_body(fault.status, f"injected fault: HTTP {fault.status}"),
                )
            )
            if fault.retry_after is not None:
                resp.headers["Retry-After"] = str(fault.retry_after)
            return resp
        if fault.kind is FaultKind.GARBAGE:
            return _Response(200, b"\x00\xff<<not json>>{{{\x7f", JSON)
        if fault.kind is FaultKind.HTML_ERROR:
            page = _PROXY_PAGE.format(code=fault.status)
            return _Response(fault.status, page.encode(), "text/html")
        # REDIRECT
        return _Response(fault.status, b"", TEXT, {"Location": fault.location})

    def _head(self, resp: _Response, length: int) -> None:
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, record: RequestRecord, resp: _Response) -> None:
        self._head(resp, len(resp.body))
        self.wfile.write(resp.body)
        self.server.api.log.update(record, status=resp.status)

    def _cut(self, record: RequestRecord, resp: _Response, *, reset: bool) -> None:
        """Announce the full body, send half, then close (reset: with a TCP RST)."""
        self._head(resp, len(resp.body) + 64)
        self.wfile.write(resp.body[: len(resp.body) // 2])
        self.wfile.flush()
        self.server.api.log.update(record, status=resp.status)
        self.close_connection = True
        if reset:
            # SO_LINGER 0 makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # The handler's rfile holds a reference that would keep the socket open.
            self.rfile.close()
            self.connection.close()
        else:
            _shutdown_socket(self.connection)
