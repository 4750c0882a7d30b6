"""What the cluster says about one config: resolution, credentials, the cached verdict, findings.

`ClusterService.check` takes an analysed config and returns its cluster
findings plus the facts hover and the status need. Verdicts are cached by
cluster identity (server, trust, credentials, context), not by file, with
single-flight: twenty configs on one context cost one check. The wording of
each verdict lives here, next to the verdict it explains.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirrord_ls import redact
from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster import kubeconfig as kc
from mirrord_ls.cluster import trust as trust_mod
from mirrord_ls.cluster.api import ApiConnection, TransportError
from mirrord_ls.cluster.discovery import Verdict, decide
from mirrord_ls.cluster.targets import Listing, TargetLookup, list_names, lookup_target
from mirrord_ls.config.targets import Target, TargetError, target_from_config
from mirrord_ls.findings import Finding, Severity

CLUSTER_SOURCE = "mirrord-ls (cluster)"
RBAC_DOCS = "https://metalbear.com/mirrord/docs/managing-mirrord/roles/"
POSITIVE_TTL = 300.0
ERROR_TTL = 30.0
TRANSIENT_TTL = (5.0, 60.0)  # first and longest backoff for passing failures
MAX_TARGET_ENTRIES = 512
MAX_IDENTITIES = 128
# What mirrord needs to run without the operator (it creates the agent itself).
OSS_PERMISSIONS: tuple[tuple[str, str, str, str], ...] = (
    ("batch", "jobs", "", "create"),
    ("", "pods", "", "get"),
    ("", "pods", "", "list"),
    ("", "pods", "", "watch"),
    ("", "pods", "portforward", "create"),
    ("", "pods", "ephemeralcontainers", "update"),
)
LISTING_TTL = 30.0


@dataclass
class ClusterFacts:
    """What is known of the cluster a config points at (for hover and status)."""

    kubeconfig_files: tuple[Path, ...] = ()
    kubeconfig_origin: str | None = None
    context: str | None = None
    contexts: tuple[str, ...] = ()
    server: str | None = None
    user: str | None = None
    namespace: str | None = None
    operator_setting: bool | None = None
    verdict: Verdict | None = None
    identity: kc.ClusterIdentity | None = None
    resolved: kc.ResolvedCluster | None = None
    trust: creds_mod.TrustPolicy | None = None
    target: Target | None = None
    target_lookup: TargetLookup | None = None
    watched: tuple[Path, ...] = ()
    """Files whose change may change these facts."""


@dataclass
class ClusterResult:
    findings: list[Finding] = field(default_factory=list)
    facts: ClusterFacts = field(default_factory=ClusterFacts)


@dataclass
class _Entry:
    verdict: Verdict
    expires: float
    failures: int = 0
    stored: float = field(default_factory=time.monotonic)


def _severity(setting: bool | None, unset: Severity) -> Severity:
    return "error" if setting is True else unset


def _anchor(analysis: Any, *paths: tuple[str, ...]) -> tuple[int, int]:
    for path in paths:
        spanned = analysis.field(path)
        if spanned is not None:
            return spanned.start, spanned.end
    first_line_end = analysis.text.find("\n")
    end = len(analysis.text) if first_line_end == -1 else first_line_end
    return 0, max(end, 0)


class ClusterService:
    """Cluster checks with a verdict cache; one per server process (or `check` run)."""

    def __init__(self, *, timeout: float = 10.0, home: Path | None = None) -> None:
        self.timeout = timeout
        self.home = home
        self._cache: dict[kc.ClusterIdentity, _Entry] = {}
        self._inflight: dict[kc.ClusterIdentity, asyncio.Future[Verdict]] = {}
        self._inflight_misc: dict[Any, asyncio.Task[Any]] = {}
        self._connections: dict[kc.ClusterIdentity, ApiConnection] = {}
        self._exec_cache = creds_mod.ExecCredentialCache()
        self._merged: dict[tuple[Any, ...], kc.MergedKubeconfig] = {}
        self._targets: dict[tuple[Any, ...], tuple[TargetLookup, float]] = {}
        self._listings: dict[tuple[Any, ...], tuple[Listing, float]] = {}
        self._perms: dict[tuple[Any, ...], tuple[list[tuple[str, bool | None]], float]] = {}
        self.checks_run = 0
        """How many discoveries actually went to a cluster (tests and benchmarks read it)."""

    # -- cache ---------------------------------------------------------------
    def invalidate(self, identities: Iterable[kc.ClusterIdentity] | None = None) -> None:
        if identities is None:
            self._cache.clear()
            self._merged.clear()
            self._exec_cache.invalidate()
            return
        gone = set(identities)
        for identity in gone:
            self._cache.pop(identity, None)
        for store in (self._targets, self._listings, self._perms):
            for key in [k for k in store if k[0] in gone]:
                del store[key]

    def due(self, identity: kc.ClusterIdentity, period: float) -> bool:
        """Is a periodic re-check of `identity` due? Repeated failures back off."""
        entry = self._cache.get(identity)
        if entry is None:
            return True
        wait = period * (2 ** min(entry.failures - 1, 4)) if entry.failures else period
        return time.monotonic() - entry.stored >= wait * 0.9

    def forget_files(self, paths: Iterable[Path]) -> None:
        """Files changed on disk: drop kubeconfig reads that may have used them."""
        self._merged.clear()
        del paths

    def cached(self, identity: kc.ClusterIdentity) -> Verdict | None:
        entry = self._cache.get(identity)
        if entry is None or entry.expires < time.monotonic():
            return None
        return entry.verdict

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def _store(self, identity: kc.ClusterIdentity, verdict: Verdict) -> None:
        previous = self._cache.get(identity)
        failures = 0
        if verdict.transient:
            failures = (previous.failures + 1) if previous and previous.verdict.transient else 1
            ttl = min(TRANSIENT_TTL[1], TRANSIENT_TTL[0] * 2 ** (failures - 1))
        elif verdict.kind in ("installed", "forbidden", "not-installed"):
            ttl = POSITIVE_TTL
        else:
            ttl = ERROR_TTL
        self._cache[identity] = _Entry(verdict, time.monotonic() + ttl, failures)
        while len(self._cache) > MAX_IDENTITIES:  # a daemon that runs for days stays bounded
            self._cache.pop(next(iter(self._cache)))

    def _load_merged(self, source: kc.KubeconfigSource) -> kc.MergedKubeconfig:
        stamp: list[Any] = [source.origin, source.paths]
        for path in source.paths:
            try:
                st = path.stat()
                stamp.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                stamp.append(None)
        key = tuple(stamp)
        merged = self._merged.get(key)
        if merged is None:
            merged = kc.load_merged(source)
            if len(self._merged) > 64:
                self._merged.clear()
            self._merged[key] = merged
        return merged

    # -- the check ---------------------------------------------------------
    async def check(
        self,
        analysis: Any,
        *,
        config_path: Path | None,
        workspace_folder: Path | None,
        workspace_folders: tuple[Path, ...] = (),
        env: dict[str, str] | None = None,
        trusted: bool = False,
        force: bool = False,
    ) -> ClusterResult:
        """The cluster findings for one analysed config; never raises for cluster trouble."""
        env = dict(os.environ) if env is None else env
        result = ClusterResult()
        facts = result.facts
        if analysis.root is None or analysis.root.kind != "object":
            return result
        home = self.home or Path(env.get("HOME") or Path.home())

        def add(code: str, severity: Severity, span: tuple[int, int], message: str) -> None:
            result.findings.append(
                Finding(code, severity, span[0], span[1], message, source=CLUSTER_SOURCE)
            )

        operator_value = analysis.value(("operator",))
        setting = kc.operator_enabled(
            env, operator_value if isinstance(operator_value, bool) else None
        )
        if isinstance(setting, kc.InvalidEnvValue):
            add("invalid-value", "error", _anchor(analysis, ("operator",)), setting.message)
            return result
        facts.operator_setting = setting.value

        kube_value = analysis.value(("kubeconfig",))
        source = kc.kubeconfig_paths(
            kube_value if isinstance(kube_value, str) else None,
            workspace_folder or (config_path.parent if config_path else None),
            env,
            home,
            cwd=workspace_folder,
        )
        facts.kubeconfig_files = source.paths
        facts.kubeconfig_origin = source.origin.value
        # sec hook (issue 16): a kubeconfig from an untrusted workspace is not used at all.
        # The trust roots: the workspace folders and the folder the config belongs to.
        roots = (
            *workspace_folders,
            trust_mod.workspace_root_of(config_path, home) if config_path else None,
        )
        untrusted = trust_mod.kubeconfig_trust(source, roots, trusted=trusted, home=home)
        if untrusted is not None:
            facts.watched = source.paths
            field_path = (
                [("kubeconfig",)] if source.origin is kc.KubeconfigOrigin.CONFIG_FIELD else []
            )
            span = _anchor(analysis, *field_path, ("operator",), ("kube_context",))
            add("untrusted-kubeconfig", "information", span, untrusted.message)
            return result
        merged = await asyncio.to_thread(self._load_merged, source)
        facts.watched = merged.watched_files()
        facts.contexts = tuple(sorted(merged.contexts))
        kube_anchor = (
            _anchor(analysis, ("kubeconfig",), ("operator",))
            if source.origin is kc.KubeconfigOrigin.CONFIG_FIELD
            else _anchor(analysis, ("operator",), ("kube_context",))
        )
        if merged.errors:
            not_found = [e for e in merged.errors if e.kind is kc.KubeconfigErrorKind.NOT_FOUND]
            code = "kubeconfig-not-found" if not_found else "kubeconfig-invalid"
            how = {
                kc.KubeconfigOrigin.MIRRORD_ENV: "named by MIRRORD_KUBECONFIG",
                kc.KubeconfigOrigin.CONFIG_FIELD: "named by the kubeconfig field",
                kc.KubeconfigOrigin.KUBECONFIG_ENV: "from KUBECONFIG",
                kc.KubeconfigOrigin.DEFAULT: "the default",
            }[source.origin]
            detail = "; ".join(str(e) for e in merged.errors[:3])
            if not_found:
                message = f"The kubeconfig {how} does not exist: {detail}"
            else:
                message = f"The kubeconfig {how} cannot be used: {detail}"
            add(code, "error" if setting.value is not False else "warning", kube_anchor, message)
            return result
        if not merged.files:
            add(
                "kubeconfig-not-found",
                "error" if setting.value is True else "warning",
                kube_anchor,
                "No kubeconfig was found ("
                + ", ".join(str(p) for p in source.paths)
                + "): mirrord cannot reach a cluster.",
            )
            return result

        context_value = analysis.value(("kube_context",))
        choice = kc.effective_context(
            env, context_value if isinstance(context_value, str) else None
        )
        resolved = kc.resolve(merged, choice.name)
        if isinstance(resolved, kc.ResolveError):
            if isinstance(resolved, kc.ContextNotFound):
                span = (
                    _anchor(analysis, ("kube_context",))
                    if choice.origin is kc.ContextOrigin.CONFIG_FIELD
                    else kube_anchor
                )
                where = (
                    " (from MIRRORD_KUBE_CONTEXT)"
                    if choice.origin is kc.ContextOrigin.MIRRORD_ENV
                    else ""
                )
                available = ", ".join(resolved.available) or "none"
                add(
                    "context-not-found",
                    "error",
                    span,
                    f'Context "{resolved.context}"{where} is not in the kubeconfig'
                    f" ({', '.join(str(p) for p in merged.files)}). Contexts: {available}.",
                )
            else:
                add("kubeconfig-invalid", "error", kube_anchor, f"{resolved.message}.")
            return result
        # MIRRORD_ACCEPT_INVALID_CERTIFICATES > accept_invalid_certificates > the kubeconfig's
        # insecure-skip-tls-verify. It changes what the cluster answers, so it joins the key.
        config_insecure = analysis.value(("accept_invalid_certificates",))
        insecure = kc.accept_invalid_certificates(
            env,
            config_insecure if isinstance(config_insecure, bool) else None,
            resolved.insecure_skip_tls_verify,
        )
        if isinstance(insecure, kc.InvalidEnvValue):
            add("invalid-value", "error", kube_anchor, insecure.message)
            return result
        if insecure.value != resolved.insecure_skip_tls_verify:
            resolved = dataclasses.replace(
                resolved,
                insecure_skip_tls_verify=insecure.value,
                identity=dataclasses.replace(
                    resolved.identity,
                    trust=f"{resolved.identity.trust}:insecure={insecure.value}",
                ),
            )
        facts.context = resolved.context_name
        facts.server = redact.url(resolved.server)  # sec hook: never a user:pw@ shown
        facts.namespace = resolved.namespace
        facts.user = resolved.user_name
        facts.identity = resolved.identity
        facts.resolved = resolved
        trust = creds_mod.TrustPolicy.for_workspace(roots, source, trusted=trusted, home=home)
        facts.trust = trust
        verdict_anchor = _anchor(analysis, ("operator",), ("kube_context",), ("kubeconfig",))
        target, target_path = target_from_config(analysis.value(("target",)))
        target_span = _anchor(analysis, target_path) if target_path else verdict_anchor
        if target_path and analysis.broken_template_in(target_path):
            target = None  # the template finding says it; its stand-in value is no target
        if isinstance(target, TargetError):
            add("invalid-value", "error", target_span, target.message)
            target = None
        elif isinstance(target, Target) and target.kind == "targetless":
            target = None
        # sec hook (issue 16): a templated target may hold the environment (get_env); in an
        # untrusted workspace it is judged here but never sent in a request.
        send_target = True
        if target is not None and not trusted and trust_mod.templated_value(analysis, ("target",)):
            send_target = False
            add(
                "untrusted-template",
                "information",
                target_span,
                "The target comes from a template rendered with this machine's environment;"
                " in an untrusted workspace mirrord-ls does not send it to the cluster, so"
                f" whether it exists was not checked. {trust_mod.TRUST_HINT} to check it.",
            )
        facts.target = target if send_target else None
        if target is not None and target.needs_operator and setting.value is False:
            add(
                "target-requires-operator",
                "error",
                target_span,
                f"A {target.kind} target needs the mirrord operator, but operator is false:"
                " mirrord will refuse it. Use a pod, deployment or rollout target, or the"
                " operator.",
            )
        if setting.value is not False:
            try:
                verdict = await self._verdict(resolved, setting.value, trust, env, force=force)
            except creds_mod.UntrustedCredentialPlugin as exc:
                add(
                    "untrusted-credential-plugin",
                    "warning" if setting.value is None else "error",
                    verdict_anchor,
                    f"{exc} mirrord-ls did not run it, so the cluster was not checked. Trust"
                    " this workspace (VS Code: Manage Workspace Trust; or set"
                    " mirrordLs.trustWorkspaceKubeconfigs; `check --trust-workspace`) to let"
                    " it run.",
                )
                return result
            except creds_mod.CredentialError as exc:
                add(
                    "cluster-auth-failed",
                    _severity(setting.value, "warning"),
                    verdict_anchor,
                    f"No credentials for context {resolved.context_name}: {exc}",
                )
                return result
            facts.verdict = verdict
            finding = verdict_finding(verdict, setting.value, resolved, verdict_anchor)
            if finding is not None:
                result.findings.append(finding)
            if verdict.kind not in ("installed", "not-installed", "forbidden"):
                return result  # the cluster is in trouble: one finding says so
            if target is not None and target.needs_operator and verdict.kind == "not-installed":
                add(
                    "target-requires-operator",
                    "error",
                    target_span,
                    f"A {target.kind} target needs the mirrord operator, which is not installed"
                    f" in context {resolved.context_name}.",
                )
        if target is None or not send_target:
            return result
        try:
            lookup = await self.lookup(resolved, target, trust, env, force=force)
        except creds_mod.CredentialError:
            return result  # said above when the operator is asked; nothing to add otherwise
        facts.target_lookup = lookup
        finding = target_finding(lookup, target, setting.value, target_span)
        if finding is not None:
            result.findings.append(finding)
        return result

    async def connection(
        self, resolved: kc.ResolvedCluster, trust: creds_mod.TrustPolicy, env: dict[str, str]
    ) -> ApiConnection:
        """The API connection for a cluster identity (credentials obtained on first use)."""
        identity = resolved.identity
        conn = self._connections.get(identity)
        if conn is not None:
            return conn

        async def create() -> ApiConnection:
            # sec hook (issue 11, bug 2): credentials are a provider the connection consults
            # before each request (expiry, a changed token file, a 401), fetched once here
            # so that a credential problem is reported before any request.
            provider = creds_mod.CredentialProvider(
                resolved, trust=trust, cache=self._exec_cache, base_env=env
            )
            made = ApiConnection(
                resolved, provider, accept_invalid_certificates=resolved.insecure_skip_tls_verify
            )
            await made.credentials()
            self._connections[identity] = made
            while len(self._connections) > MAX_IDENTITIES:
                self._connections.pop(next(iter(self._connections))).close()
            return made

        created: ApiConnection = await self._single_flight(("connection", identity), create)
        return created

    async def lookup(
        self,
        resolved: kc.ResolvedCluster,
        target: Target,
        trust: creds_mod.TrustPolicy,
        env: dict[str, str],
        *,
        force: bool = False,
    ) -> TargetLookup:
        namespace = target.namespace or resolved.namespace or "default"
        key = (resolved.identity, target.display, namespace)
        hit = self._targets.get(key)
        if hit is not None and not force and hit[1] > time.monotonic():
            return hit[0]

        async def fetch() -> TargetLookup:
            conn = await self.connection(resolved, trust, env)
            # sec hook (issue 16): no process-wide limit here; each connection is a bulkhead
            # of its own (cluster/api.py), so a slow cluster never starves the others.
            result = await lookup_target(conn.request, target, namespace, self.timeout)
            ttl = ERROR_TTL if result.kind == "error" else POSITIVE_TTL
            self._targets[key] = (result, time.monotonic() + ttl)
            while len(self._targets) > MAX_TARGET_ENTRIES:
                self._targets.pop(next(iter(self._targets)))
            return result

        return await self._single_flight(key, fetch)

    async def _single_flight(self, key: Any, fetch: Any) -> Any:
        """One fetch per key at a time, in a task of its own (a caller's cancellation
        never cancels what the others wait for)."""
        pending = self._inflight_misc.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_task(fetch())
            self._inflight_misc[key] = pending
            pending.add_done_callback(lambda _t: self._inflight_misc.pop(key, None))
        return await asyncio.shield(pending)

    async def listing(
        self,
        resolved: kc.ResolvedCluster,
        kind: str,
        namespace: str,
        trust: creds_mod.TrustPolicy,
        env: dict[str, str],
    ) -> Listing:
        """Names of `kind` in `namespace` (kind "namespace": the namespaces), cached."""
        key = (resolved.identity, kind, namespace)
        hit = self._listings.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]

        async def fetch() -> Listing:
            conn = await self.connection(resolved, trust, env)
            result = await list_names(conn.request, kind, namespace, min(self.timeout, 5.0))
            self._listings[key] = (result, time.monotonic() + LISTING_TTL)
            while len(self._listings) > MAX_TARGET_ENTRIES:
                self._listings.pop(next(iter(self._listings)))
            return result

        result: Listing = await self._single_flight(("listing", *key), fetch)
        return result

    async def oss_permissions(
        self,
        resolved: kc.ResolvedCluster,
        namespace: str,
        trust: creds_mod.TrustPolicy,
        env: dict[str, str],
    ) -> list[tuple[str, bool | None]]:
        """What mirrord needs without the operator in `namespace`, each asked with a
        SelfSubjectAccessReview: (permission, allowed; None when the cluster did not say)."""
        key = (resolved.identity, namespace)
        hit = self._perms.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        conn = await self.connection(resolved, trust, env)
        results: list[tuple[str, bool | None]] = []
        for group, resource, subresource, verb in OSS_PERMISSIONS:
            name = f"{verb} {resource}{'/' + subresource if subresource else ''}"
            if group:
                name += f" ({group})"
            body = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {
                    "resourceAttributes": {
                        "group": group,
                        "resource": resource,
                        "subresource": subresource,
                        "verb": verb,
                        "namespace": namespace,
                    }
                },
            }
            allowed: bool | None = None
            try:
                response = await conn.request(
                    "POST",
                    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                    body=body,
                    timeout=min(self.timeout, 5.0),
                )
                doc = response.json()
                status = doc.get("status") if isinstance(doc, dict) else None
                if 200 <= response.status < 300 and isinstance(status, dict):
                    allowed = status.get("allowed") is True
            except TransportError:
                pass
            results.append((name, allowed))
        self._perms[key] = (results, time.monotonic() + LISTING_TTL)
        while len(self._perms) > MAX_TARGET_ENTRIES:
            self._perms.pop(next(iter(self._perms)))
        return results

    def cached_listing(
        self, identity: kc.ClusterIdentity, kind: str, namespace: str
    ) -> Listing | None:
        hit = self._listings.get((identity, kind, namespace))
        return hit[0] if hit is not None else None

    async def _verdict(
        self,
        resolved: kc.ResolvedCluster,
        setting: bool | None,
        trust: creds_mod.TrustPolicy,
        env: dict[str, str],
        *,
        force: bool,
    ) -> Verdict:
        identity = resolved.identity
        if not force:
            hit = self.cached(identity)
            if hit is not None:
                return hit
        pending = self._inflight.get(identity)
        if pending is None:
            # The check runs in a task of its own: one caller giving up (a newer edit
            # cancelled it) must not cancel the answer the other callers wait for.
            pending = asyncio.get_running_loop().create_task(
                self._discover(resolved, setting, trust, env)
            )
            self._inflight[identity] = pending
            pending.add_done_callback(lambda _t: self._inflight.pop(identity, None))
        return await asyncio.shield(pending)

    async def _discover(
        self,
        resolved: kc.ResolvedCluster,
        setting: bool | None,
        trust: creds_mod.TrustPolicy,
        env: dict[str, str],
    ) -> Verdict:
        identity = resolved.identity
        conn = await self.connection(resolved, trust, env)
        # sec hook (issue 16): bulkheads per identity live in the connection (cluster/api.py).
        self.checks_run += 1
        verdict = await decide(
            conn.request,
            setting,
            timeout=self.timeout,
            has_credentials=conn.has_credentials,
        )
        if verdict.kind == "auth-failed":
            self._exec_cache.invalidate()  # maybe expired exec credentials: fetch anew
        self._store(identity, verdict)
        return verdict


def verdict_finding(
    verdict: Verdict,
    setting: bool | None,
    resolved: kc.ResolvedCluster,
    span: tuple[int, int],
) -> Finding | None:
    """The diagnostic for a verdict, worded by what mirrord will do with this setting."""
    server = redact.url(resolved.server)  # sec hook: never a user:pw@ shown
    where = f'context "{resolved.context_name}" ({server})'
    data = {
        "context": resolved.context_name,
        "server": server,
        "checkedAt": verdict.checked_at.isoformat(timespec="seconds"),
        "verdict": verdict.kind,
    }
    kind = verdict.kind
    if kind in ("installed", "disabled"):
        return None
    if kind == "forbidden":
        user = verdict.user or resolved.user_name
        missing = f" The missing permission: `{verdict.missing}`." if verdict.missing else ""
        message = (
            f'The mirrord operator is installed in {where}, but RBAC forbids user "{user}"'
            f" to use it.{missing} mirrord will stop at start-up with a 403 error."
            " Fix: a cluster admin binds ClusterRole `mirrord-operator-user` to you"
            f" (see {RBAC_DOCS})."
        )
        code, severity = "operator-forbidden", _severity(setting, "warning")
        data["user"] = user
    elif kind == "not-installed":
        if setting is True:
            message = (
                f"The mirrord operator is not installed in {where}, but operator is true:"
                " mirrord will refuse to start. Install the operator or set operator to false."
            )
        else:
            message = (
                f"The mirrord operator is not installed in {where}:"
                " mirrord will run without the operator."
            )
        code, severity = "operator-not-installed", _severity(setting, "information")
    elif kind == "check-failed":
        then = (
            "mirrord will fail, since operator is true."
            if setting is True
            else "mirrord would quietly run without the operator."
        )
        detail = verdict.detail.rstrip(".")
        message = f"Cannot tell whether the operator is usable in {where}: {detail}. {then}"
        code, severity = "operator-check-failed", _severity(setting, "warning")
    elif kind == "unreachable":
        message = f"The cluster of {where} cannot be reached: {verdict.detail}."
        code, severity = "cluster-unreachable", _severity(setting, "warning")
    elif kind == "tls-error":
        message = (
            f"TLS to the cluster of {where} failed: {verdict.detail}. Check the kubeconfig's"
            " certificate-authority, or accept_invalid_certificates for test clusters."
        )
        code, severity = "cluster-tls-error", _severity(setting, "warning")
    else:
        message = (
            f"The cluster of {where} did not accept the credentials of user"
            f' "{resolved.user_name}": {verdict.detail}.'
        )
        code, severity = "cluster-auth-failed", _severity(setting, "warning")
    return Finding(code, severity, span[0], span[1], message, source=CLUSTER_SOURCE, data=data)


def target_finding(
    lookup: TargetLookup, target: Target, setting: bool | None, span: tuple[int, int]
) -> Finding | None:
    if lookup.kind == "found":
        return None
    severity: Severity
    if lookup.kind == "not-found":
        hint = f" Closest: {', '.join(lookup.suggestions)}." if lookup.suggestions else ""
        code, severity = "target-not-found", "error"
        message = f"The target {lookup.detail}: mirrord will fail to start.{hint}"
    elif lookup.kind == "container-not-found":
        code, severity = "target-container-not-found", "error"
        message = f"The target {lookup.detail}."
    elif lookup.kind == "forbidden":
        code, severity = "target-forbidden", "warning"
        message = f"Cannot check the target: {lookup.detail}. mirrord needs to read it too."
    elif setting is False:  # no operator verdict said the cluster is in trouble: say it here
        code, severity = "cluster-unreachable", "warning"
        message = f"Cannot check the target {target.display}: {lookup.detail}."
    else:
        return None  # the operator verdict already says what is wrong with the cluster
    data: dict[str, Any] = {"namespace": lookup.namespace, "suggestions": list(lookup.suggestions)}
    return Finding(code, severity, *span, message, source=CLUSTER_SOURCE, data=data)


def check_cluster_many(
    items: list[tuple[Any, Path]],
    *,
    env: dict[str, str],
    trusted: bool,
    workspace: Path,
    timeout: float = 10.0,
    trust_roots: tuple[Path, ...] = (),
) -> list[list[Finding]]:
    """For `check`: every config's cluster findings, sharing one cache (one check per identity)."""

    async def run() -> list[list[Finding]]:
        service = ClusterService(timeout=timeout)
        try:
            results = await asyncio.gather(
                *(
                    service.check(
                        analysis,
                        config_path=path,
                        workspace_folder=workspace,
                        # sec hook (issue 16): trust is judged by where each config lives
                        # (and the folders given to `check`), never by the current folder.
                        workspace_folders=trust_roots,
                        env=env,
                        trusted=trusted,
                    )
                    for analysis, path in items
                )
            )
            return [r.findings for r in results]
        finally:
            service.close()

    return asyncio.run(run())
