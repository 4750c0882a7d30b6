"""The mirrord-ls benchmark: the real server over stdio, the real `check` command, and
loopback Kubernetes API servers with injected round-trip times.

    python bench/run.py                      # the full run (a few minutes), RTT 0, 20, 100 ms
    python bench/run.py --quick              # the CI smoke subset (tens of seconds), one RTT
    python bench/run.py --out BENCHMARKS.md  # also write the table there
    python bench/run.py --rtt 0,50 --only 3,8

Every figure is a median with min and max over repeated runs after a warm-up;
ratios are computed pair by pair in the same run. Waits are on notifications
(LSP) or on the loopback server's request log, never on the clock; the only
sleep is the idle-CPU window.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import runpy
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from lsprotocol import types

import team_load
from configs import config_text
from lsp import DIAGNOSTICS, Event, Session, server_env, session
from mirrord_ls.loopback import Fault, LoopbackApiServer, apiserver, write_kubeconfig
from mirrord_ls.loopback.scenarios import (
    WORKLOAD_READER_RULES,
    DemoClusters,
    start_demo_clusters,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# mirrord's published schema: MIRRORD_LS_BENCH_SCHEMA, else the tests' reference copy.
DEFAULT_SCHEMA = Path(
    os.environ.get("MIRRORD_LS_BENCH_SCHEMA")
    or runpy.run_path(str(REPO / "tests" / "reference_schema.py"))["REFERENCE_SCHEMA"]
)
OPERATOR_PATH = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
OPERATOR_RESOURCE = "mirrordoperators.operator.metalbear.co"
SERVER = [sys.executable, "-m", "mirrord_ls", "serve"]
BARE = [sys.executable, str(HERE / "bare_server.py")]
CHECK = [sys.executable, "-m", "mirrord_ls", "check"]
# What mirrord's retry policy sleeps on a 503, per retried GET: 0.5 s then 1 s (±20 %).
DOWN_BACKOFF_MS = 2 * (500 + 1000)

# A small config with places to hover (line 2, "feature") and complete (line 3, a key).
HOVER_TEXT = (
    "{\n"
    '  "kube_context": "%s",\n'
    '  "feature": {\n'
    '    "network": {\n'
    '      "incoming": "steal"\n'
    "    }\n"
    "  },\n"
    '  "target": "deployment/web"\n'
    "}\n"
)
HOVER_AT = (2, 4)
COMPLETE_AT = (3, 5)

# Verdict kinds: (context in the demo kubeconfig, status `operator`, diagnostic code or None).
KINDS: list[tuple[str, str, str, str | None]] = [
    ("installed", "healthy", "installed", None),
    ("forbidden", "forbidden", "forbidden", "operator-forbidden"),
    ("not-installed", "not-installed", "not-installed", "operator-not-installed"),
    ("operator down", "operator-down", "check-failed", "operator-check-failed"),
]


# -- results -------------------------------------------------------------------------------


@dataclass
class Row:
    section: int
    what: str
    values: list[float] = field(default_factory=list)
    unit: str = "ms"
    """ms, x (ratio), MB, req, %, or text (then `text` is shown)."""
    rtt: str = "-"
    target: str = ""
    met: bool | None = None
    text: str = ""


def fmt(value: float, unit: str) -> str:
    if unit == "ms":
        return (
            f"{value:.2f} ms"
            if value < 10
            else f"{value:.1f} ms"
            if value < 100
            else (f"{value:.0f} ms")
        )
    if unit == "x":
        return (
            f"{value:.2f}x" if value < 10 else f"{value:.1f}x" if value < 100 else f"{value:.0f}x"
        )
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "req":
        return f"{value:g}"
    if unit == "%":
        return f"{value:.2f} %"
    if unit in ("req/s", "req/min"):
        return f"{value:.3g} {unit}"
    if unit == "s":
        return f"{value:.0f} s"
    return f"{value:g} {unit}"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def render(rows: list[Row]) -> str:
    out = [
        "| # | measurement | RTT | median | min | max | n | target | met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "-"}[r.met]
        if r.values:
            cells = [
                fmt(median(r.values), r.unit),
                fmt(min(r.values), r.unit),
                fmt(max(r.values), r.unit),
                str(len(r.values)),
            ]
        else:
            cells = [r.text or "-", "", "", ""]
        out.append(
            f"| {r.section} | {r.what} | {r.rtt} | "
            + " | ".join(cells)
            + f" | {r.target} | {met} |"
        )
    return "\n".join(out)


@dataclass
class Plan:
    quick: bool
    rtts: list[int]
    main_rtt: int
    schema: Path
    only: set[int]
    tmp: Path
    startup_pairs: int
    open_reps: dict[str, int]
    cluster_reps: int
    cluster_warmup: int
    latency_reps: int
    rewrite_reps: int
    scale_reps: int
    idle_seconds: float
    kubectl_reps: int
    before: Path | None = None
    """A PYTHONPATH with the mirrord-ls to compare start-up with (`--before`)."""

    def wants(self, section: int) -> bool:
        return not self.only or section in self.only


# -- helpers -------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return seconds * 1000


def settings(plan: Plan, *, cluster: bool = True, timeout: float = 30) -> dict[str, Any]:
    return {
        "schema": str(plan.schema),
        "cluster": {"enabled": cluster, "timeoutSeconds": timeout},
    }


def workspace(plan: Plan, name: str) -> Path:
    """A folder for a session's configs (in `.mirrord/`), next to (not inside) the empty
    folder the session opens as its workspace: the server checks every config it finds
    inside its workspace folders on its own, and this benchmark times didOpen."""
    ws = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=plan.tmp))
    (ws / ".mirrord").mkdir()
    (ws / "workspace").mkdir()
    return ws


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def replace_file(path: Path, text: str) -> None:
    """Write as editors and kubectl do: a temporary file, then rename over the old one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


