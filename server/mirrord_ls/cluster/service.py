"""The cluster walk for one config: resolve → facts → check units → findings.

`ClusterService.check` takes a config's `ClusterInputs` (never its text) and
returns its cluster findings, placed by the inputs' spans, plus the facts
hover and the status show. The steps live in rooms of their own:
`resolve.py` (kubeconfig, context, env overrides, trust), `facts.py` (every
cluster answer, cached by identity and single-flight: twenty configs on one
context cost one check), `checks/` (each rule, its wording and its mirrord
source, registered in `checks/registry.py`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirrord_ls import redact
from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster import kubeconfig as kc
from mirrord_ls.cluster import trust as trust_mod
from mirrord_ls.cluster.api import ApiConnection
from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit, utc_today
from mirrord_ls.cluster.checks.operator import RBAC_DOCS
from mirrord_ls.cluster.checks.registry import UNITS
from mirrord_ls.cluster.checks.runner import run_units
from mirrord_ls.cluster.discovery import Verdict
from mirrord_ls.cluster.facts import Facts, FactStore
from mirrord_ls.cluster.inputs import ClusterInputs, checked_target
from mirrord_ls.cluster.resolve import KubeconfigReader, Place, resolve
from mirrord_ls.cluster.targets import Listing, TargetLookup
from mirrord_ls.config.targets import Target
from mirrord_ls.findings import CLUSTER_SOURCE, Finding, KeyedFinding

__all__ = ["CLUSTER_SOURCE", "RBAC_DOCS", "ClusterFacts", "ClusterResult", "ClusterService"]


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
    operator_path: Any = None
    """The operator-path state (`checks/operator_state.OperatorPath`): the operator
    object, whether mirrord will use it, the settings after the profile (hover)."""
    watched: tuple[Path, ...] = ()
    """Files whose change may change these facts."""
    judged_on: datetime.date | None = None
    """The UTC date the checks judged on (licence dates): a later day re-judges."""


@dataclass
class ClusterResult:
    findings: list[Finding] = field(default_factory=list)
    facts: ClusterFacts = field(default_factory=ClusterFacts)


class ClusterService:
    """The cluster walk with one fact store; one per server process (or `check` run)."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        home: Path | None = None,
        units: tuple[CheckUnit, ...] = UNITS,
        clock: Callable[[], datetime.date] = utc_today,
    ) -> None:
        self.home = home
        self.clock = clock
        """Today's date, UTC (tests set it; licence rules read it through the context)."""
        self.units = units
        self.store = FactStore(timeout=timeout)
        self.kubeconfigs = KubeconfigReader()

    @property
    def timeout(self) -> float:
        return self.store.timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self.store.timeout = value

    @property
    def checks_run(self) -> int:
        """How many discoveries actually went to a cluster (tests and benchmarks read it)."""
        return self.store.checks_run

    # -- cache ---------------------------------------------------------------
    def invalidate(self, identities: Iterable[kc.ClusterIdentity] | None = None) -> None:
        if identities is None:
            self.kubeconfigs.forget()
        self.store.invalidate(identities)

    def due(self, identity: kc.ClusterIdentity, period: float) -> bool:
        """Is a periodic re-check of `identity` due? Repeated failures back off."""
        return self.store.due(identity, period, time.monotonic())

    def forget_files(self, paths: Iterable[Path]) -> None:
        """Files changed on disk: drop kubeconfig reads that may have used them."""
        self.kubeconfigs.forget()
        del paths

    def cached(self, identity: kc.ClusterIdentity) -> Verdict | None:
        return self.store.cached_verdict(identity)

    def cached_listing(
        self, identity: kc.ClusterIdentity, kind: str, namespace: str
    ) -> Listing | None:
        return self.store.cached_listing(identity, kind, namespace)

    def close(self) -> None:
        """Stop every fetch and close every connection (removing the files they wrote)."""
        self.store.close()

    # -- the walk --------------------------------------------------------------
    async def check(
        self,
        inputs: ClusterInputs,
        *,
        config_path: Path | None,
        workspace_folder: Path | None,
        workspace_folders: tuple[Path, ...] = (),
        env: dict[str, str] | None = None,
        trusted: bool = False,
        force: bool = False,
        rejudge: bool = False,
    ) -> ClusterResult:
        """The cluster findings for one config; never raises for cluster trouble.
        `rejudge`: judge the cached answers again, whatever their age (the date changed)."""
        env = dict(os.environ) if env is None else env
        result = ClusterResult()
        if not inputs.is_object:
            return result
        home = self.home or Path(env.get("HOME") or Path.home())
        place = Place(config_path, workspace_folder, tuple(workspace_folders), trusted)
        resolution = await resolve(inputs, place, env, home, self.kubeconfigs)
        facts = result.facts
        facts.operator_setting = resolution.operator_setting
        facts.kubeconfig_files = resolution.kubeconfig_files
        facts.kubeconfig_origin = resolution.kubeconfig_origin
        facts.contexts = resolution.contexts
        facts.watched = resolution.watched
        keyed = list(resolution.findings)
        resolved, trust = resolution.resolved, resolution.trust
        if resolved is not None and trust is not None:
            facts.context = resolved.context_name
            facts.server = redact.url(resolved.server)  # never a user:pw@ shown
            facts.namespace = resolved.namespace
            facts.user = resolved.user_name
            facts.identity = resolved.identity
            facts.resolved = resolved
            facts.trust = trust
            if inputs.target_templated and not trusted and checked_target(inputs) is not None:
                # A templated target may hold the environment (get_env): in an untrusted
                # workspace it is never sent in a request.
                keyed.append(
                    KeyedFinding(
                        "untrusted-template",
                        "information",
                        "The target comes from a template rendered with this machine's"
                        " environment; in an untrusted workspace mirrord-ls does not send it"
                        " to the cluster, so whether it exists was not checked."
                        f" {trust_mod.TRUST_HINT} to check it.",
                        inputs.target_path or ("target",),
                    )
                )
                inputs = dataclasses.replace(inputs, target=None)
            facts.target = checked_target(inputs)
            bound = self.store.bind(resolved, trust, env, force=force, stale_ok=rejudge)
            facts.judged_on = self.clock()
            ctx = CheckContext(
                inputs, resolved, resolution.operator_setting, bound, today=facts.judged_on
            )
            keyed += await run_units(ctx, self.units)
            facts.verdict = bound.verdict
            facts.target_lookup = bound.target_lookup
            facts.operator_path = bound.operator_path
        result.findings = [k.placed(inputs.anchor(k.at, *k.fallback)) for k in keyed]
        return result

    # -- facts for hover, completion and commands ------------------------------
    def facts_for(
        self, resolved: kc.ResolvedCluster, trust: creds_mod.TrustPolicy, env: dict[str, str]
    ) -> Facts:
        return self.store.bind(resolved, trust, env)

    async def connection(
        self, resolved: kc.ResolvedCluster, trust: creds_mod.TrustPolicy, env: dict[str, str]
    ) -> ApiConnection:
        """The API connection for a cluster identity (credentials obtained on first use)."""
        return await self.store.pool.get(resolved, trust, env)

    async def listing(
        self,
        resolved: kc.ResolvedCluster,
        kind: str,
        namespace: str,
        trust: creds_mod.TrustPolicy,
        env: dict[str, str],
    ) -> Listing:
        """Names of `kind` in `namespace` (kind "namespace": the namespaces), cached."""
        return await self.facts_for(resolved, trust, env).listing(kind, namespace)


def check_cluster_many(
    items: list[tuple[ClusterInputs, Path]],
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
                        inputs,
                        config_path=path,
                        workspace_folder=workspace,
                        # Trust is judged by where each config lives (and the folders
                        # given to `check`), never by the current folder.
                        workspace_folders=trust_roots,
                        env=env,
                        trusted=trusted,
                    )
                    for inputs, path in items
                )
            )
            return [r.findings for r in results]
        finally:
            service.close()

    return asyncio.run(run())
