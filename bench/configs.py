"""Realistic, valid mirrord configs of a chosen size (JSON, as users write them)."""

from __future__ import annotations

import json
from typing import Any


def config_dict(
    target_bytes: int, *, kube_context: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """A valid mirrord config whose JSON is about `target_bytes` long.

    The bulk is what grows in real configs: `feature.env.override` entries,
    `feature.fs` pattern lists and outgoing filters.
    """
    doc: dict[str, Any] = {}
    if kube_context is not None:
        doc["kube_context"] = kube_context
    doc.update(
        {
            "target": {"path": "deployment/web", "namespace": "default"},
            # No `agent` settings: with the operator mirrord ignores them (agent-config-ignored).
            "feature": {
                "env": {
                    # include or exclude, not both: mirrord refuses the pair (config/verify.py)
                    "include": "DATABASE_USER;PUBLIC_ENV;MY_APP_*",
                    "override": {},
                },
                "fs": {"mode": "read", "read_write": [], "read_only": [], "local": []},
                "network": {
                    "incoming": {
                        "mode": "steal",
                        "http_filter": {"header_filter": "^baggage: .*mirrord-session=dev.*$"},
                        "ignore_ports": [9090, 9091],
                    },
                    "outgoing": {"tcp": True, "udp": True, "filter": {"remote": []}},
                    "dns": True,
                },
            },
        }
    )
    env = doc["feature"]["env"]["override"]
    fs = doc["feature"]["fs"]
    remote = doc["feature"]["network"]["outgoing"]["filter"]["remote"]
    i = 0
    size = len(json.dumps(doc, indent=2))
    while size < target_bytes:
        # Grow in batches sized from the bytes still missing (about 150 bytes an entry).
        for _ in range(max(1, (target_bytes - size) // 300)):
            env[f"SERVICE_{seed}_{i:06d}_URL"] = (
                f"http://svc-{i % 97}.default.svc.cluster.local:{8000 + i % 1000}/api/v{i % 3}"
            )
            if i % 4 == 0:
                fs["read_only"].append(rf".+/config-{i}\.yaml")
            if i % 4 == 1:
                fs["local"].append(rf"/tmp/cache-{i}/.+\.json")
            if i % 8 == 2:
                remote.append(f"tcp://10.{i % 250}.{(i // 250) % 250}.0/24:{1024 + i % 60000}")
            if i % 16 == 3:
                fs["read_write"].append(rf".+/data-{i}\.db")
            i += 1
        size = len(json.dumps(doc, indent=2))
    return doc


def config_text(target_bytes: int, *, kube_context: str | None = None, seed: int = 0) -> str:
    return json.dumps(config_dict(target_bytes, kube_context=kube_context, seed=seed), indent=2)