async def run_process(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    """Wall time (ms), exit code and stdout (stderr after a NUL) of a command."""
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    elapsed = ms(time.perf_counter() - t0)
    assert proc.returncode is not None
    return elapsed, proc.returncode, (out + b"\0" + err).decode("utf-8", "replace")


async def count_requests(server: LoopbackApiServer, at_least: int, path: str | None = None) -> None:
    """Wait (on the log's condition, in a thread) until `at_least` requests were answered."""
    await asyncio.to_thread(server.log.wait_for, at_least, path, answered=True, timeout=60)


# -- 1. start-up ---------------------------------------------------------------------------


async def _rpc_read(reader: asyncio.StreamReader) -> dict[str, Any]:
    length = 0
    while True:
        line = await reader.readline()
        if not line:
            raise RuntimeError("the server closed its stdout")
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    message: dict[str, Any] = json.loads(await reader.readexactly(length))
    return message


def _rpc_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def cpu_ms(pid: int) -> float:
    """The CPU time a live process has used so far, in ms: the sum of its threads' run times
    in /proc (ns resolution); NaN where /proc has none. Unlike wall time, it does not grow
    with the load other processes put on the machine."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                total += int((task / "schedstat").read_text().split()[0])
    except OSError:
        return float("nan")
    return total / 1e6


async def time_initialize(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """From process start to the `initialize` answer, in ms (raw JSON-RPC, same for both),
    and the CPU time the process had used by then."""
    errors = tempfile.TemporaryFile()  # the server's stderr, shown if it fails
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=errors,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(
            _rpc_frame(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {"processId": os.getpid(), "rootUri": None, "capabilities": {}},
                }
            )
        )
        await proc.stdin.drain()
        while True:
            message = await asyncio.wait_for(_rpc_read(proc.stdout), 60)
            if message.get("id") == 1:
                break
        elapsed = ms(time.perf_counter() - t0)
        cpu = cpu_ms(proc.pid)
        if "result" not in message:
            raise RuntimeError(f"initialize failed: {message}")
        proc.stdin.write(_rpc_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        proc.stdin.write(_rpc_frame({"jsonrpc": "2.0", "method": "exit"}))
        await proc.stdin.drain()
        await asyncio.wait_for(proc.wait(), 10)
    except Exception as exc:
        errors.seek(0)
        tail = errors.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"{exc} ({cmd[-1]} exit {proc.returncode}; stderr: {tail!r})") from exc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        errors.close()
    return elapsed, cpu


async def time_first_diagnostics(
    cmd: list[str], env: dict[str, str], plan: Plan, config: Path
) -> float:
    """From process start to the first `publishDiagnostics` of a config opened right after
    `initialize` (settings in the initialization options, no cluster), in ms: what a lazy
    import saves at start-up must not come back here."""
    errors = tempfile.TemporaryFile()  # the server's stderr, shown if it fails
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=errors,
    )
    assert proc.stdin is not None and proc.stdout is not None
    uri = config.as_uri()
    text = await asyncio.to_thread(config.read_text, "utf-8")
    try:
        options = {"settings": settings(plan, cluster=False)}
        proc.stdin.write(
            _rpc_frame(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "processId": os.getpid(),
                        "rootUri": None,
                        "capabilities": {},
                        "initializationOptions": options,
                    },
                }
            )
        )
        proc.stdin.write(_rpc_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        proc.stdin.write(
            _rpc_frame(
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didOpen",
                    "params": {
                        "textDocument": {
                            "uri": uri,
                            "languageId": "json",
                            "version": 1,
                            "text": text,
                        }
                    },
                }
            )
        )
        await proc.stdin.drain()
        while True:
            message = await asyncio.wait_for(_rpc_read(proc.stdout), 60)
            if "id" in message and "method" in message:  # a request to the client
                proc.stdin.write(
                    _rpc_frame({"jsonrpc": "2.0", "id": message["id"], "result": None})
                )
                continue
            if (
                message.get("method") == "textDocument/publishDiagnostics"
                and message["params"]["uri"] == uri
            ):
                break
        elapsed = ms(time.perf_counter() - t0)
        proc.stdin.write(_rpc_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        proc.stdin.write(_rpc_frame({"jsonrpc": "2.0", "method": "exit"}))
        await proc.stdin.drain()
        await asyncio.wait_for(proc.wait(), 10)
    except Exception as exc:
        errors.seek(0)
        tail = errors.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"{exc} (server exit {proc.returncode}; stderr: {tail!r})") from exc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        errors.close()
    return elapsed


async def bench_startup(plan: Plan) -> list[Row]:
    """Start-up against a bare pygls server, pair by pair; with `--before PYTHONPATH`, also
    the mirrord-ls found there (e.g. a checkout of main), in the same interleaved run."""
    env = server_env(plan.tmp / "startup")
    arms: dict[str, dict[str, str]] = {"ours": env}
    if plan.before is not None:
        arms["before"] = {**env, "PYTHONPATH": str(plan.before)}
    ws = workspace(plan, "first")
    config = write(ws / ".mirrord" / "first.json", config_text(2_000, seed=1))
    init: dict[str, list[float]] = {name: [] for name in arms}
    first: dict[str, list[float]] = {name: [] for name in arms}
    bare: list[float] = []
    ratios: dict[str, list[float]] = {name: [] for name in arms}
    cpu: dict[str, list[float]] = {name: [] for name in ["bare", *arms]}
    cpu_ratios: dict[str, list[float]] = {name: [] for name in arms}
    for i in range(plan.startup_pairs + 1):  # the first round warms the file cache
        # Rotate the order, so drift on a noisy machine hits every arm alike.
        order = ["bare", *arms]
        order = order[i % len(order) :] + order[: i % len(order)]
        got: dict[str, float] = {}
        got_cpu: dict[str, float] = {}
        for name in order:
            command = BARE if name == "bare" else SERVER
            got[name], got_cpu[name] = await time_initialize(command, arms.get(name, env))
        for name in arms:
            f = await time_first_diagnostics(SERVER, arms[name], plan, config)
            if i:
                first[name].append(f)
        if i == 0:
            continue
        bare.append(got["bare"])
        cpu["bare"].append(got_cpu["bare"])
        for name in arms:
            init[name].append(got[name])
            ratios[name].append(got[name] / got["bare"])
            cpu[name].append(got_cpu[name])
            cpu_ratios[name].append(got_cpu[name] / got_cpu["bare"])
    label = {"ours": "mirrord-ls", "before": "mirrord-ls before (`--before`)"}
    rows = [
        Row(1, "process start → `initialize` answered: bare pygls server", bare),
        Row(1, "CPU time of the process at `initialize` answered: bare pygls server", cpu["bare"]),
    ]
    for name in arms:
        rows += [
            Row(1, f"process start → `initialize` answered: {label[name]}", init[name]),
            Row(
                1,
                f"start-up ratio {label[name]} / bare (pair by pair)",
                ratios[name],
                unit="x",
                target="≤ 1.2x",
                met=median(ratios[name]) <= 1.2,
            ),
            Row(
                1,
                f"CPU time of the process at `initialize` answered: {label[name]}",
                cpu[name],
            ),
            Row(
                1,
                f"start-up CPU-time ratio {label[name]} / bare (pair by pair)",
                cpu_ratios[name],
                unit="x",
                target="≤ 1.2x",
                met=median(cpu_ratios[name]) <= 1.2,
            ),
            Row(
                1,
                f"process start → first `publishDiagnostics` of a 2 KB config opened right"
                f" after `initialize`: {label[name]}",
                first[name],
            ),
        ]
    return rows


# -- 2. config checks ------------------------------------------------------------------------


async def bench_config_sizes(plan: Plan) -> list[Row]:
    ws = workspace(plan, "sizes")
    rows: list[Row] = []
    env = server_env(plan.tmp / "sizes")
    async with session(ws / "workspace", settings=settings(plan, cluster=False), env=env) as s:
        small = write(ws / ".mirrord" / "hover.json", HOVER_TEXT % "none")
        small_uri = s.open(small)
        await s.diagnostics(small_uri)
        idle_hovers = []
        for i in range(plan.latency_reps + 3):
            elapsed, result = await s.hover(small_uri, *HOVER_AT)
            assert result is not None, "no hover on the small config"
            if i >= 3:
                idle_hovers.append(ms(elapsed))

        async def open_once(label: str, text: str, n: int) -> tuple[float, int]:
            path = ws / ".mirrord" / f"size-{label}-{n}.json"
            mark = s.recorder.mark()
            uri = s.open(path, text)
            t0 = time.perf_counter()  # the notification is written: the server's turn
            event = await s.diagnostics(uri, since=mark, timeout=120)
            s.close(uri)
            return ms(event.at - t0), len(event.diagnostics)

        sizes = [("2 KB", 2_000, 20), ("50 KB", 50_000, None), ("1 MB", 1_000_000, 300)]
        busy_hovers: list[float] = []
        for label, size, limit in sizes:
            reps = plan.open_reps[label]
            texts = [config_text(size, seed=n) for n in range(reps + 1)]
            times: list[float] = []
            findings = 0
            for n, text in enumerate(texts):
                elapsed, count = await open_once(label, text, n)
                findings += count
                if n > 0:  # the first one warms up
                    times.append(elapsed)
            actual = sum(len(t) for t in texts) / len(texts) / 1000
            what = f"didOpen → publishDiagnostics, {label} config ({actual:.0f} KB)"
            if findings:
                what += f" ⚠ {findings} findings"
            rows.append(
                Row(
                    2,
                    what,
                    times,
                    target="" if limit is None else f"< {limit} ms",
                    met=None if limit is None else median(times) < limit,
                )
            )
            if size >= 1_000_000:
                # Hover on the small config, over and over, while the big one is checked.
                for n in range(reps):
                    path = ws / ".mirrord" / f"busy-{n}.json"
                    mark = s.recorder.mark()
                    uri = s.open(path, config_text(size, seed=100 + n))
                    waiting = asyncio.ensure_future(s.diagnostics(uri, since=mark, timeout=120))
                    while not waiting.done():
                        elapsed, _ = await s.hover(small_uri, *HOVER_AT)
                        busy_hovers.append(ms(elapsed))
                    await waiting
                    s.close(uri)
        rows.append(Row(2, "hover on a small config, idle", idle_hovers))
        rows.append(
            Row(
                2,
                "hover on a small config while a 1 MB config is checked (every hover sent"
                " from didOpen to its diagnostics)",
                busy_hovers,
            )
        )
    return rows


# -- 3. cluster verdicts ---------------------------------------------------------------------


def cluster_config(ws: Path, name: str, context: str | None, seed: int = 0) -> Path:
    text = config_text(600, kube_context=context, seed=seed)
    return write(ws / ".mirrord" / f"{name}.json", text)


async def open_and_wait_verdict(
    s: Session, path: Path, operator: str, timeout: float = 60
) -> tuple[float, Event]:
    """didOpen → the publishDiagnostics that carries the verdict `operator` (ms)."""
    mark = s.recorder.mark()
    uri = s.open(path)
    t0 = time.perf_counter()
    status = await s.verdict(uri, operator, since=mark, timeout=timeout)
    published = s.last_diagnostics_before(uri, status)
    assert published is not None
    return ms(published.at - t0), published


async def bench_cluster(plan: Plan, rtt: int, clusters: DemoClusters) -> list[Row]:
    cold: dict[str, list[float]] = {k[0]: [] for k in KINDS}
    warm: dict[str, list[float]] = {k[0]: [] for k in KINDS}
    cold_requests: dict[str, list[float]] = {k[0]: [] for k in KINDS}
    warm_requests: dict[str, list[float]] = {k[0]: [] for k in KINDS}
    first: list[float] = []
    env = server_env(plan.tmp / f"cluster-{rtt}", {"KUBECONFIG": str(clusters.kubeconfig)})
    for rep in range(plan.cluster_warmup + plan.cluster_reps):
        ws = workspace(plan, f"cluster-{rtt}-{rep}")
        async with session(ws / "workspace", settings=settings(plan), env=env) as s:
            # The session's first cluster check loads the Kubernetes client: time it apart,
            # on a context with no server (connection refused, no request).
            elapsed, _ = await open_and_wait_verdict(
                s, cluster_config(ws, "primer", "unreachable"), "unreachable"
            )
            keep = rep >= plan.cluster_warmup
            if keep:
                first.append(elapsed)
            for label, context, operator, code in KINDS:
                server = clusters.server_for(context)
                assert server is not None
                before = server.log.count()
                elapsed, event = await open_and_wait_verdict(
                    s, cluster_config(ws, f"cold-{context}", context), operator
                )
                assert code is None or any(d.code == code for d in event.diagnostics), (
                    f"{label}: expected {code}, got {[d.code for d in event.diagnostics]}"
                )
                after = server.log.count()
                w_elapsed, _ = await open_and_wait_verdict(
                    s, cluster_config(ws, f"warm-{context}", context, seed=1), operator
                )
                if keep:
                    cold[label].append(elapsed)
                    cold_requests[label].append(after - before)
                    warm[label].append(w_elapsed)
                    warm_requests[label].append(server.log.count() - after)
    tag = f"{rtt} ms"
    rows = [
        Row(
            3,
            "first cluster check of a session (imports the Kubernetes client; refused, 0 requests)",
            first,
            rtt=tag,
        )
    ]
    for label, _context, _operator, _code in KINDS:
        requests = median(cold_requests[label])
        floor = requests * rtt
        down = label == "operator down"
        limit = floor + 30 + (DOWN_BACKOFF_MS if down else 0)
        target = f"≤ {floor:.0f} + 30 ms" + (f" + {DOWN_BACKOFF_MS} ms backoff" if down else "")
        rows.append(
            Row(
                3,
                f"cold verdict `{label}`: didOpen → diagnostics ({requests:g} requests, floor"
                f" {floor:.0f} ms)",
                cold[label],
                rtt=tag,
                target=target,
                met=median(cold[label]) <= limit if not down else None,
            )
        )
        rows.append(
            Row(
                3,
                f"cold verdict `{label}`: API requests",
                cold_requests[label],
                unit="req",
                rtt=tag,
            )
        )
        wreq = max(warm_requests[label])
        rows.append(
            Row(
                3,
                f"warm verdict `{label}` (second config, same context): didOpen → diagnostics,"
                f" {wreq:g} requests",
                warm[label],
                rtt=tag,
                target="0 requests",
                met=wreq == 0,
            )
        )
    return rows


async def bench_cache_hit(plan: Plan, clusters: DemoClusters) -> list[Row]:
    """The warm verdict's server time, measured in-process: ClusterService.check on a hit."""
    from mirrord_ls.cluster.inputs import from_analysis
    from mirrord_ls.cluster.service import ClusterService
    from mirrord_ls.config import schema as schema_mod
    from mirrord_ls.config.analyze import analyze

    ws = workspace(plan, "cache-hit")
    path = cluster_config(ws, "hit", "forbidden")
    env = server_env(plan.tmp / "cache-hit", {"KUBECONFIG": str(clusters.kubeconfig)})
    schema = schema_mod.load_configured(str(plan.schema))
    inputs = from_analysis(analyze(path.read_text(), "json", schema, env, None))
    service = ClusterService()
    times: list[float] = []
    try:
        kwargs: dict[str, Any] = {
            "config_path": path,
            "workspace_folder": ws,
            "workspace_folders": (ws,),
            "env": env,
        }
        first = await service.check(inputs, **kwargs)
        assert any(f.code == "operator-forbidden" for f in first.findings)
        for i in range(200 + 20):
            t0 = time.perf_counter()
            await service.check(inputs, **kwargs)
            if i >= 20:
                times.append(ms(time.perf_counter() - t0))
        assert service.checks_run == 1, "the warm checks went to the cluster"
    finally:
        service.close()
    return [
        Row(
            3,
            "warm verdict, server time: `ClusterService.check` cache hit (in-process, 0 requests)",
            times,
            target="< 1 ms",
            met=median(times) < 1,
        )
    ]


# -- 4. kubeconfig rewrite -------------------------------------------------------------------


def kubeconfig_with_current(source: Path, current: str) -> str:
    doc = yaml.safe_load(source.read_text())
    doc["current-context"] = current
    return yaml.safe_dump(doc, sort_keys=False)


def no_forbidden(diagnostics: Sequence[types.Diagnostic]) -> bool:
    return not any(d.code == "operator-forbidden" for d in diagnostics)


async def bench_rewrite(plan: Plan, rtt: int, clusters: DemoClusters) -> list[Row]:
    watching = importlib.util.find_spec("mirrord_ls.watch") is not None
    ws = workspace(plan, "rewrite")
    # Outside the config's workspace: a kubeconfig inside an untrusted workspace is not used.
    kubeconfig = Path(tempfile.mkdtemp(prefix="rewrite-kube-", dir=plan.tmp)) / "kubeconfig"
    forbidden = kubeconfig_with_current(clusters.kubeconfig, "forbidden")
    healthy = kubeconfig_with_current(clusters.kubeconfig, "healthy")
    replace_file(kubeconfig, forbidden)
    env = server_env(plan.tmp / "rewrite", {"KUBECONFIG": str(kubeconfig)})
    config = cluster_config(ws, "rewrite", None)
    tag = f"{rtt} ms"
    rows: list[Row] = []
    async with session(ws / "workspace", settings=settings(plan), env=env) as s:
        _, event = await open_and_wait_verdict(s, config, "forbidden")
        uri = config.as_uri()

        async def switch(text: str, operator: str, timeout: float) -> float:
            mark = s.recorder.mark()
            t0 = time.perf_counter()
            replace_file(kubeconfig, text)
            status = await s.verdict(uri, operator, since=mark, timeout=timeout)
            published = s.last_diagnostics_before(uri, status)
            assert published is not None
            return ms(published.at - t0)

        if watching:
            to_healthy: list[float] = []
            to_forbidden: list[float] = []
            for rep in range(plan.rewrite_reps + 1):
                a = await switch(healthy, "installed", 30)
                b = await switch(forbidden, "forbidden", 30)
                if rep:
                    to_healthy.append(a)
                    to_forbidden.append(b)
            rows.append(
                Row(
                    4,
                    "kubeconfig rewritten (temp + rename), current-context forbidden → healthy:"
                    " → diagnostics cleared",
                    to_healthy,
                    rtt=tag,
                )
            )
            rows.append(
                Row(
                    4,
                    "kubeconfig rewritten, healthy → forbidden: → warning back",
                    to_forbidden,
                    rtt=tag,
                )
            )
            return rows

        # No watcher yet: show that nothing happens within a bounded wait, then measure
        # what a user can do today (rewrite, then the recheck command).
        probe = 1.0 if plan.quick else 3.0
        try:
            elapsed = await switch(healthy, "installed", probe)
            rows.append(
                Row(
                    4,
                    "kubeconfig rewrite → diagnostics (no watch.py, yet it updated)",
                    [elapsed],
                    rtt=tag,
                )
            )
        except TimeoutError:
            rows.append(
                Row(
                    4,
                    "kubeconfig rewritten (temp + rename), forbidden → healthy → diagnostics"
                    f" cleared by a file watch (no update within {probe:g} s)",
                    rtt=tag,
                    text="not implemented yet",
                    met=False,
                )
            )
        by_command: list[float] = []
        for rep in range(plan.rewrite_reps + 1):
            replace_file(kubeconfig, forbidden)
            await s.command("mirrord-ls.recheck", {"uri": uri})
            await s.diagnostics(uri, lambda d: not no_forbidden(d))
            mark = s.recorder.mark()
            t0 = time.perf_counter()
            replace_file(kubeconfig, healthy)
            await s.command("mirrord-ls.recheck", {"uri": uri})
            event = await s.diagnostics(uri, no_forbidden, since=mark)
            if rep:
                by_command.append(ms(event.at - t0))
        rows.append(
            Row(
                4,
                "what exists today: kubeconfig rewrite + `mirrord-ls.recheck` command →"
                " diagnostics cleared (1 request)",
                by_command,
                rtt=tag,
            )
        )
    return rows


# -- 5. latency while a cluster check hangs ----------------------------------------------------


async def bench_hang(plan: Plan, rtt: int, clusters: DemoClusters) -> list[Row]:
    ws = workspace(plan, "hang")
    env = server_env(plan.tmp / "hang", {"KUBECONFIG": str(clusters.kubeconfig)})
    stuck_server = clusters.server_for("not-installed")
    assert stuck_server is not None
    async with session(ws / "workspace", settings=settings(plan, timeout=300), env=env) as s:
        a = write(ws / ".mirrord" / "hover.json", HOVER_TEXT % "healthy")
        _, _ = await open_and_wait_verdict(s, a, "installed")
        uri_a = a.as_uri()

        async def measure(uri: str) -> tuple[list[float], list[float]]:
            hovers: list[float] = []
            completions: list[float] = []
            for i in range(plan.latency_reps + 3):
                h, hover = await s.hover(uri, *HOVER_AT)
                c, completion = await s.completion(uri, *COMPLETE_AT)
                assert hover is not None and completion is not None and completion.items
                if i >= 3:
                    hovers.append(ms(h))
                    completions.append(ms(c))
            return hovers, completions

        idle_h, idle_c = await measure(uri_a)
        fault = stuck_server.inject(Fault.hang(OPERATOR_PATH))
        try:
            seen = stuck_server.log.count(OPERATOR_PATH)
            b = write(ws / ".mirrord" / "stuck.json", HOVER_TEXT % "not-installed")
            uri_b = s.open(b)
            await asyncio.to_thread(stuck_server.log.wait_for, seen + 1, OPERATOR_PATH)
            hang_h, hang_c = await measure(uri_a)
            stuck_h, stuck_c = await measure(uri_b)
        finally:
            stuck_server.remove_fault(fault)
        await s.verdict(uri_b, "not-installed")
    tag = f"{rtt} ms"

    def moved(busy: list[float], idle: list[float]) -> bool:
        return median(busy) <= 1.5 * median(idle) + 2

    return [
        Row(5, "hover, no cluster check pending", idle_h, rtt=tag),
        Row(
            5,
            "hover while another config's cluster check hangs",
            hang_h,
            rtt=tag,
            target="≤ 1.5x idle + 2 ms",
            met=moved(hang_h, idle_h),
        ),
        Row(
            5,
            "hover on the config whose cluster check hangs",
            stuck_h,
            rtt=tag,
            target="≤ 1.5x idle + 2 ms",
            met=moved(stuck_h, idle_h),
        ),
        Row(5, "completion, no cluster check pending", idle_c, rtt=tag),
        Row(
            5,
            "completion while another config's cluster check hangs",
            hang_c,
            rtt=tag,
            target="≤ 1.5x idle + 2 ms",
            met=moved(hang_c, idle_c),
        ),
        Row(
            5,
            "completion on the config whose cluster check hangs",
            stuck_c,
            rtt=tag,
            target="≤ 1.5x idle + 2 ms",
            met=moved(stuck_c, idle_c),
        ),
    ]


# -- 6. scale ------------------------------------------------------------------------------


@contextlib.contextmanager
def ten_contexts(plan: Plan, rtt: int) -> Iterator[tuple[LoopbackApiServer, Path]]:
    """One loopback server, ten users and contexts; nobody may use the operator (forbidden)."""
    server = LoopbackApiServer(round_trip=rtt / 1000)
    server.rbac.add_cluster_role("workload-reader", WORKLOAD_READER_RULES)
    server.rbac.bind_cluster_role("workload-reader", groups=["system:authenticated"])
    users = [server.add_user(f"dev{i}") for i in range(10)]
    server.start()
    try:
        path = plan.tmp / "scale" / "kubeconfig"
        path.parent.mkdir(parents=True, exist_ok=True)
        contexts = [
            server.context(u, name=f"ctx-{i}", namespace="default") for i, u in enumerate(users)
        ]
        write_kubeconfig(path, contexts, current="ctx-0")
        yield server, path
    finally:
        server.stop()


async def open_many(
    plan: Plan, server: LoopbackApiServer, kubeconfig: Path, count: int
) -> tuple[float, int, float, float]:
    """Open `count` configs over ten contexts; time to every config's forbidden warning,
    requests sent, RSS after start-up and after the diagnostics (MiB)."""
    ws = workspace(plan, f"scale-{count}")
    env = server_env(plan.tmp / "scale", {"KUBECONFIG": str(kubeconfig)})
    paths = [
        write(
            ws / ".mirrord" / f"svc-{i:03d}.json",
            config_text(1_000, kube_context=f"ctx-{i % 10}", seed=i),
        )
        for i in range(count)
    ]
    async with session(ws / "workspace", settings=settings(plan, timeout=120), env=env) as s:
        # Settings loaded (and the schema read) before the clock starts.
        probe = write(ws / "probe" / ".mirrord" / "probe.json", "{}")
        probe_uri = s.open(probe)
        await s.diagnostics(probe_uri)
        s.close(probe_uri)
        rss_start = s.rss_mb()
        pending = {p.as_uri() for p in paths}

        def done(e: Event) -> bool:
            if e.method == DIAGNOSTICS and any(
                d.code == "operator-forbidden" for d in e.diagnostics
            ):
                pending.discard(e.uri or "")
            return not pending

        before = server.log.count()
        mark = s.recorder.mark()
        t0 = time.perf_counter()
        for path in paths:
            s.open(path)
        last = await s.recorder.wait(done, since=mark, timeout=300)
        elapsed = ms(last.at - t0)
        rss = s.rss_mb()
    # Counted once the server has exited: every request it ever sent is in the log.
    return elapsed, server.log.count() - before, rss_start, rss


async def bench_scale(plan: Plan, rtt: int) -> list[Row]:
    tag = f"{rtt} ms"
    t500: list[float] = []
    r500: list[float] = []
    rss500: list[float] = []
    rss100: list[float] = []
    rss0: list[float] = []
    t100: list[float] = []
    one: list[float] = []
    with ten_contexts(plan, rtt) as (server, kubeconfig):
        for _ in range(plan.scale_reps):
            _, requests, _, _ = await open_many(plan, server, kubeconfig, 1)
            one.append(requests)
            elapsed, _requests, start, rss = await open_many(plan, server, kubeconfig, 100)
            t100.append(elapsed)
            rss100.append(rss)
            rss0.append(start)
            elapsed, requests, _, rss = await open_many(plan, server, kubeconfig, 500)
            t500.append(elapsed)
            r500.append(requests)
            rss500.append(rss)
    return [
        Row(
            6, "server RSS after start-up (settings and schema loaded, no config)", rss0, unit="MB"
        ),
        Row(
            6,
            "100 configs over 10 contexts: didOpen of all → every forbidden warning",
            t100,
            rtt=tag,
        ),
        Row(
            6,
            "server RSS with 100 configs open",
            rss100,
            unit="MB",
            target="< 120 MB",
            met=median(rss100) < 120,
        ),
        Row(
            6,
            "500 configs over 10 contexts: didOpen of all → every forbidden warning",
            t500,
            rtt=tag,
        ),
        Row(6, "1 config: API requests (one cold check)", one, unit="req", rtt=tag),
        Row(
            6,
            "500 configs: API requests",
            r500,
            unit="req",
            rtt=tag,
            target=f"≤ 10 x one check = {10 * max(one):g}",
            met=max(r500) <= 10 * max(one),
        ),
        Row(6, "server RSS with 500 configs open", rss500, unit="MB"),
    ]


# -- 7. idle CPU ---------------------------------------------------------------------------


async def bench_idle(plan: Plan, clusters: DemoClusters) -> list[Row]:
    ws = workspace(plan, "idle")
    env = server_env(plan.tmp / "idle", {"KUBECONFIG": str(clusters.kubeconfig)})
    async with session(ws / "workspace", settings=settings(plan), env=env) as s:
        for label, context, operator, _code in KINDS[:3]:
            await open_and_wait_verdict(s, cluster_config(ws, label, context), operator)
        big = write(ws / ".mirrord" / "big.json", config_text(50_000))
        await s.diagnostics(s.open(big))
        cpu0 = s.cpu_seconds()
        t0 = time.monotonic()
        await asyncio.sleep(plan.idle_seconds)  # sleep-ok: the idle window itself
        cpu1 = s.cpu_seconds()
        window = time.monotonic() - t0
    pct = 100 * (cpu1 - cpu0) / window
    return [
        Row(
            7,
            f"server CPU while idle over {window:.0f} s (4 configs open, 3 verdicts; tick 10 ms)",
            [pct],
            unit="%",
            target="≈ 0 (< 1 %)",
            met=pct < 1,
        )
    ]


# -- 8. the user's alternative: kubectl ------------------------------------------------------


def kubectl_path() -> str | None:
    return shutil.which("kubectl") or (
        "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None
    )


async def bench_kubectl(plan: Plan, rtt: int, clusters: DemoClusters) -> list[Row]:
    kubectl = kubectl_path()
    tag = f"{rtt} ms"
    if kubectl is None:
        return [Row(8, "kubectl pair vs mirrord-ls", rtt=tag, text="skipped: no kubectl")]
    home = plan.tmp / f"kubectl-{rtt}"
    (home / "cache").mkdir(parents=True, exist_ok=True)
    kenv = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KUBECACHEDIR": str(home / "cache"),
        "KUBECONFIG": str(clusters.kubeconfig),
    }
    server = clusters.server_for("healthy")
    assert server is not None
    ws = workspace(plan, f"vs-kubectl-{rtt}")
    env = server_env(plan.tmp / f"vs-kubectl-{rtt}", {"KUBECONFIG": str(clusters.kubeconfig)})
    check_config = cluster_config(ws, "check", "healthy")

    async def kubectl_pair() -> tuple[float, int]:
        before = server.log.count()
        a, code_a, out_a = await run_process(
            [kubectl, "--context", "healthy", "get", OPERATOR_RESOURCE, "operator"], kenv, ws
        )
        b, _code_b, out_b = await run_process(
            [kubectl, "--context", "healthy", "auth", "can-i", "get", OPERATOR_RESOURCE], kenv, ws
        )
        if code_a != 0 or out_b.split("\0")[0].strip() != "yes":
            raise RuntimeError(f"kubectl failed: {out_a.strip()} / {out_b.strip()}")
        return a + b, server.log.count() - before

    async def check_cold() -> tuple[float, int]:
        before = server.log.count()
        elapsed, code, out = await run_process(
            [*CHECK, "--schema", str(plan.schema), str(check_config)], env, ws
        )
        if code != 0 or "0 findings" not in out:
            raise RuntimeError(f"mirrord-ls check failed ({code}): {out.strip()}")
        return elapsed, server.log.count() - before

    pair: list[float] = []
    pair_requests: list[float] = []
    cold: list[float] = []
    cold_requests: list[float] = []
    warm: list[float] = []
    warm_ratio: list[float] = []
    cold_ratio: list[float] = []
    async with session(ws / "workspace", settings=settings(plan), env=env) as s:
        await open_and_wait_verdict(s, cluster_config(ws, "prime", "healthy"), "installed")
        for rep in range(plan.kubectl_reps + 1):  # the first fills kubectl's discovery cache
            k, k_requests = await kubectl_pair()
            c, c_requests = await check_cold()
            w, _ = await open_and_wait_verdict(
                s, cluster_config(ws, f"warm-{rep}", "healthy", seed=rep), "installed"
            )
            if rep == 0:
                continue
            pair.append(k)
            pair_requests.append(k_requests)
            cold.append(c)
            cold_requests.append(c_requests)
            warm.append(w)
            warm_ratio.append(k / w)
            cold_ratio.append(c / k)
    return [
        Row(
            8,
            "`kubectl get mirrordoperators… operator` + `kubectl auth can-i get …`"
            " (warm discovery cache)",
            pair,
            rtt=tag,
        ),
        Row(8, "kubectl pair: API requests", pair_requests, unit="req", rtt=tag),
        Row(8, "`mirrord-ls check` on a config with the cluster (cold process)", cold, rtt=tag),
        Row(8, "`mirrord-ls check`: API requests", cold_requests, unit="req", rtt=tag),
        Row(
            8,
            "mirrord-ls warm verdict in the editor (didOpen → diagnostics, cache hit)",
            warm,
            rtt=tag,
        ),
        Row(
            8,
            "kubectl pair / mirrord-ls warm (pair by pair)",
            warm_ratio,
            unit="x",
            rtt=tag,
            target="≥ 20x",
            met=median(warm_ratio) >= 20,
        ),
        Row(
            8,
            "cold `mirrord-ls check` / kubectl pair (pair by pair)",
            cold_ratio,
            unit="x",
            rtt=tag,
            target="≤ 1.5x",
            met=median(cold_ratio) <= 1.5,
        ),
    ]


