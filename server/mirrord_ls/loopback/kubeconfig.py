"""Writing kubeconfig files that point at loopback clusters.

One context per `KubeContext`; clusters and users are shared between contexts
when they are the same. Credentials go inline (`token`, `client-certificate-data`,
`client-key-data`) or, with `cert_dir`, as files in that directory. Nothing is
written anywhere but `path` and `cert_dir`, and both the kubeconfig and the
key files are created readable by their owner only: they hold secrets.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mirrord_ls.loopback.users import User


@dataclass(frozen=True)
class KubeContext:
    """One context to write: a server (and the CA to trust it), a user, a namespace."""

    name: str
    server: str
    user: User | None
    """None: a context without credentials (requests run as system:anonymous)."""
    ca_pem: bytes | None = None
    namespace: str | None = None
    cluster: str = "loopback"
    insecure_skip_tls_verify: bool = False


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    """Create or replace a file readable by its owner only (mode set before any byte lands)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def _unique(name: str, value: Any, taken: dict[str, Any]) -> str:
    """`name`, or `name-2`, `name-3`... when `name` already holds a different value."""
    candidate, n = name, 1
    while candidate in taken and taken[candidate] != value:
        n += 1
        candidate = f"{name}-{n}"
    taken[candidate] = value
    return candidate


def kubeconfig_dict(
    contexts: Sequence[KubeContext],
    *,
    current: str | None = None,
    cert_dir: Path | None = None,
) -> tuple[dict[str, Any], dict[Path, bytes]]:
    """The kubeconfig as a dict, and the credential files it refers to (empty when inline)."""
    clusters: dict[str, Any] = {}
    users: dict[str, Any] = {}
    files: dict[Path, bytes] = {}
    out_contexts = []
    for ctx in contexts:
        cluster: dict[str, Any] = {"server": ctx.server}
        if ctx.ca_pem is not None:
            cluster["certificate-authority-data"] = _b64(ctx.ca_pem)
        if ctx.insecure_skip_tls_verify:
            cluster["insecure-skip-tls-verify"] = True
        cluster_name = _unique(ctx.cluster, cluster, clusters)

        creds: dict[str, Any] = {}
        user_name = ctx.user.name if ctx.user is not None else "anonymous"
        if ctx.user is not None and ctx.user.token:
            creds["token"] = ctx.user.token
        if ctx.user is not None and ctx.user.client_cert is not None:
            cc = ctx.user.client_cert
            if cert_dir is None:
                creds["client-certificate-data"] = _b64(cc.cert_pem)
                creds["client-key-data"] = _b64(cc.key_pem)
            else:
                crt, key = cert_dir / f"{ctx.name}.crt", cert_dir / f"{ctx.name}.key"
                files[crt], files[key] = cc.cert_pem, cc.key_pem
                creds["client-certificate"] = str(crt.resolve())
                creds["client-key"] = str(key.resolve())
        user_entry = _unique(user_name, creds, users)

        context: dict[str, Any] = {"cluster": cluster_name, "user": user_entry}
        if ctx.namespace:
            context["namespace"] = ctx.namespace
        out_contexts.append({"name": ctx.name, "context": context})

    names = [c.name for c in contexts]
    if len(set(names)) != len(names):
        raise ValueError("context names must be unique")
    if current is not None and current not in names:
        raise ValueError(f"current context {current!r} is not among the contexts")
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": out_contexts,
        "current-context": current if current is not None else (names[0] if names else ""),
    }
    return doc, files


def write_kubeconfig(
    path: str | Path,
    contexts: Sequence[KubeContext],
    *,
    current: str | None = None,
    cert_dir: str | Path | None = None,
) -> Path:
    """Write a kubeconfig (mode 0600) to `path`; client certs into `cert_dir` when given.

    The current context is `current`, else the first one. The parent of `path`
    (and `cert_dir`) must exist: this function creates no directories.
    """
    target = Path(path)
    cdir = Path(cert_dir) if cert_dir is not None else None
    doc, files = kubeconfig_dict(contexts, current=current, cert_dir=cdir)
    for file_path, data in files.items():
        _write_private(file_path, data)
    _write_private(target, yaml.safe_dump(doc, sort_keys=False).encode())
    return target


def redacted(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a kubeconfig dict with tokens and key material replaced, for printing."""
    secret_keys = {"token", "client-key-data", "client-certificate-data", "password"}

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("REDACTED" if k in secret_keys else scrub(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    result: dict[str, Any] = scrub(doc)
    return result
