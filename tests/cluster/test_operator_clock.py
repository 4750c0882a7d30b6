"""Licence dates are judged against the service's clock (UTC date), never read in the rules:
a later day re-judges the cached operator object without a request."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from mirrord_ls.cluster.cache import TtlCache
from mirrord_ls.cluster.inputs import from_analysis
from mirrord_ls.cluster.service import ClusterService
from mirrord_ls.config.analyze import analyze
from mirrord_ls.loopback.operator_scenarios import start_operator_clusters

TODAY = datetime.date(2026, 6, 15)
OPERATOR = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"


def operator_gets(server: Any) -> int:
    return sum(1 for r in server.log.records() if r.path == OPERATOR)


async def test_a_later_day_rejudges_the_licence_without_a_request(tmp_path: Path) -> None:
    with start_operator_clusters(tmp_path / "kubeconfig", today=TODAY) as demo:
        server = demo.servers["op-trial-expiring"]  # a trial licence ending on TODAY + 1
        day = [TODAY]
        service = ClusterService(clock=lambda: day[0])
        text = '{\n  "kube_context": "op-trial-expiring",\n  "target": "deployment/web"\n}\n'
        inputs = from_analysis(analyze(text, "json", None, {}, None))
        env = {"KUBECONFIG": str(demo.kubeconfig), "HOME": str(tmp_path)}
        # The workspace is a folder of its own: a kubeconfig inside an untrusted workspace
        # would not be used at all (cluster/trust.py).
        ws = tmp_path / "ws"
        ws.mkdir()
        try:
            first = await service.check(
                inputs, config_path=ws / "m.json", workspace_folder=ws, env=env
            )
            # client.rs `check_license_validity`: a trial with 2 days or fewer left warns.
            assert [(f.code, f.severity) for f in first.findings if "license" in f.code] == [
                ("license-expiring", "warning")
            ]
            assert "in 1 day!" in first.findings[0].message
            asked = operator_gets(server)
            day[0] = TODAY + datetime.timedelta(days=2)
            later = await service.check(
                inputs, config_path=ws / "m.json", workspace_folder=ws, env=env
            )
            # connection.rs: expired with `operator` unset -> warn and run without it.
            assert [(f.code, f.severity) for f in later.findings if "license" in f.code] == [
                ("license-expired", "warning")
            ]
            # No second GET of the operator object (the agent-path units, which now run
            # because mirrord falls back to its own agent, ask their own facts).
            assert operator_gets(server) == asked
            # What the agent-path units read: mirrord will run without the operator, and why.
            use = later.facts.operator_path.use
            assert use.open_source and "licence expired" in use.reason
            cached = service.store.cached_operator(later.facts.identity)
            assert cached is not None and cached.use(None, day[0]) == use
            assert first.facts.operator_path.use.used
        finally:
            service.close()


def _on_clock(store: Any, now: list[float]) -> None:
    """Every cache of `store` on a clock the test moves (the answers' lifetimes pass)."""
    for name, value in list(vars(store).items()):
        if isinstance(value, TtlCache):
            setattr(store, name, TtlCache(value.maxsize, clock=lambda: now[0]))


async def test_rejudging_takes_expired_answers_without_a_request(tmp_path: Path) -> None:
    """The midnight re-judgement (`rejudge=True`) reads every cached answer whatever its age:
    a whole day later no cache entry is alive, yet nothing is asked again."""
    with start_operator_clusters(tmp_path / "kubeconfig", today=TODAY) as demo:
        server = demo.servers["op-trial-expiring"]
        day = [TODAY]
        now = [1000.0]
        service = ClusterService(clock=lambda: day[0])
        _on_clock(service.store, now)
        text = '{\n  "kube_context": "op-trial-expiring",\n  "target": "deployment/web"\n}\n'
        inputs = from_analysis(analyze(text, "json", None, {}, None))
        env = {"KUBECONFIG": str(demo.kubeconfig), "HOME": str(tmp_path)}
        ws = tmp_path / "ws"
        ws.mkdir()
        try:
            first = await service.check(
                inputs, config_path=ws / "m.json", workspace_folder=ws, env=env
            )
            assert first.facts.judged_on == TODAY
            assert ("license-expiring", "warning") in [(f.code, f.severity) for f in first.findings]
            asked = len(server.log.records())
            now[0] += 24 * 3600.0  # every answer's lifetime is over
            day[0] = TODAY + datetime.timedelta(days=2)
            later = await service.check(
                inputs, config_path=ws / "m.json", workspace_folder=ws, env=env, rejudge=True
            )
            assert later.facts.judged_on == day[0]
            codes = [(f.code, f.severity) for f in later.findings]
            assert ("license-expired", "warning") in codes, codes
            # Only what was never read is asked (the agent units now apply: mirrord falls
            # back to its own agent); the operator object is not read again.
            paths = [r.path for r in server.log.records()][asked:]
            assert OPERATOR not in paths, paths
            # A plain check after the lifetimes ended does ask again (the control).
            before = operator_gets(server)
            await service.check(inputs, config_path=ws / "m.json", workspace_folder=ws, env=env)
            assert operator_gets(server) == before + 1
        finally:
            service.close()