# -- 9. a team's editors on one API server ---------------------------------------------------


async def bench_team(plan: Plan, rtt: int, clusters: DemoClusters) -> list[Row]:
    """The re-check policy against the naive one, N = 1..1000 editors (see team_load.py)."""
    from mirrord_ls.cluster.inputs import from_analysis
    from mirrord_ls.cluster.service import ClusterService
    from mirrord_ls.config.analyze import analyze
    from mirrord_ls.config.schema import builtin_schema

    tag = f"{rtt} ms"
    server = clusters.server_for("healthy")
    assert server is not None
    ws = workspace(plan, "team")
    config = write(ws / ".mirrord" / "team.json", HOVER_TEXT % "healthy")
    env = team_load.workspace_env(ws, clusters.kubeconfig)
    inputs = from_analysis(analyze(HOVER_TEXT % "healthy", "json", builtin_schema(), env, None))
    editors = 10
    services = [ClusterService(timeout=10) for _ in range(editors)]

    async def full(editor: int) -> None:
        await services[editor].check(
            inputs,
            config_path=config,
            workspace_folder=ws,
            workspace_folders=(ws,),
            env=env,
            trusted=True,
            force=True,
        )

    first = await services[0].check(
        inputs, config_path=config, workspace_folder=ws, env=env, trusted=True
    )
    resolved, trust = first.facts.resolved, first.facts.trust
    assert resolved is not None and trust is not None, first.findings

    async def sentinel(editor: int) -> None:
        conn = await services[editor].connection(resolved, trust, env)
        await conn.request("GET", team_load.OPERATOR_PATH, timeout=5.0)

    try:
        for s in services[1:]:
            await s.check(inputs, config_path=config, workspace_folder=ws, env=env, trusted=True)
        full_up = await team_load.count_action(server, partial(full, 0))
        sentinel_up = await team_load.count_action(server, partial(sentinel, 0))
        fault = server.inject(Fault.status_code(team_load.OPERATOR_PATH, 503))
        full_down = await team_load.count_action(server, partial(full, 0))
        sentinel_down = await team_load.count_action(server, partial(sentinel, 0))
        server.remove_fault(fault)
        costs = team_load.Costs(full_up, full_down, sentinel_up, sentinel_down)
        rows = [
            Row(
                9,
                f"one full preflight (forced): {dict(full_up)}",
                [sum(full_up.values())],
                unit="req",
                rtt=tag,
            ),
            Row(
                9,
                f"one full preflight, operator answering 503: {dict(full_down)}",
                [sum(full_down.values())],
                unit="req",
                rtt=tag,
            ),
            Row(
                9,
                f"one sentinel read: {dict(sentinel_up)}",
                [sum(sentinel_up.values())],
                unit="req",
                rtt=tag,
            ),
        ]
        replays = {(1, "policy"), (10, "policy"), (1, "naive")}
        for n in (1, 10, 100, 1000):
            for name in ("policy", "naive"):
                out = team_load.simulate(n, name, costs)
                label = f"N = {n}, " + (
                    "re-check policy" if name == "policy" else "naive (full preflight every period)"
                )
                steady = out.rate(team_load.PHASES[0])
                per_editor_min = steady * 60 / n
                rows += [
                    Row(
                        9,
                        f"{label}: steady state, requests/s at the API server",
                        [steady],
                        unit="req/s",
                    ),
                    Row(
                        9,
                        f"{label}: steady state, requests per editor per minute",
                        [per_editor_min],
                        unit="req/min",
                        target="≤ 1" if name == "policy" else "",
                        met=per_editor_min <= 1 if name == "policy" else None,
                    ),
                    Row(
                        9,
                        f"{label}: the minute after a kubeconfig switch, requests/s",
                        [out.rate(team_load.PHASES[1])],
                        unit="req/s",
                    ),
                    Row(
                        9,
                        f"{label}: operator down (10 min), requests/s",
                        [out.rate(team_load.PHASES[2])],
                        unit="req/s",
                    ),
                    Row(
                        9,
                        f"{label}: operator down, busiest 10 s, requests/s",
                        [out.peak(team_load.PHASES[2])],
                        unit="req/s",
                    ),
                    Row(
                        9,
                        f"{label}: operator back, busiest 10 s, requests/s",
                        [out.peak(team_load.PHASES[3])],
                        unit="req/s",
                    ),
                    Row(
                        9,
                        f"{label}: operator back → noticed (full re-check), per editor",
                        out.noticed_back or [float("nan")],
                        unit="s",
                    ),
                ]
                if n == 1000:
                    kinds = ", ".join(
                        f"{k} {v:.2f}" for k, v in out.kinds(team_load.PHASES[0]).items()
                    )
                    rows.append(Row(9, f"{label}: steady state by kind (req/s): {kinds}", text="-"))
                if ((n, name) in replays and not plan.quick) or (n, name) == (1, "policy"):
                    modelled = len(out.requests)
                    real = await team_load.replay(out, server, full, sentinel)
                    rows.append(
                        Row(
                            9,
                            f"{label}: the simulated hour replayed against the loopback"
                            f" server: requests logged vs modelled ({modelled})",
                            [real],
                            unit="req",
                            target=f"= {modelled}",
                            met=real == modelled,
                        )
                    )
        return rows
    finally:
        for s in services:
            s.close()


