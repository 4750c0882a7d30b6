"""The one store of what clusters said: cached, single-flight, bounded.

`FactStore` lives as long as the process. Check units never call the API
themselves: they ask a `Facts` accessor bound to one resolved cluster for
one walk (`await facts.operator()`, `await facts.access_review(...)`,
`await facts.get(path)`), so two checks, or twenty configs on one context,
never ask the same question twice. Every answer is cached by cluster
identity with a lifetime that depends on the answer, and concurrent askers
share one request.

A forced walk (the user's re-check, a kubeconfig change) asks each question
afresh once, then shares that fresh answer with the rest of the walk.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster import kubeconfig as kc
from mirrord_ls.cluster.api import ApiConnection, Response, TransportError
from mirrord_ls.cluster.cache import SingleFlight, TtlCache
from mirrord_ls.cluster.connections import ConnectionPool
from mirrord_ls.cluster.discovery import OPERATOR_PATH, Verdict, decide
from mirrord_ls.cluster.preflight import agent_reads
from mirrord_ls.cluster.preflight.agent_facts import (
    NamespaceFacts,
    NodeFacts,
    TargetPods,
    Unreadable,
)
from mirrord_ls.cluster.preflight.operator import OperatorUse, operator_use
from mirrord_ls.cluster.preflight.operator_object import (
    InvalidOperator,
    MirrordOperator,
    parse_operator,
)
from mirrord_ls.cluster.targets import Listing, TargetLookup, list_names, lookup_target
from mirrord_ls.config.targets import Target

POSITIVE_TTL = 300.0
ERROR_TTL = 30.0
TRANSIENT_TTL = (5.0, 60.0)  # first and longest backoff for passing failures
LISTING_TTL = 30.0
MAX_IDENTITIES = 128
MAX_ENTRIES = 512
REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
WHOAMI_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
T = TypeVar("T")


@dataclass(frozen=True)
class VerdictEntry:
    verdict: Verdict
    failures: int = 0
    """Passing failures in a row (they back off)."""
    parsed: MirrordOperator | InvalidOperator | None = None
    """The operator GET's 2xx body read as mirrord reads it (`parse_operator`)."""


@dataclass(frozen=True)
class OperatorObject:
    """The discovery fact with the MirrordOperator body it read (one GET for both)."""

    verdict: Verdict
    parsed: MirrordOperator | InvalidOperator | None = None

    @property
    def discovery(self) -> str:
        """The verdict kind as the operator-path rules take it: any 2xx answer is
        "installed", readable or not (client.rs `OperatorApi::try_new` deserializes the
        body of a 2xx answer; a body it cannot read is an error whatever `operator` says)."""
        if self.parsed is not None and self.verdict.kind in ("installed", "check-failed"):
            return "installed"
        if self.verdict.kind == "check-failed" and self.verdict.listed:
            # client.rs `try_new`: the kind is listed (`Ok(true) => error`): mirrord stops.
            return "failing"
        return self.verdict.kind

    def use(self, setting: bool | None, today: datetime.date) -> OperatorUse:
        """Will mirrord use the operator, and if not why (`preflight.operator.operator_use`)."""
        return operator_use(self.discovery, self.parsed, setting, today)


@dataclass(frozen=True)
class Fetched:
    """The answer to a GET: the HTTP status and JSON body, or why there was none."""

    status: int | None
    body: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def verdict_ttl(verdict: Verdict, failures: int) -> float:
    if verdict.transient:
        return min(TRANSIENT_TTL[1], TRANSIENT_TTL[0] * 2 ** (failures - 1))
    if verdict.kind in ("installed", "forbidden", "not-installed"):
        return POSITIVE_TTL
    return ERROR_TTL


@dataclass(frozen=True)
class CachedAnswer:
    """A cached GET's answer, shaped as the readers use a `Response` (status, json())."""

    status: int
    body: Any = None

    def json(self) -> Any:
        return self.body


