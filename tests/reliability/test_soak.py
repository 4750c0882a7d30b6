"""Soak: one server through thousands of edits, opens, closes, kubeconfig rewrites and faults.

At the end the diagnostics for a known text are right, the memory stopped growing (RSS at a
third and at the end, with a tolerance), the thread count is bounded, and the server answers.
Bounded by `SOAK_SECONDS` of wall time (the round count is a ceiling).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

from mirrord_ls.loopback import Fault
from mirrord_ls.loopback.scenarios import DemoClusters

from .support import OPERATOR, recorded_session

SOAK_SECONDS = float(os.environ.get("MIRRORD_LS_SOAK_SECONDS", "45"))
ROUNDS = 150
EDITS_PER_ROUND = 50
MAX_THREADS = 64
RSS_GROWTH_KB = 25 * 1024  # tolerance between a third of the run and the end


def texts(rng: random.Random, i: int) -> str:
    context = rng.choice(["healthy", "forbidden", "not-installed", "operator-down"])
    body = {"kube_context": context, "target": f"deployment/web-{i}", "agent": {"ttl": i}}
    if i % 7 == 0:
        body["operator"] = "maybe"  # type: ignore[assignment]
    text = json.dumps(body, indent=2)
    if i % 11 == 0:
        text = text[: rng.randrange(len(text))]  # broken mid-edit
    return text


def rewrite(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


async def test_soak(clusters: DemoClusters, tmp_path: Path) -> None:
    rng = random.Random(1)
    healthy = clusters.server_for("healthy")
    assert healthy is not None
    kube = clusters.kubeconfig.read_bytes()
    work = tmp_path / "ws"
    (work / ".mirrord").mkdir(parents=True)
    paths = [work / ".mirrord" / f"c{i}.json" for i in range(8)]
    for p in paths:
        p.write_text('{"kube_context": "healthy"}')
    started = time.monotonic()
    rss: list[int] = []
    edits = 0
    async with recorded_session(
        work,
        settings={"cluster": {"timeoutSeconds": 2, "recheckSeconds": 5}},
        env={"KUBECONFIG": str(clusters.kubeconfig)},
    ) as rec:
        versions: dict[str, int] = {}
        rounds = 0
        for rounds in range(1, ROUNDS + 1):
            path = rng.choice(paths)
            uri = path.as_uri()
            if uri in versions and rng.random() < 0.3:
                rec.close(uri)
                del versions[uri]
            if uri not in versions:
                versions[uri] = 1
                rec.open(path, texts(rng, rounds))
            for _ in range(EDITS_PER_ROUND):
                versions[uri] += 1
                edits += 1
                rec.change(uri, texts(rng, edits), versions[uri])
            if rounds % 5 == 0:
                rewrite(clusters.kubeconfig, kube)
            if rounds % 10 == 0:
                healthy.clear_faults()
                healthy.inject(
                    rng.choice(
                        [
                            Fault.status_code(OPERATOR, 503),
                            Fault.latency(OPERATOR, 0.3),
                            Fault.reset(OPERATOR),
                            Fault.garbage(OPERATOR),
                        ]
                    )
                )
            # A request is a sync point: the server has read everything sent before it.
            await rec.command("mirrord-ls.showStatus", within=30)
            elapsed = time.monotonic() - started
            if not rss and (rounds >= ROUNDS // 3 or elapsed > SOAK_SECONDS / 3):
                rss.append(rec.proc_status("VmRSS"))
            if elapsed > SOAK_SECONDS:
                break
        healthy.clear_faults()
        rss.append(rec.proc_status("VmRSS"))
        threads = rec.proc_status("Threads")

        # A final known text gets exactly its diagnostics.
        final = paths[0]
        uri = final.as_uri()
        if uri in versions:
            rec.close(uri)
        known = '{\n  "kube_context": "forbidden",\n  "operator": "maybe"\n}\n'
        rec.open(final, known, version=10_000)
        await rec.command("mirrord-ls.recheck", {"uri": uri}, within=30)
        diags = await rec.diagnostics(
            uri,
            lambda d: sorted(str(x.code) for x in d) == ["invalid-value", "operator-forbidden"],
            within=30,
        )
        (wrong,) = [d for d in diags if d.code == "invalid-value"]
        assert wrong.range.start.line == 2
        status = await rec.command("mirrord-ls.showStatus")
        assert status["document"] == uri or status["configCount"] >= 1
    print(f"\n  soak: {rounds} rounds, {edits} edits, RSS {rss} kB, {threads} threads")
    assert edits >= 1000
    assert threads <= MAX_THREADS, threads
    assert rss[-1] - rss[0] <= RSS_GROWTH_KB, rss