# -- 10. a cold preflight: parallel reads, one connection, kubectl by hand ------------------


def kubectl_sequence() -> list[list[str]]:
    """What a user runs by hand to learn what the preflight learns (issue 17)."""
    return [
        ["get", OPERATOR_RESOURCE, "operator"],
        ["auth", "can-i", "get", OPERATOR_RESOURCE],
        ["auth", "can-i", "create", "pods"],
        ["auth", "can-i", "create", "jobs.batch"],
        ["auth", "can-i", "get", "pods/log"],
        ["get", "pods", "-l", "app=web", "-n", "default"],
        ["get", "ns", "default"],
        ["get", "node", "node-1"],
    ]


async def bench_cold(plan: Plan, rtt: int, clusters: DemoClusters) -> list[Row]:
    from mirrord_ls.cluster.inputs import from_analysis
    from mirrord_ls.cluster.preflight.agent_reads import gather_agent_facts
    from mirrord_ls.cluster.preflight.agent_settings import agent_settings
    from mirrord_ls.cluster.service import ClusterService
    from mirrord_ls.config.analyze import analyze
    from mirrord_ls.config.schema import builtin_schema

    tag = f"{rtt} ms"
    server = clusters.server_for("healthy")
    assert server is not None
    ws = workspace(plan, f"cold-{rtt}")
    text = HOVER_TEXT % "healthy"
    config = write(ws / ".mirrord" / "cold.json", text)
    env = team_load.workspace_env(ws, clusters.kubeconfig)
    inputs = from_analysis(analyze(text, "json", builtin_schema(), env, None))
    settings_ = agent_settings(json.loads(text), {})
    kubectl = kubectl_path()
    home = plan.tmp / f"kubectl-cold-{rtt}"
    (home / "cache").mkdir(parents=True, exist_ok=True)
    kenv = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KUBECACHEDIR": str(home / "cache"),
        "KUBECONFIG": str(clusters.kubeconfig),
    }
    cenv = server_env(plan.tmp / f"cold-{rtt}", {"KUBECONFIG": str(clusters.kubeconfig)})

    async def by_hand() -> tuple[float, int, int]:
        assert kubectl is not None
        before, conns = server.log.count(), server.connections
        total = 0.0
        for args in kubectl_sequence():
            elapsed, _code, _out = await run_process(
                [kubectl, "--context", "healthy", *args], kenv, ws
            )
            total += elapsed
        return total, server.log.count() - before, server.connections - conns

    async def in_process() -> tuple[float, float, int, int, float]:
        """A fresh service: the cold walk (operator, target), then the agent facts on the
        same connection; then the same walk warm."""
        service = ClusterService(timeout=10)
        try:
            before, conns = server.log.count(), server.connections
            t0 = time.perf_counter()
            result = await service.check(
                inputs, config_path=config, workspace_folder=ws, env=env, trusted=True
            )
            walk = ms(time.perf_counter() - t0)
            resolved, trust = result.facts.resolved, result.facts.trust
            assert resolved is not None and trust is not None, result.findings
            conn = await service.connection(resolved, trust, env)
            t1 = time.perf_counter()
            await gather_agent_facts(conn.request, settings_, resolved.namespace)
            agent = ms(time.perf_counter() - t1)
            requests, connections = server.log.count() - before, server.connections - conns
            t2 = time.perf_counter()
            await service.check(
                inputs, config_path=config, workspace_folder=ws, env=env, trusted=True
            )
            warm = ms(time.perf_counter() - t2)
            return walk, agent, requests, connections, warm
        finally:
            service.close()

    async def check_cli() -> tuple[float, int]:
        before = server.log.count()
        elapsed, _code, _out = await run_process(
            [*CHECK, "--schema", str(plan.schema), str(config)], cenv, ws
        )
        return elapsed, server.log.count() - before

    rows: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        rows.setdefault(key, []).append(value)

    for rep in range(plan.kubectl_reps + 1):  # the first warms kubectl's discovery cache
        k = await by_hand() if kubectl else None
        walk, agent, requests, connections, warm = await in_process()
        cli, cli_requests = await check_cli()
        if rep == 0:
            continue
        add("walk", walk)
        add("agent", agent)
        add("walk+agent", walk + agent)
        add("requests", requests)
        add("connections", connections)
        add("warm", warm)
        add("cli", cli)
        add("cli requests", cli_requests)
        if k is not None:
            add("kubectl", k[0])
            add("kubectl requests", k[1])
            add("kubectl connections", k[2])
            add("ratio cold", (walk + agent) / k[0])
            add("ratio cli", cli / k[0])
            add("ratio warm", k[0] / warm)
    out = [
        Row(
            10,
            "cold walk in-process (fresh service: operator discovery, target)",
            rows["walk"],
            rtt=tag,
        ),
        Row(
            10, "agent facts on the same connection (`gather_agent_facts`)", rows["agent"], rtt=tag
        ),
        Row(10, "cold preflight in-process: walk + agent facts", rows["walk+agent"], rtt=tag),
        Row(10, "cold preflight: API requests", rows["requests"], unit="req", rtt=tag),
        Row(
            10,
            "cold preflight: TCP connections opened",
            rows["connections"],
            unit="req",
            rtt=tag,
            target="1",
            met=max(rows["connections"]) <= 1,
        ),
        Row(10, "warm walk in-process (cache hit)", rows["warm"], rtt=tag),
        Row(10, "`mirrord-ls check` (cold process; operator and target)", rows["cli"], rtt=tag),
        Row(10, "`mirrord-ls check`: API requests", rows["cli requests"], unit="req", rtt=tag),
    ]
    if "kubectl" in rows:
        out += [
            Row(
                10,
                f"kubectl sequence by hand ({len(kubectl_sequence())} commands, warm discovery"
                " cache)",
                rows["kubectl"],
                rtt=tag,
            ),
            Row(
                10, "kubectl sequence: API requests", rows["kubectl requests"], unit="req", rtt=tag
            ),
            Row(
                10,
                "kubectl sequence: TCP connections opened",
                rows["kubectl connections"],
                unit="req",
                rtt=tag,
            ),
            Row(
                10,
                "cold preflight in-process / kubectl sequence (pair by pair)",
                rows["ratio cold"],
                unit="x",
                rtt=tag,
                target="≤ 0.5x" if rtt == 20 else "",
                met=median(rows["ratio cold"]) <= 0.5 if rtt == 20 else None,
            ),
            Row(
                10,
                "cold `mirrord-ls check` process / kubectl sequence (pair by pair)",
                rows["ratio cli"],
                unit="x",
                rtt=tag,
                target="≤ 0.5x" if rtt == 20 else "",
                met=median(rows["ratio cli"]) <= 0.5 if rtt == 20 else None,
            ),
            Row(
                10,
                "kubectl sequence / warm walk (pair by pair)",
                rows["ratio warm"],
                unit="x",
                rtt=tag,
                target="≥ 100x",
                met=median(rows["ratio warm"]) >= 100,
            ),
        ]
    return out


