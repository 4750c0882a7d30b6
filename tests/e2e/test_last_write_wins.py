"""The last write wins, always (issue 16, "Cluster faults"): a kubeconfig rewritten during a
check, or a context switched while a slow check runs, ends with the verdict of what is on
disk now, never an older one. Against the loopback clusters, waiting on notifications and on
the loopback's request log (never on the clock)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from lsprotocol import types
from pytest_lsp import LanguageClient

from lsp_session import codes, lsp_session, open_document, wait_for_diagnostics
from mirrord_ls.loopback import Fault
from mirrord_ls.loopback.scenarios import DemoClusters

OPERATOR = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"


def write_context(kubeconfig: Path, context: str) -> None:
    """What `kubectl config use-context` does: write a temporary file, rename it over."""
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["current-context"] = context
    tmp = kubeconfig.with_name(kubeconfig.name + ".tmp")
    tmp.write_text(yaml.safe_dump(doc))
    os.replace(tmp, kubeconfig)


async def status(lsp: LanguageClient, command: str, uri: str | None = None) -> Any:
    args = [{"uri": uri}] if uri else None
    return await asyncio.wait_for(
        lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=args)
        ),
        60,
    )


@pytest.mark.parametrize("garbage_seen", [True, False], ids=["garbage-seen", "garbage-unseen"])
async def test_kubeconfig_rewritten_twice_during_one_check(
    clusters: DemoClusters, tmp_path: Path, garbage_seen: bool
) -> None:
    """alice (hangs) -> garbage -> bob: bob's verdict, whatever alice's check answers late."""
    server = clusters.server_for("healthy")
    assert server is not None
    hang = server.inject(Fault.hang(OPERATOR, times=1))  # alice's first question only
    good = clusters.kubeconfig.read_text()
    config = tmp_path / "app-mirrord.json"
    config.write_text("{}\n")
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        await asyncio.to_thread(server.log.wait_for, 1, OPERATOR, timeout=30)
        clusters.kubeconfig.write_text("apiVersion: v1\nclusters: [\n")  # garbage
        if garbage_seen:
            await wait_for_diagnostics(
                lsp, uri, lambda d: codes(d) == ["kubeconfig-invalid"], within=60
            )
        clusters.kubeconfig.write_text(good)
        write_context(clusters.kubeconfig, "forbidden")  # bob
        diags = await wait_for_diagnostics(
            lsp, uri, lambda d: codes(d) == ["operator-forbidden"], within=60
        )
        assert diags[0].data["context"] == "forbidden"
        answered = server.log.count(OPERATOR, answered=True)
        server.remove_fault(hang)  # alice's check now answers "installed": too late
        await asyncio.to_thread(
            server.log.wait_for, answered + 1, OPERATOR, answered=True, timeout=30
        )
        now = await status(lsp, "mirrord-ls.showStatus")
        assert now["context"] == "forbidden", now
        assert codes(lsp.diagnostics[uri]) == ["operator-forbidden"]


async def test_context_switched_while_a_slow_check_runs(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    """A forced re-check asked after the switch never joins the check that began before it."""
    server = clusters.server_for("healthy")
    assert server is not None
    config = tmp_path / "app-mirrord.json"
    config.write_text("{}\n")
    async with lsp_session(tmp_path, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uri = open_document(lsp, config, "json")
        first = await status(lsp, "mirrord-ls.recheck", uri)
        assert first["context"] == "healthy" and first["operator"] == "installed", first
        seen = server.log.count(OPERATOR)
        hang = server.inject(Fault.hang(OPERATOR, times=1))
        slow = asyncio.ensure_future(status(lsp, "mirrord-ls.recheck", uri))
        await asyncio.to_thread(server.log.wait_for, seen + 1, OPERATOR, timeout=30)
        write_context(clusters.kubeconfig, "forbidden")
        # The user asks again right away (before or after the watcher saw the change).
        after = await status(lsp, "mirrord-ls.recheck", uri)
        assert after["context"] == "forbidden", after
        await wait_for_diagnostics(lsp, uri, lambda d: codes(d) == ["operator-forbidden"])
        server.remove_fault(hang)
        await slow
        now = await status(lsp, "mirrord-ls.showStatus")
        assert now["context"] == "forbidden", now
        assert codes(lsp.diagnostics[uri]) == ["operator-forbidden"]
