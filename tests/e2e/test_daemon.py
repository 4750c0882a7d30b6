"""The daemon: file watching, unopened configs, periodic re-checks, stale results, progress.

Every wait is on a notification from the server, bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import yaml
from lsprotocol import types
from pytest_lsp import client_capabilities

from lsp_session import change_document, codes, lsp_session, open_document, wait_for_diagnostics
from mirrord_ls.cluster.checks.registry import UNITS
from mirrord_ls.loopback import Fault
from mirrord_ls.loopback.scenarios import DemoClusters

OPERATOR = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"


def switch_context(kubeconfig: Path, context: str) -> None:
    """What `kubectl config use-context` does: write a temporary file, rename it over."""
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["current-context"] = context
    tmp = kubeconfig.with_name(kubeconfig.name + ".tmp")
    tmp.write_text(yaml.safe_dump(doc))
    os.replace(tmp, kubeconfig)


async def test_kubectl_use_context_updates_open_config(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    config = tmp_path / "app-mirrord.json"
    config.write_text('{\n  "target": "deployment/web"\n}\n')
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        # recheck answers once the verdict is in (and the kubeconfig is watched).
        status = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.recheck", arguments=[{"uri": uri}])
        )
        assert status["operator"] == "installed", status
        switch_context(clusters.kubeconfig, "forbidden")
        diags = await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == ["operator-forbidden"])
        assert diags[0].data["context"] == "forbidden"
        switch_context(clusters.kubeconfig, "healthy")
        await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 0)


async def test_unopened_configs_are_checked_and_followed_on_disk(
    clusters: DemoClusters, tmp_path: Path, reference_schema: Path
) -> None:
    ws = tmp_path / "ws"
    (ws / "svc" / ".mirrord").mkdir(parents=True)
    broken = ws / "svc" / ".mirrord" / "mirrord.json"
    broken.write_text('{"feature": {"nework": {}}}')
    settings = {"schema": str(reference_schema), "cluster": {"enabled": False}}
    async with lsp_session(ws, settings=settings) as lsp:
        uri = broken.as_uri()
        diags = await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 1)
        assert diags[0].code == "unknown-field"
        # Edited on disk (not in the editor): re-checked.
        broken.write_text('{"feature": {"network": {}}, "operator": 3}')
        diags = await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == ["invalid-value"])
        # A new config appears.
        new = ws / "other-mirrord.yaml"
        new.write_text("feature:\n  fs: wirte\n")
        diags = await wait_for_diagnostics(lsp, new.as_uri(), lambda d: len(d) == 1)
        assert diags[0].range.start.line == 1
        # Deleting a config clears its diagnostics.
        broken.unlink()
        await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 0)


async def test_periodic_recheck_picks_up_an_rbac_grant(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    server = clusters.server_for("forbidden")
    assert server is not None
    config = tmp_path / "app-mirrord.json"
    config.write_text('{"kube_context": "forbidden"}')
    async with lsp_session(
        tmp_path,
        env={"KUBECONFIG": str(clusters.kubeconfig)},
        settings={"cluster": {"recheckSeconds": 1}},
    ) as lsp:
        uri = open_document(lsp, config, "json")
        await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == ["operator-forbidden"])
        server.allow_mirrord_operator_user(users=["bob"])
        await wait_for_diagnostics(lsp, uri, lambda d: len(d) == 0)


def operator_codes(diagnostics: Any) -> list[str]:
    """The codes of the operator verdict (not of the open-source agent units)."""
    agent = {c for unit in UNITS if unit.name.startswith("agent-") for c in unit.codes}
    return [c for c in codes(diagnostics) if c not in agent]


async def test_a_result_for_an_old_config_is_dropped(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    forbidden = clusters.server_for("forbidden")
    assert forbidden is not None
    hang = forbidden.inject(Fault.hang(OPERATOR))
    config = tmp_path / "app-mirrord.json"
    config.write_text('{"kube_context": "forbidden"}')
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        await asyncio.to_thread(forbidden.log.wait_for, 1, OPERATOR, timeout=10)
        change_document(lsp, uri, '{"kube_context": "not-installed"}', 2)
        # (the open-source agent units also speak where the operator is not installed)
        await wait_for_diagnostics(
            lsp, uri, lambda d: operator_codes(d) == ["operator-not-installed"]
        )
        forbidden.remove_fault(hang)  # the old check now answers: 403 for "forbidden"
        await asyncio.to_thread(forbidden.log.wait_for, 1, OPERATOR, answered=True, timeout=10)
        status = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.showStatus")
        )
        assert status["context"] == "not-installed"
        assert operator_codes(lsp.diagnostics[uri]) == ["operator-not-installed"]


async def test_slow_check_reports_progress(clusters: DemoClusters, tmp_path: Path) -> None:
    server = clusters.server_for("healthy")
    assert server is not None
    server.inject(Fault.latency(OPERATOR, 0.6))
    config = tmp_path / "app-mirrord.json"
    config.write_text('{"kube_context": "healthy"}')
    caps = client_capabilities("visual-studio-code")
    async with lsp_session(
        tmp_path, capabilities=caps, env={"KUBECONFIG": str(clusters.kubeconfig)}
    ) as lsp:
        uri = open_document(lsp, config, "json")
        await wait_for_diagnostics(lsp, uri)
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="mirrord-ls.recheck", arguments=[{"uri": uri}])
        )
        reports = [r for values in lsp.progress_reports.values() for r in values]
        kinds = [getattr(r, "kind", None) for r in reports]
        assert "begin" in kinds and "end" in kinds
        assert kinds.index("begin") < kinds.index("end")
