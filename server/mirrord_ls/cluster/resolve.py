"""Step one of the cluster walk: from `ClusterInputs` to the cluster mirrord would talk to.

Reads what mirrord reads, in mirrord's order: `MIRRORD_OPERATOR_ENABLE` over
`operator`; the kubeconfig (`MIRRORD_KUBECONFIG` > `kubeconfig` > `KUBECONFIG` >
`~/.kube/config`); the context (`MIRRORD_KUBE_CONTEXT` > `kube_context` > the
current context); the insecure flag (`MIRRORD_ACCEPT_INVALID_CERTIFICATES` >
`accept_invalid_certificates` > the kubeconfig's `insecure-skip-tls-verify`);
and the workspace's trust in the kubeconfigs it names. Each rule's mirrord
source is cited in `kubeconfig.py` beside it.

No request leaves here. What cannot be resolved becomes findings placed by key
path; what can becomes a `Resolution` the fact store and the check units use.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster import kubeconfig as kc
from mirrord_ls.cluster import trust as trust_mod
from mirrord_ls.cluster.cache import TtlCache
from mirrord_ls.cluster.inputs import ClusterInputs
from mirrord_ls.findings import KeyedFinding

MAX_KUBECONFIG_READS = 64
_FOREVER = float("inf")


@dataclass(frozen=True)
class Place:
    """Where a config lives: relative kubeconfig paths and trust depend on it."""

    config_path: Path | None = None
    workspace_folder: Path | None = None
    workspace_folders: tuple[Path, ...] = ()
    trusted: bool = False
    """The user trusts this workspace (its kubeconfigs may run credential plugins)."""


@dataclass
class Resolution:
    """What resolving found: the cluster (or why not) and what hover and status show."""

    operator_setting: bool | None = None
    kubeconfig_files: tuple[Path, ...] = ()
    kubeconfig_origin: str | None = None
    contexts: tuple[str, ...] = ()
    watched: tuple[Path, ...] = ()
    """Files whose change may change this resolution."""
    resolved: kc.ResolvedCluster | None = None
    trust: creds_mod.TrustPolicy | None = None
    findings: list[KeyedFinding] = field(default_factory=list)


class KubeconfigReader:
    """Merged kubeconfigs, re-read when a file's (mtime, size, inode) changes."""

    def __init__(self) -> None:
        self._merged: TtlCache[tuple[Any, ...], kc.MergedKubeconfig] = TtlCache(
            MAX_KUBECONFIG_READS
        )

    def load(self, source: kc.KubeconfigSource) -> kc.MergedKubeconfig:
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
            self._merged.put(key, merged, _FOREVER)
        return merged

    def forget(self) -> None:
        self._merged.clear()


def _finding(code: str, severity: Any, message: str, *paths: tuple[str, ...]) -> KeyedFinding:
    return KeyedFinding(code, severity, message, paths[0], tuple(paths[1:]))


async def resolve(
    inputs: ClusterInputs,
    place: Place,
    env: dict[str, str],
    home: Path,
    reader: KubeconfigReader,
) -> Resolution:
    """The cluster a config points at, or the findings that say why there is none."""
    out = Resolution()
    setting = kc.operator_enabled(env, inputs.operator)
    if isinstance(setting, kc.InvalidEnvValue):
        out.findings.append(_finding("invalid-value", "error", setting.message, ("operator",)))
        return out
    out.operator_setting = setting.value

    base = place.workspace_folder or (place.config_path.parent if place.config_path else None)
    source = kc.kubeconfig_paths(inputs.kubeconfig, base, env, home, cwd=place.workspace_folder)
    out.kubeconfig_files = source.paths
    out.kubeconfig_origin = source.origin.value
    kube_at: tuple[tuple[str, ...], ...] = (
        (("kubeconfig",), ("operator",))
        if source.origin is kc.KubeconfigOrigin.CONFIG_FIELD
        else (("operator",), ("kube_context",))
    )
    # Opening a repository is not consent to talk to its cluster: in an untrusted
    # workspace a kubeconfig the workspace controls is not read, nor any file it names.
    # The trust roots: the workspace folders and the folder the config belongs to.
    roots = (
        *place.workspace_folders,
        trust_mod.workspace_root_of(place.config_path, home) if place.config_path else None,
    )
    untrusted = trust_mod.kubeconfig_trust(source, roots, trusted=place.trusted, home=home)
    if untrusted is not None:
        out.watched = source.paths
        out.findings.append(
            _finding("untrusted-kubeconfig", "information", untrusted.message, *kube_at)
        )
        return out
    merged = await asyncio.to_thread(reader.load, source)
    out.watched = merged.watched_files()
    out.contexts = tuple(sorted(merged.contexts))
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
        severity = "error" if setting.value is not False else "warning"
        out.findings.append(_finding(code, severity, message, *kube_at))
        return out
    if not merged.files:
        out.findings.append(
            _finding(
                "kubeconfig-not-found",
                "error" if setting.value is True else "warning",
                "No kubeconfig was found ("
                + ", ".join(str(p) for p in source.paths)
                + "): mirrord cannot reach a cluster.",
                *kube_at,
            )
        )
        return out

    choice = kc.effective_context(env, inputs.kube_context)
    resolved = kc.resolve(merged, choice.name)
    if isinstance(resolved, kc.ResolveError):
        if isinstance(resolved, kc.ContextNotFound):
            at = (("kube_context",),) if choice.origin is kc.ContextOrigin.CONFIG_FIELD else kube_at
            where = (
                " (from MIRRORD_KUBE_CONTEXT)"
                if choice.origin is kc.ContextOrigin.MIRRORD_ENV
                else ""
            )
            available = ", ".join(resolved.available) or "none"
            out.findings.append(
                _finding(
                    "context-not-found",
                    "error",
                    f'Context "{resolved.context}"{where} is not in the kubeconfig'
                    f" ({', '.join(str(p) for p in merged.files)}). Contexts: {available}.",
                    *at,
                )
            )
        else:
            out.findings.append(
                _finding("kubeconfig-invalid", "error", f"{resolved.message}.", *kube_at)
            )
        return out
    # MIRRORD_ACCEPT_INVALID_CERTIFICATES > accept_invalid_certificates > the kubeconfig's
    # insecure-skip-tls-verify. It changes what the cluster answers, so it joins the key.
    insecure = kc.accept_invalid_certificates(
        env, inputs.accept_invalid_certificates, resolved.insecure_skip_tls_verify
    )
    if isinstance(insecure, kc.InvalidEnvValue):
        out.findings.append(_finding("invalid-value", "error", insecure.message, *kube_at))
        return out
    if insecure.value != resolved.insecure_skip_tls_verify:
        resolved = dataclasses.replace(
            resolved,
            insecure_skip_tls_verify=insecure.value,
            identity=dataclasses.replace(
                resolved.identity,
                trust=f"{resolved.identity.trust}:insecure={insecure.value}",
            ),
        )
    out.resolved = resolved
    # Workspace trust: kubeconfigs the workspace names may not run programs unless trusted.
    out.trust = creds_mod.TrustPolicy.for_workspace(roots, source, trusted=place.trusted, home=home)
    return out
