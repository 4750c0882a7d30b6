"""Cluster faults at the connection layer: one sick cluster never starves another.

* A slow-loris API server (headers at a byte a second) holds its own requests until their
  deadline, and a healthy cluster checked meanwhile answers at once.
* One identity never has more than its bulkhead of requests in flight, and requests that
  wait for a slot share the same total deadline.
* A hundred contexts whose port takes TCP but never finishes TLS all get
  `cluster-unreachable` within one timeout period.

In-process, through `ClusterService.check` (what the server and `check` run) or
`ApiConnection` directly, against fake servers on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import yaml

from cluster.apihelpers import resolve, write_kubeconfig
from mirrord_ls.cluster.api import DEFAULT_LIMITS, ApiConnection, TransportError
from mirrord_ls.cluster.credentials import RequestCredentials
from mirrord_ls.cluster.inputs import from_analysis
from mirrord_ls.cluster.kubeconfig import Secret
from mirrord_ls.cluster.service import ClusterService
from mirrord_ls.config.analyze import analyze
from mirrord_ls.loopback import LoopbackApiServer

from .fakeservers import NeverTls, SlowLoris

TOKEN = {"token": "any-token-Ee5"}


def contexts_kubeconfig(path: Path, clusters: dict[str, tuple[str, bytes | None]]) -> Path:
    """One context per name, each on its own cluster entry (server, CA)."""
    import base64

    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": url}
                | ({"certificate-authority-data": base64.b64encode(ca).decode()} if ca else {}),
            }
            for name, (url, ca) in clusters.items()
        ],
        "users": [{"name": "u", "user": TOKEN}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": "u"}} for name in clusters
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


async def check(
    service: ClusterService, tmp_path: Path, kubeconfig: Path, context: str
) -> list[str]:
    text = json.dumps({"kube_context": context, "operator": True})
    env = {"KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path / "home")}
    config = tmp_path / "ws" / f"{context}-mirrord.json"
    result = await service.check(
        from_analysis(analyze(text, "json", None, env)),
        config_path=config,
        workspace_folder=config.parent,
        workspace_folders=(config.parent,),
        env=env,
    )
    return [f.code for f in result.findings]


async def test_a_slow_loris_cluster_never_starves_a_healthy_one(tmp_path: Path) -> None:
    timeout = 8.0
    with SlowLoris() as loris, LoopbackApiServer() as healthy:
        healthy.add_token(TOKEN["token"], "alice")
        healthy.allow_mirrord_operator_user(users=["alice"])
        slow = {
            f"slow-{i}": (f"https://127.0.0.1:{loris.port}", loris.ca.cert_pem.bytes())
            for i in range(6)
        }
        kubeconfig = contexts_kubeconfig(
            tmp_path / "kube" / "config",
            {**slow, "healthy": (healthy.url, healthy.ca_pem)},
        )
        service = ClusterService(timeout=timeout)
        try:
            started = time.monotonic()
            stuck = [
                asyncio.create_task(check(service, tmp_path, kubeconfig, name)) for name in slow
            ]
            # Every slow cluster has its request in, trickling: more than any global limit.
            await asyncio.to_thread(loris.wait_requests, len(slow))
            assert await check(service, tmp_path, kubeconfig, "healthy") == []
            assert not any(task.done() for task in stuck)  # answered while they still wait
            results = await asyncio.gather(*stuck)
            elapsed = time.monotonic() - started
        finally:
            service.close()
    assert all(codes == ["cluster-unreachable"] for codes in results), results
    # Each within its own deadline (plus the loaded machine's slack), not one after another.
    assert elapsed < timeout * 2, elapsed


async def test_one_identity_keeps_to_its_bulkhead(tmp_path: Path) -> None:
    slots = DEFAULT_LIMITS.in_flight
    with SlowLoris() as loris:
        path = write_kubeconfig(
            tmp_path / "kc", f"https://127.0.0.1:{loris.port}", loris.ca.cert_pem.bytes(), TOKEN
        )
        conn = ApiConnection(
            resolve(path),
            RequestCredentials(token=Secret("any-token-Ee5")),
            accept_invalid_certificates=False,
        )
        try:
            holding = [
                asyncio.create_task(conn.request("GET", f"/api/{i}", timeout=60))
                for i in range(slots)
            ]
            await asyncio.to_thread(loris.wait_requests, slots)
            # One more: it waits for a slot, and that wait counts against its deadline.
            started = time.monotonic()
            try:
                await conn.request("GET", "/api/extra", timeout=2)
                raise AssertionError("answered by a server that never answers")
            except TransportError as exc:
                assert exc.kind == "timeout", exc
            waited = time.monotonic() - started
            assert loris.accepted == slots  # the extra request never reached the server
            assert not any(task.done() for task in holding)
        finally:
            await conn.aclose()
        outcomes = await asyncio.gather(*holding, return_exceptions=True)
    assert waited < 2 * 2, waited
    assert all(isinstance(o, TransportError) for o in outcomes), outcomes


async def test_a_hundred_clusters_that_never_finish_tls(tmp_path: Path) -> None:
    timeout = 6.0
    count = 100
    with NeverTls() as dead:
        kubeconfig = contexts_kubeconfig(
            tmp_path / "kube" / "config",
            {f"ctx-{i}": (f"https://127.0.0.1:{dead.port}", None) for i in range(count)},
        )
        service = ClusterService(timeout=timeout)
        started = time.monotonic()
        try:
            results = await asyncio.gather(
                *(check(service, tmp_path, kubeconfig, f"ctx-{i}") for i in range(count))
            )
        finally:
            service.close()
        elapsed = time.monotonic() - started
        accepted = dead.accepted
    assert all(codes == ["cluster-unreachable"] for codes in results), results
    assert accepted >= count  # every one of them was really tried
    assert elapsed < timeout * 2, elapsed
