"""The long soak: one server through edits, opens, closes, kubeconfig rewrites and API faults
for `MIRRORD_LS_SOAK_SECONDS` (30 minutes in the benchmark), sampling its RSS.

    python bench/soak.py --seconds 600            # alone
    MIRRORD_LS_SOAK_SECONDS=1800 python bench/run.py   # after the benchmark

It is not part of the test suite (tests/reliability/test_soak.py is the short one). At the
end it prints RSS over time, the growth per minute over the second half of the run (a
server that levels off shows about zero), and what the server still holds once everything
settled (`mirrord-ls.internals`: progress tokens, tasks, finished tasks alive, requests
awaiting the client), and it checks that a known text gets exactly its diagnostics.
Waits are on the server's answers; the clock only decides when to sample and to stop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import runpy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types

from lsp import server_env, session
from mirrord_ls.loopback import Fault
from mirrord_ls.loopback.scenarios import start_demo_clusters

# mirrord's published schema: MIRRORD_LS_BENCH_SCHEMA, else the tests' reference copy.
DEFAULT_SCHEMA = Path(
    os.environ.get("MIRRORD_LS_BENCH_SCHEMA")
    or runpy.run_path(str(Path(__file__).resolve().parents[1] / "tests" / "reference_schema.py"))[
        "REFERENCE_SCHEMA"
    ]
)
OPERATOR = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
CONFIGS = 50
EDITS_PER_ROUND = 20
SAMPLE_SECONDS = 30.0
LEVEL_MB_PER_MIN = 0.2
"""Growth over the second half below this counts as levelled off."""


def text_for(rng: random.Random, i: int) -> str:
    context = rng.choice(["healthy", "forbidden", "not-installed", "operator-down"])
    body: dict[str, Any] = {
        "kube_context": context,
        "target": f"deployment/web-{i % 13}",
        "agent": {"ttl": i % 100},
    }
    if i % 7 == 0:
        body["operator"] = "maybe"
    text = json.dumps(body, indent=2)
    if i % 11 == 0:
        text = text[: rng.randrange(len(text))]  # broken mid-edit
    return text


def rewrite(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


async def soak(seconds: float, schema: Path, tmp: Path) -> tuple[list[str], list[str]]:
    """Run the soak; returns (report lines, errors)."""
    rng = random.Random(16)
    lines: list[str] = []
    errors: list[str] = []
    (tmp / "kube").mkdir()
    with start_demo_clusters(tmp / "kube" / "config") as clusters:
        healthy = clusters.server_for("healthy")
        assert healthy is not None
        kube = clusters.kubeconfig.read_bytes()
        work = tmp / "ws"
        (work / ".mirrord").mkdir(parents=True)
        paths = [work / ".mirrord" / f"c{i}.json" for i in range(CONFIGS)]
        for p in paths:
            p.write_text('{"kube_context": "healthy"}')
        env = server_env(tmp, {"KUBECONFIG": str(clusters.kubeconfig), "MIRRORD_LS_INTERNALS": "1"})
        settings = {
            "schema": str(schema),
            "cluster": {"timeoutSeconds": 2, "recheckSeconds": 5},
        }
        samples: list[tuple[float, float, int, int]] = []  # (minutes, RSS MiB, rounds, edits)
        async with session(work, settings=settings, env=env) as s:
            started = time.monotonic()
            next_sample = 0.0
            rounds = edits = 0
            while True:
                rounds += 1
                path = rng.choice(paths)
                uri = path.as_uri()
                if uri in s.versions and rng.random() < 0.3:
                    s.close(uri)
                if uri not in s.versions:
                    s.open(path, text_for(rng, rounds))
                for _ in range(EDITS_PER_ROUND):
                    edits += 1
                    s.versions[uri] += 1
                    s.client.text_document_did_change(
                        types.DidChangeTextDocumentParams(
                            text_document=types.VersionedTextDocumentIdentifier(
                                uri=uri, version=s.versions[uri]
                            ),
                            content_changes=[
                                types.TextDocumentContentChangeWholeDocument(
                                    text=text_for(rng, edits)
                                )
                            ],
                        )
                    )
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
                if rounds % 3 == 0:
                    await s.hover(uri, 1, 4)
                # A request is a sync point: the server has read everything sent before it.
                await asyncio.wait_for(s.command("mirrord-ls.showStatus"), 60)
                elapsed = time.monotonic() - started
                if elapsed >= next_sample:
                    samples.append((elapsed / 60, s.rss_mb(), rounds, edits))
                    next_sample += SAMPLE_SECONDS
                if elapsed > seconds:
                    break
            healthy.clear_faults()
            for uri in list(s.versions):
                s.close(uri)
            # Everything settled: every config re-checked once more, then what is held.
            for path in paths[:5]:
                await asyncio.wait_for(s.command("mirrord-ls.recheck", {"uri": path.as_uri()}), 120)
            try:
                held = await s.command("mirrord-ls.internals")
            except Exception as exc:  # a server without the command (an older build)
                held = {"unavailable": str(exc)[:80]}
            settled_rss = s.rss_mb()

            known = '{\n  "kube_context": "forbidden",\n  "operator": "maybe"\n}\n'
            uri = s.open(paths[0], known)
            await asyncio.wait_for(s.command("mirrord-ls.recheck", {"uri": uri}), 120)
            want = ["invalid-value", "operator-forbidden"]
            try:
                await s.diagnostics(
                    uri, lambda d: sorted(str(x.code) for x in d) == want, timeout=60
                )
            except TimeoutError:
                errors.append(f"soak: the known text did not get {want}")

    lines.append(
        f"## Soak: {seconds / 60:.0f} min, {CONFIGS} configs, {rounds} rounds, {edits} edits"
    )
    lines.append("")
    lines.append("| minute | RSS MiB | rounds | edits |")
    lines.append("|---:|---:|---:|---:|")
    for minute, rss, r, e in samples:
        lines.append(f"| {minute:.1f} | {rss:.1f} | {r} | {e} |")
    lines.append(f"| settled | {settled_rss:.1f} | {rounds} | {edits} |")
    half = [x for x in samples if x[0] >= samples[-1][0] / 2]
    if len(half) >= 2 and half[-1][0] > half[0][0]:
        slope = (half[-1][1] - half[0][1]) / (half[-1][0] - half[0][0])
        verdict = "levels off" if slope < LEVEL_MB_PER_MIN else "STILL GROWING"
        lines.append("")
        lines.append(f"RSS over the second half of the load: {slope:+.2f} MiB/min ({verdict})")
        if slope >= LEVEL_MB_PER_MIN:
            errors.append(f"soak: RSS grows {slope:.2f} MiB/min over the second half")
    held_view = {k: v for k, v in held.items() if not k.startswith("finishedTask") or v}
    lines.append(f"Held at the end: {json.dumps(held_view, sort_keys=True)}")
    if held.get("progressTokens") or held.get("finishedTasksAlive"):
        errors.append(f"soak: left behind {held_view}")
    return lines, errors


def from_env() -> list[str]:
    """The benchmark's hook: run the soak when `MIRRORD_LS_SOAK_SECONDS` is set; errors."""
    seconds = os.environ.get("MIRRORD_LS_SOAK_SECONDS")
    if not seconds:
        return []
    return [f"soak exited {code}" for code in [main(["--seconds", seconds])] if code]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("MIRRORD_LS_SOAK_SECONDS") or 1800),
        help="how long to soak (default: MIRRORD_LS_SOAK_SECONDS, else 1800)",
    )
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="mirrord's schema")
    args = parser.parse_args(argv)
    if not args.schema.is_file():
        parser.error(f"schema not found: {args.schema} (pass --schema)")
    with tempfile.TemporaryDirectory(prefix="mirrord-ls-soak-") as tmp:
        lines, errors = asyncio.run(soak(args.seconds, args.schema.resolve(), Path(tmp)))
    print("\n".join(lines))
    for error in errors:
        print(f"[soak] error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
