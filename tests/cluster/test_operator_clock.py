"""Licence dates are judged against the service's clock (UTC date), never read in the rules:
a later day re-judges the cached operator object without a request."""

from __future__ import annotations

import datetime
from pathlib import Path

from mirrord_ls.cluster.inputs import from_analysis
from mirrord_ls.cluster.service import ClusterService
from mirrord_ls.config.analyze import analyze
from mirrord_ls.loopback.operator_scenarios import start_operator_clusters

TODAY = datetime.date(2026, 6, 15)


async def test_a_later_day_rejudges_the_licence_without_a_request(tmp_path: Path) -> None:
    with start_operator_clusters(tmp_path / "kubeconfig", today=TODAY) as demo:
        server = demo.servers["op-trial-expiring"]  # a trial licence ending on TODAY + 1
        day = [TODAY]
        service = ClusterService(clock=lambda: day[0])
        text = '{\n  "kube_context": "op-trial-expiring",\n  "target": "deployment/web"\n}\n'
        inputs = from_analysis(analyze(text, "json", None, {}, None))
        env = {"KUBECONFIG": str(demo.kubeconfig), "HOME": str(tmp_path)}
        try:
            first = await service.check(
                inputs, config_path=tmp_path / "m.json", workspace_folder=tmp_path, env=env
            )
            # client.rs `check_license_validity`: a trial with 2 days or fewer left warns.
            assert [(f.code, f.severity) for f in first.findings] == [
                ("license-expiring", "warning")
            ]
            assert "in 1 day!" in first.findings[0].message
            asked = len(server.log.records())
            day[0] = TODAY + datetime.timedelta(days=2)
            later = await service.check(
                inputs, config_path=tmp_path / "m.json", workspace_folder=tmp_path, env=env
            )
            # connection.rs: expired with `operator` unset -> warn and run without it.
            assert [(f.code, f.severity) for f in later.findings] == [
                ("license-expired", "warning")
            ]
            assert len(server.log.records()) == asked
            # What the agent-path units read: mirrord will run without the operator, and why.
            use = later.facts.operator_path.use
            assert use.open_source and "licence expired" in use.reason
            cached = service.store.cached_operator(later.facts.identity)
            assert cached is not None and cached.use(None, day[0]) == use
            assert first.facts.operator_path.use.used
        finally:
            service.close()
