"""A misbehaving cluster: each fault on the operator's path gets the right code, a sentence
that says what happened, in bounded time, and the editor stays responsive meanwhile.

One server process, `mirrordLs.cluster.timeoutSeconds = 3`; each fault is injected into the
loopback API server, then `mirrord-ls.recheck` forces a fresh check of the document.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from lsprotocol import types

from mirrord_ls.loopback import Fault, LoopbackApiServer, OperatorState
from mirrord_ls.loopback.scenarios import DemoClusters

from .support import DISCOVERY, OPERATOR, Recorded, recorded_session

TIMEOUT = 3.0
# "Bounded time" means the check ends by its deadline instead of waiting out a hang or a
# `Retry-After: 30`, not that it is fast: the bound leaves room for a loaded machine (two
# busy cores) and stays well under the 30 s that a check ignoring its deadline would take.
BOUND = 15.0


@dataclass
class Case:
    name: str
    fault: Callable[[], Fault] | None
    code: str | None
    words: tuple[str, ...]
    context: str = "healthy"
    max_operator_requests: int = 3


CASES = [
    Case(
        "hang", lambda: Fault.hang(OPERATOR), "cluster-unreachable", ("cannot be reached", "answer")
    ),
    Case("slow answer (0.5 s)", lambda: Fault.latency(OPERATOR, 0.5), None, ()),
    Case(
        "slow answer (5 s)",
        lambda: Fault.latency(OPERATOR, 5),
        "cluster-unreachable",
        ("cannot be reached", "answer"),
    ),
    Case("reset mid-body", lambda: Fault.reset(OPERATOR), "cluster-unreachable", ("broke",)),
    Case("truncated body", lambda: Fault.truncated(OPERATOR), "cluster-unreachable", ("broke",)),
    Case(
        "garbage with 200",
        lambda: Fault.garbage(OPERATOR),
        "operator-check-failed",
        ("200", "not a MirrordOperator"),
    ),
    Case(
        "HTML 502 from a proxy",
        lambda: Fault.html_error(OPERATOR, 502),
        "operator-check-failed",
        ("502",),
    ),
    Case("wrong content type", lambda: Fault.wrong_content_type(OPERATOR), None, ()),
    Case(
        "redirect",
        lambda: Fault.redirect(OPERATOR, "/login"),
        "operator-check-failed",
        ("302",),
    ),
    Case(
        "503 storm",
        lambda: Fault.status_code(OPERATOR, 503),
        "operator-check-failed",
        ("503",),
    ),
    Case(
        "503 storm, Retry-After: 1",
        lambda: Fault.status_code(OPERATOR, 503, retry_after=1),
        "operator-check-failed",
        ("503",),
    ),
    Case(
        "503 storm, Retry-After: 30",
        lambda: Fault.status_code(OPERATOR, 503, retry_after=30),
        "operator-check-failed",
        ("503",),
    ),
    Case(
        "APIService 503 once, then back",
        lambda: Fault.status_code(OPERATOR, 503, times=1),
        None,
        (),
    ),
    Case(
        "whole group 503 (APIService down) on both paths",
        lambda: Fault.status_code("/apis/operator.metalbear.co/v1*", 503),
        "operator-check-failed",
        ("503",),
    ),
    Case("TLS name mismatch", None, "cluster-tls-error", ("certificate",), context="wrong-name"),
    Case(
        "expired certificate",
        None,
        "cluster-tls-error",
        ("certificate",),
        context="expired-certificate",
    ),
]


def config_text(context: str) -> str:
    return f'{{\n  "kube_context": "{context}",\n  "target": "deployment/web"\n}}\n'


async def judge(
    rec: Recorded, uri: str, server: LoopbackApiServer | None, case: Case
) -> tuple[str | None, str, float]:
    fault = server.inject(case.fault()) if server is not None and case.fault else None
    if server is not None:
        server.log.clear()
    started = time.monotonic()
    try:
        await rec.command("mirrord-ls.recheck", {"uri": uri}, within=BOUND + 15)
        elapsed = time.monotonic() - started
        diags = await rec.diagnostics(
            uri,
            lambda d: (
                any(x.code == case.code for x in d)
                if case.code
                else not any(x.source == "mirrord-ls (cluster)" for x in d)
            ),
            within=30,
        )
    finally:
        if fault is not None and server is not None:
            server.remove_fault(fault)
    cluster = [d for d in diags if d.source == "mirrord-ls (cluster)"]
    if server is not None:
        assert server.log.count(OPERATOR) <= case.max_operator_requests
        assert server.log.count(DISCOVERY) <= 3
    code = str(cluster[0].code) if cluster else None
    message = cluster[0].message if cluster else ""
    return code, message, elapsed


async def test_each_fault_gets_its_code_and_sentence(
    clusters: DemoClusters, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "ws"
    (work / ".mirrord").mkdir(parents=True)
    config = work / ".mirrord" / "mirrord.json"
    config.write_text(config_text("healthy"))
    seen: list[tuple[str, str | None, str, float]] = []
    async with recorded_session(
        work,
        settings={"cluster": {"timeoutSeconds": TIMEOUT, "recheckSeconds": 3600}},
        env={"KUBECONFIG": str(clusters.kubeconfig)},
    ) as rec:
        uri = rec.open(config)
        await rec.diagnostics(uri, lambda d: len(d) == 0)
        version = 1
        context = "healthy"
        for case in CASES:
            if case.context != context:
                version += 1
                context = case.context
                rec.change(uri, config_text(context), version)
                await rec.diagnostics(uri)
            code, message, elapsed = await judge(rec, uri, clusters.server_for(context), case)
            seen.append((case.name, code, message, elapsed))
            assert code == case.code, (case.name, code, message)
            for word in case.words:
                assert word in message, (case.name, message)
            assert elapsed < BOUND, (case.name, elapsed)
        status = await rec.command("mirrord-ls.showStatus")
        assert status["context"] == context
    with capsys.disabled():
        print()
        for name, code, message, elapsed in seen:
            print(f"  {name:<50} {elapsed:5.2f}s {code}: {message}")


async def test_apiservice_flapping_follows_each_recheck(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    server = clusters.server_for("operator-down")
    assert server is not None
    config = tmp_path / "app-mirrord.json"
    config.write_text(config_text("operator-down"))
    async with recorded_session(
        tmp_path,
        settings={"cluster": {"timeoutSeconds": TIMEOUT, "recheckSeconds": 3600}},
        env={"KUBECONFIG": str(clusters.kubeconfig)},
    ) as rec:
        uri = rec.open(config)
        await rec.diagnostics(uri, lambda d: any(x.code == "operator-check-failed" for x in d))
        for state in [OperatorState.INSTALLED, OperatorState.DOWN] * 3:
            server.operator_state = state
            status = await rec.command("mirrord-ls.recheck", {"uri": uri}, within=BOUND + 15)
            if state is OperatorState.INSTALLED:
                assert status["operator"] == "installed"
                await rec.diagnostics(uri, lambda d: len(d) == 0)
            else:
                assert status["operator"] == "check-failed"
                found = await rec.diagnostics(
                    uri, lambda d: any(x.code == "operator-check-failed" for x in d)
                )
                (diag,) = [x for x in found if x.code == "operator-check-failed"]
                assert "503" in diag.message


async def test_editor_answers_while_a_check_hangs(clusters: DemoClusters, tmp_path: Path) -> None:
    server = clusters.server_for("healthy")
    assert server is not None
    hung = tmp_path / "hung-mirrord.json"
    hung.write_text(config_text("healthy"))
    other = tmp_path / "other-mirrord.json"
    other_text = '{\n  "operator": false,\n  \n}\n'
    other.write_text(other_text)
    async with recorded_session(
        tmp_path,
        # A long deadline, so "still hung meanwhile" holds on a loaded machine too.
        settings={"cluster": {"timeoutSeconds": 40, "recheckSeconds": 3600}},
        env={"KUBECONFIG": str(clusters.kubeconfig)},
    ) as rec:
        other_uri = rec.open(other)
        await rec.diagnostics(other_uri)
        fault = server.inject(Fault.hang(OPERATOR))
        hung_uri = rec.open(hung)
        await asyncio.to_thread(server.log.wait_for, 1, OPERATOR, timeout=10)
        started = time.monotonic()
        check = asyncio.create_task(rec.command("mirrord-ls.recheck", {"uri": hung_uri}, within=90))
        try:
            for _ in range(5):
                t0 = time.monotonic()
                hover = await rec.hover(other_uri, 1, 5, within=5)
                completion = await rec.complete(other_uri, 2, 2, within=5)
                # A blocked server would answer only when the 40 s check ends.
                assert time.monotonic() - t0 < 5.0
                assert hover is not None
                items = (
                    completion.items if isinstance(completion, types.CompletionList) else completion
                )
                assert items
            assert not check.done()  # the check is still hung meanwhile
            assert time.monotonic() - started < 40
        finally:
            server.remove_fault(fault)
        await asyncio.wait_for(check, 90)
