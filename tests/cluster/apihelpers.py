"""Kubeconfigs for the connection-layer tests: one context, a given user entry, resolved."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from mirrord_ls.cluster import kubeconfig as kc


def write_kubeconfig(
    path: Path,
    server: str,
    ca_pem: bytes | None,
    user: dict[str, Any],
    *,
    contexts: int = 1,
    cluster_extra: dict[str, Any] | None = None,
) -> Path:
    """A kubeconfig at `path` with `contexts` contexts (ctx-0, ctx-1, ...) on `server`."""
    cluster: dict[str, Any] = {"server": server, **(cluster_extra or {})}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [
            {"name": f"ctx-{i}", "context": {"cluster": "c", "user": "u"}} for i in range(contexts)
        ],
        "current-context": "ctx-0",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def resolve(path: Path, context: str = "ctx-0") -> kc.ResolvedCluster:
    merged = kc.load_merged([path])
    resolved = kc.resolve(merged, context)
    assert isinstance(resolved, kc.ResolvedCluster), resolved
    return resolved