# -- main ----------------------------------------------------------------------------------


def provenance() -> str:
    """Which mirrord-ls was measured: the commit of its checkout, and whether it was clean."""
    import subprocess

    import mirrord_ls

    root = Path(mirrord_ls.__file__).resolve().parents[2]
    label = os.environ.get("MIRRORD_LS_BENCH_SOURCE")
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "server"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return label or f"mirrord_ls from {root}"
    return f"commit {commit}" + (" with uncommitted changes under server/" if dirty else "")


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("pygls", "mirrord-ls")
    )
    return (
        f"{os.cpu_count()} cores{f' ({model})' if model else ''}, {platform.system()}"
        f" {platform.release()}, Python {platform.python_version()}, {versions}"
    )


async def run(plan: Plan, rows: list[Row], errors: list[str]) -> None:
    async def section(number: int, name: str, job: Callable[[], Awaitable[list[Row]]]) -> None:
        if not plan.wants(number):
            return
        t0 = time.monotonic()
        print(f"[bench] {number}. {name} ...", file=sys.stderr, flush=True)
        try:
            rows.extend(await job())
        except Exception as exc:  # one broken row must not hide the others
            errors.append(f"{number}. {name}: {type(exc).__name__}: {exc}")
            rows.append(Row(number, f"{name}: ERROR {type(exc).__name__}: {exc}", met=False))
        print(f"[bench]    {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)

    await section(1, "start-up", partial(bench_startup, plan))
    await section(2, "config checks", partial(bench_config_sizes, plan))
    for rtt in plan.rtts:
        demo = plan.tmp / f"demo-{rtt}" / "kubeconfig"
        demo.parent.mkdir(parents=True, exist_ok=True)
        clusters = start_demo_clusters(demo, round_trip=rtt / 1000)
        try:
            await section(
                3, f"cluster verdicts, RTT {rtt} ms", partial(bench_cluster, plan, rtt, clusters)
            )
            if rtt == plan.main_rtt:
                await section(
                    3, "warm verdict server time", partial(bench_cache_hit, plan, clusters)
                )
                await section(4, "kubeconfig rewrite", partial(bench_rewrite, plan, rtt, clusters))
                await section(
                    5, "latency during a hung check", partial(bench_hang, plan, rtt, clusters)
                )
                await section(7, "idle CPU", partial(bench_idle, plan, clusters))
            await section(8, f"kubectl, RTT {rtt} ms", partial(bench_kubectl, plan, rtt, clusters))
            await section(
                10, f"cold preflight, RTT {rtt} ms", partial(bench_cold, plan, rtt, clusters)
            )
            if rtt == plan.main_rtt:
                await section(
                    9,
                    "a team's editors on one API server",
                    partial(bench_team, plan, rtt, clusters),
                )
        finally:
            clusters.stop()
    await section(6, "scale", partial(bench_scale, plan, plan.main_rtt))


NOTES = """\
Notes:

- Round-trip times are injected by the loopback API server into every HTTP request, and
  a new connection waits one more for the TCP handshake and one for a TLS 1.3 handshake.
- didOpen → diagnostics is timed from the moment the client has written the notification
  (client-side JSON encoding excluded) to the client's handling of `publishDiagnostics`.
  Cluster verdicts are recognised by the `mirrord/status` notification the server sends
  right after publishing them; the time is that of the publish.
- "cold" is the first check of a cluster identity in a fresh server process (the session's
  first cluster check, which imports the Kubernetes client, is timed on its own row); "warm"
  is a second config on the same context (verdict cache hit).
- `operator down` answers 503: mirrord's retry policy (0.5 s, then 1 s, ±20 % jitter, on
  each of the two GETs) sets its time, so no overhead target is judged there.
- kubectl runs with HOME and KUBECACHEDIR in a temporary folder, its discovery cache warmed
  by a first run; its process start is included, as is mirrord-ls check's. Even with the
  cache, each kubectl command asks for /version, /api and /apis first.
- The loopback API server runs with TCP_NODELAY here (`--loopback-nagle` leaves its default):
  it writes each answer's headers and body in two sends, and with Nagle's algorithm on, the
  body waits for the client's delayed ACK, about 40 ms a request for every client (kubectl
  too). kube-apiserver (Go) sets TCP_NODELAY on every connection.
- Configs are opened from a folder outside the session's workspace folder: the server checks
  the configs inside its workspace folders on its own, and this benchmark times didOpen.
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="the CI smoke subset, one RTT")
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file")
    parser.add_argument("--rtt", default="0,20,100", help="round-trip times in ms (comma list)")
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="mirrord's schema")
    parser.add_argument("--only", default="", help="sections to run, e.g. 1,3 (default: all)")
    parser.add_argument(
        "--loopback-nagle",
        action="store_true",
        help="leave Nagle's algorithm on in the loopback API server (its default; ~40 ms a"
        " request from delayed ACKs), instead of TCP_NODELAY as kube-apiserver sets it",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="section 1 also starts the mirrord-ls found on this PYTHONPATH (a checkout's"
        " server/ folder), interleaved with this one, for a before/after in one run",
    )
    args = parser.parse_args(argv)
    try:
        rtts = [int(x) for x in args.rtt.split(",") if x.strip()]
        only = {int(x) for x in args.only.split(",") if x.strip()}
    except ValueError:
        parser.error("--rtt and --only take comma-separated integers")
    if not rtts:
        parser.error("--rtt needs at least one value")
    if not args.schema.is_file():
        parser.error(f"schema not found: {args.schema} (pass --schema)")
    main_rtt = 20 if 20 in rtts else rtts[0]
    # The loopback server writes headers and body in two sends; with Nagle on, the body
    # waits for the client's delayed ACK (~40 ms a request). kube-apiserver (Go) sets
    # TCP_NODELAY on every connection, so the benchmark does too, unless told otherwise.
    apiserver._Handler.disable_nagle_algorithm = not args.loopback_nagle
    quick = bool(args.quick)
    # Measure the package as installed: pip compiles a wheel's modules; a checkout run with
    # PYTHONDONTWRITEBYTECODE would compile them in every process it starts.
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "server"), quiet=2)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mirrord-ls-bench-") as tmp:
        plan = Plan(
            quick=quick,
            rtts=[main_rtt] if quick else rtts,
            main_rtt=main_rtt,
            schema=args.schema.resolve(),
            only=only,
            tmp=Path(tmp),
            startup_pairs=3 if quick else 10,
            open_reps={"2 KB": 5, "50 KB": 3, "1 MB": 1}
            if quick
            else {"2 KB": 30, "50 KB": 15, "1 MB": 5},
            cluster_reps=1 if quick else 5,
            cluster_warmup=0 if quick else 1,
            latency_reps=10 if quick else 30,
            rewrite_reps=2 if quick else 5,
            scale_reps=1 if quick else 3,
            idle_seconds=5 if quick else 60,
            kubectl_reps=2 if quick else 5,
            before=args.before.resolve() if args.before else None,
        )
        rows: list[Row] = []
        errors: list[str] = []
        asyncio.run(run(plan, rows, errors))
    rows.sort(key=lambda r: r.section)  # stable: each section keeps its order
    duration = time.monotonic() - started
    command = shlex.join(["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])])
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = "\n".join(
        [
            "# mirrord-ls benchmarks",
            "",
            f"- Machine: {machine()}",
            f"- mirrord-ls measured: {provenance()}",
            f"- Date: {now}; run took {duration:.0f} s",
            f'- Command: `{command}` (`./dev bench` runs `python bench/run.py "$@"`)',
            f"- Mode: {'quick (CI smoke)' if quick else 'full'}; RTTs: "
            + ", ".join(f"{r} ms" for r in plan.rtts)
            + "; loopback API server: "
            + ("Nagle on (its default)" if args.loopback_nagle else "TCP_NODELAY"),
            "",
            render(rows),
            "",
            NOTES,
        ]
    )
    print(report)
    if args.out:
        args.out.write_text(report, "utf-8")
    errors += __import__("soak").from_env()  # bench/soak.py, when MIRRORD_LS_SOAK_SECONDS is set
    for error in errors:
        print(f"[bench] error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