class FactStore:
    """Every cluster answer of the process, by cluster identity."""

    def __init__(self, *, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self.pool = ConnectionPool(MAX_IDENTITIES)
        self.verdicts: TtlCache[kc.ClusterIdentity, VerdictEntry] = TtlCache(MAX_IDENTITIES)
        self.lookups: TtlCache[tuple[Any, ...], TargetLookup] = TtlCache(MAX_ENTRIES)
        self.listings: TtlCache[tuple[Any, ...], Listing] = TtlCache(MAX_ENTRIES)
        self.reviews: TtlCache[tuple[Any, ...], bool | None] = TtlCache(MAX_ENTRIES)
        self.gets: TtlCache[tuple[Any, ...], Fetched] = TtlCache(MAX_ENTRIES)
        self.agent_reads: TtlCache[tuple[Any, ...], Any] = TtlCache(MAX_ENTRIES)
        self.flights: SingleFlight[Hashable] = SingleFlight()
        self.checks_run = 0
        """How many discoveries actually went to a cluster (tests and benchmarks read it)."""

    def bind(
        self,
        resolved: kc.ResolvedCluster,
        trust: creds_mod.TrustPolicy,
        env: dict[str, str],
        *,
        force: bool = False,
        stale_ok: bool = False,
    ) -> Facts:
        """The store seen from one cluster: `force` reads each fact afresh once; `stale_ok`
        takes every cached answer whatever its age (a re-judgement, e.g. of licence dates
        at midnight UTC, asks only for what was never read)."""
        return Facts(self, resolved, trust, env, force, stale_ok)

    # -- what is cached ------------------------------------------------------
    def cached_verdict(self, identity: kc.ClusterIdentity) -> Verdict | None:
        entry = self.verdicts.get(identity)
        return entry.verdict if entry is not None else None

    def cached_operator(
        self, identity: kc.ClusterIdentity, *, stale_ok: bool = False
    ) -> OperatorObject | None:
        entry = self.verdicts.get(identity, stale_ok=stale_ok)
        return OperatorObject(entry.verdict, entry.parsed) if entry is not None else None

    def cached_listing(
        self, identity: kc.ClusterIdentity, kind: str, namespace: str
    ) -> Listing | None:
        """The last known listing, even past its lifetime (completion shows it at once)."""
        entry = self.listings.peek((identity, kind, namespace))
        return entry.value if entry is not None else None

    def due(self, identity: kc.ClusterIdentity, period: float, now: float) -> bool:
        """Is a periodic re-check of `identity` due? Repeated failures back off."""
        entry = self.verdicts.peek(identity)
        if entry is None:
            return True
        failures = entry.value.failures
        wait = period * (2 ** min(failures - 1, 4)) if failures else period
        return now - entry.stored >= wait * 0.9

    def invalidate(self, identities: Iterable[kc.ClusterIdentity] | None = None) -> None:
        if identities is None:
            self.verdicts.clear()
            self.pool.forget_credentials()
            return
        gone = set(identities)
        for identity in gone:
            self.verdicts.pop(identity)
        for cache in (self.lookups, self.listings, self.reviews, self.gets, self.agent_reads):
            cache.drop_where(lambda key: key[0] in gone)

    def close(self) -> None:
        self.flights.cancel_all()
        self.pool.close()

    # -- the fetches (each runs once per key at a time) ---------------------
    async def discover(
        self,
        resolved: kc.ResolvedCluster,
        trust: creds_mod.TrustPolicy,
        env: dict[str, str],
        setting: bool | None,
    ) -> Verdict:
        return (await self.discover_object(resolved, trust, env, setting)).verdict

    async def discover_object(
        self,
        resolved: kc.ResolvedCluster,
        trust: creds_mod.TrustPolicy,
        env: dict[str, str],
        setting: bool | None,
    ) -> OperatorObject:
        """Discovery, keeping the MirrordOperator body its GET read (no second request)."""
        identity = resolved.identity

        async def fetch() -> OperatorObject:
            conn = await self.pool.get(resolved, trust, env)
            bodies: list[Any] = []

            async def request(method: str, path: str, **kwargs: Any) -> Response:
                response = await conn.request(method, path, **kwargs)
                if method == "GET" and path == OPERATOR_PATH and 200 <= response.status < 300:
                    bodies.append(response.json())
                return response

            # No process-wide limit: each connection is a bulkhead of its own
            # (cluster/api.py), so a slow cluster never starves the others.
            self.checks_run += 1
            verdict = await decide(
                request,
                setting,
                timeout=self.timeout,
                has_credentials=conn.has_credentials,
            )
            if verdict.kind == "auth-failed":
                self.pool.credentials_rejected()  # maybe expired exec credentials
            previous = self.verdicts.peek(identity)
            failures = 0
            if verdict.transient:
                was = previous.value if previous is not None else None
                failures = was.failures + 1 if was and was.verdict.transient else 1
            parsed = parse_operator(bodies[-1]) if bodies else None
            self.verdicts.put(
                identity, VerdictEntry(verdict, failures, parsed), verdict_ttl(verdict, failures)
            )
            return OperatorObject(verdict, parsed)

        found: OperatorObject = await self.flights.run(("verdict", identity), fetch)
        return found


class Facts:
    """The fact store seen from one cluster, for one walk of the checks."""

    def __init__(
        self,
        store: FactStore,
        resolved: kc.ResolvedCluster,
        trust: creds_mod.TrustPolicy,
        env: dict[str, str],
        force: bool,
        stale_ok: bool = False,
    ) -> None:
        self.store = store
        self.cluster = resolved
        self.trust = trust
        self.env = env
        self._force = force
        self._stale = stale_ok
        self._refreshed: set[Hashable] = set()
        self.verdict: Verdict | None = None
        """The operator verdict this walk read (hover and status show it)."""
        self.target_lookup: TargetLookup | None = None
        self.operator_parsed: MirrordOperator | InvalidOperator | None = None
        """The MirrordOperator body this walk read (hover shows it)."""
        self.operator_path: Any = None
        """The operator-path state the check units worked out (`checks/operator_state.py`
        sets it; hover reads it)."""

    @property
    def identity(self) -> kc.ClusterIdentity:
        return self.cluster.identity

    @property
    def timeout(self) -> float:
        return self.store.timeout

    def _fresh_needed(self, key: Hashable) -> bool:
        if not self._force or key in self._refreshed:
            return False
        self._refreshed.add(key)
        return True

    async def connection(self) -> ApiConnection:
        """Raises `credentials.CredentialError` when no credentials can be had."""
        return await self.store.pool.get(self.cluster, self.trust, self.env)

    async def operator(self, setting: bool | None = None) -> Verdict:
        """The operator verdict (mirrord's discovery, predicted)."""
        return (await self.operator_object(setting)).verdict

    # -- the operator path (issue 13) -----------------------------------------
    async def operator_object(self, setting: bool | None = None) -> OperatorObject:
        """The discovery verdict with the MirrordOperator object its GET read: the same
        cached, single-flight fact as `operator()`. `.use(setting, today)` says whether
        mirrord will use the operator (`OperatorUse`)."""
        fresh = self._fresh_needed("operator")
        hit = None if fresh else self.store.cached_operator(self.identity, stale_ok=self._stale)
        found = hit or await self.store.discover_object(self.cluster, self.trust, self.env, setting)
        self.verdict = found.verdict
        self.operator_parsed = found.parsed
        return found

    async def target(self, target: Target) -> TargetLookup:
        """Does the target exist (and its container), in its namespace or the context's."""
        namespace = target.namespace or self.cluster.namespace or "default"
        key = (self.identity, target.display, namespace)
        store = self.store
        hit = None if self._fresh_needed(key) else store.lookups.get(key, stale_ok=self._stale)
        if hit is not None:
            self.target_lookup = hit
            return hit

        async def fetch() -> TargetLookup:
            await self.connection()  # no credentials: raise before asking anything
            # GETs through the shared cache: the agent units read the same workload
            result = await lookup_target(self.shared_request, target, namespace, store.timeout)
            store.lookups.put(key, result, ERROR_TTL if result.kind == "error" else POSITIVE_TTL)
            return result

        lookup: TargetLookup = await store.flights.run(("lookup", *key), fetch)
        self.target_lookup = lookup
        return lookup

    async def listing(self, kind: str, namespace: str) -> Listing:
        """Names of `kind` in `namespace` (kind "namespace": the namespaces)."""
        key = (self.identity, kind, namespace)
        store = self.store
        hit = store.listings.get(key, stale_ok=self._stale)
        if hit is not None:
            return hit

        async def fetch() -> Listing:
            conn = await self.connection()
            result = await list_names(conn.request, kind, namespace, min(store.timeout, 5.0))
            store.listings.put(key, result, LISTING_TTL)
            return result

        listing: Listing = await store.flights.run(("listing", *key), fetch)
        return listing

    async def access_review(
        self,
        namespace: str,
        verb: str,
        group: str,
        resource: str,
        subresource: str = "",
        name: str = "",
    ) -> bool | None:
        """May the user do this? A SelfSubjectAccessReview; None when the cluster did not say."""
        key = (self.identity, namespace, verb, group, resource, subresource, name)
        store = self.store
        entry = store.reviews.live(key, stale_ok=self._stale)
        if entry is not None:
            return entry.value

        async def fetch() -> bool | None:
            conn = await self.connection()
            attributes = {
                "group": group,
                "resource": resource,
                "subresource": subresource,
                "verb": verb,
                "namespace": namespace,
            }
            if name:
                attributes["name"] = name
            body = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes},
            }
            allowed: bool | None = None
            try:
                response = await conn.request(
                    "POST", REVIEW_PATH, body=body, timeout=min(store.timeout, 5.0)
                )
                doc = response.json()
                status = doc.get("status") if isinstance(doc, dict) else None
                if 200 <= response.status < 300 and isinstance(status, dict):
                    allowed = status.get("allowed") is True
            except TransportError:
                pass
            store.reviews.put(key, allowed, LISTING_TTL)
            return allowed

        result: bool | None = await store.flights.run(("review", *key), fetch)
        return result

    async def get(self, path: str) -> Fetched:
        """A GET of any API path, cached briefly (the checks that read objects share it)."""
        key = (self.identity, path)
        store = self.store
        hit = (
            None if self._fresh_needed(("get", path)) else store.gets.get(key, stale_ok=self._stale)
        )
        if hit is not None:
            return hit

        async def fetch() -> Fetched:
            conn = await self.connection()
            try:
                response = await conn.request("GET", path, timeout=min(store.timeout, 5.0))
            except TransportError as exc:
                result = Fetched(None, None, exc.message)
                store.gets.put(key, result, TRANSIENT_TTL[0])
                return result
            result = Fetched(response.status, response.json())
            store.gets.put(key, result, ERROR_TTL if not result.ok else LISTING_TTL)
            return result

        fetched: Fetched = await store.flights.run(("get", *key), fetch)
        return fetched

    # -- open-source agent facts (issue 14): one cached, single-flight read each ----------
    async def shared_request(
        self, method: str, path: str, *, body: Any = None, timeout: float = 10.0
    ) -> CachedAnswer:
        """An `ApiConnection.request` whose GETs are `get(path)`: cached, single-flight, so
        two units reading the same object (the target workload) ask once."""
        if method != "GET":
            conn = await self.connection()
            response = await conn.request(method, path, body=body, timeout=timeout)
            return CachedAnswer(response.status, response.json())
        fetched = await self.get(path)
        if fetched.status is None:
            raise TransportError("other", fetched.error or "no answer")
        return CachedAnswer(fetched.status, fetched.body)

    async def _agent_read(
        self, key: tuple[Any, ...], read: Callable[[agent_reads.Request, float], Awaitable[T]]
    ) -> T:
        """`read(request, timeout)` once per (identity, key) at a time, cached: a clear
        answer for LISTING_TTL, a transport failure (Unreadable without status) briefly."""
        store = self.store
        full = (self.identity, *key)
        hit = (
            None
            if self._fresh_needed(("agent", *key))
            else store.agent_reads.live(full, stale_ok=self._stale)
        )
        if hit is not None:
            value: T = hit.value
            return value

        async def fetch() -> T:
            await self.connection()  # no credentials: raise before asking anything
            request = cast(agent_reads.Request, self.shared_request)  # status + json() suffice
            result = await read(request, min(store.timeout, 5.0))
            passing = isinstance(result, Unreadable) and result.status is None
            store.agent_reads.put(full, result, TRANSIENT_TTL[0] if passing else LISTING_TTL)
            return result

        answer: T = await store.flights.run(("agent", *full), fetch)
        return answer

    async def namespace(self, name: str) -> NamespaceFacts | Unreadable:
        """GET /api/v1/namespaces/{name}: its labels (Pod Security), or why not."""
        return await self._agent_read(
            ("namespace", name), lambda req, t: agent_reads.read_namespace(req, name, t)
        )

    async def target_pods(self, target: Target, namespace: str) -> TargetPods | Unreadable:
        """The pods mirrord considers for a pod, deployment or rollout target."""
        return await self._agent_read(
            ("target-pods", namespace, target.kind, target.name),
            lambda req, t: agent_reads.read_target(req, target, namespace, t),
        )

    async def node(self, name: str) -> NodeFacts | Unreadable:
        """GET /api/v1/nodes/{name}: its allocatable pods."""
        return await self._agent_read(
            ("node", name), lambda req, t: agent_reads.read_node(req, name, t)
        )

    async def running_pods_on(self, node: str) -> int | Unreadable:
        """LIST pods `status.phase=Running,spec.nodeName={node}`, all namespaces: the count."""
        return await self._agent_read(
            ("running-on", node), lambda req, t: agent_reads.count_running_pods(req, node, t)
        )

    async def core_resources(self) -> frozenset[str] | Unreadable:
        """GET /api/v1: the core resource names (pods/ephemeralcontainers or not)."""
        return await self._agent_read(("core-resources",), agent_reads.read_core_resources)

    async def api_groups(self) -> frozenset[str] | Unreadable:
        """GET /apis: the API group names (OpenShift's route.openshift.io or not)."""
        return await self._agent_read(("api-groups",), agent_reads.read_api_groups)

    async def rbac_user(self) -> str | None:
        """The user name RBAC sees (SelfSubjectReview); None when the cluster does not say."""

        async def read(request: agent_reads.Request, timeout: float) -> str | None:
            body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
            try:
                response = await request("POST", WHOAMI_PATH, body=body, timeout=timeout)
            except TransportError:
                return None
            doc = response.json()
            status = doc.get("status") if isinstance(doc, dict) else None
            info = status.get("userInfo") if isinstance(status, dict) else None
            name = info.get("username") if isinstance(info, dict) else None
            ok = 200 <= response.status < 300
            return name if ok and isinstance(name, str) and name else None

        return await self._agent_read(("rbac-user",), read)
