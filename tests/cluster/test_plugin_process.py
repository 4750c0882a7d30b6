"""Where an exec credential plugin runs and which program it is (issue 16).

The working folder is outside the workspace; a bare `command` is looked up on PATH
without its empty or relative entries (the current folder, often the workspace), and in
an untrusted workspace without entries inside it either.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from mirrord_ls.cluster.credentials import ExecPluginError, TrustPolicy, run_exec_plugin
from mirrord_ls.cluster.kubeconfig import ExecConfig

V1 = "client.authentication.k8s.io/v1"
TEMP = os.path.realpath(tempfile.gettempdir())
ANSWER = json.dumps({"apiVersion": V1, "kind": "ExecCredential", "status": {"token": "t-Gg7"}})


def program(folder: Path, marker: Path, name: str = "get-token") -> Path:
    """A shell plugin that records where it ran (its cwd) into `marker`, then answers."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\npwd >> '{marker}'\necho '{ANSWER}'\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    home, ws, tools = tmp_path / "home", tmp_path / "ws", tmp_path / "tools"
    home.mkdir()
    marks = {name: tmp_path / f"ran-{name}" for name in ("ws-bin", "ws-root", "tools")}
    program(ws / "bin", marks["ws-bin"])
    program(ws, marks["ws-root"])
    program(tools, marks["tools"])
    monkeypatch.chdir(ws)  # an editor often starts the server in the workspace
    return {"home": home, "ws": ws, "tools": tools, **{f"mark-{k}": v for k, v in marks.items()}}


def untrusted(lay: dict[str, Path]) -> TrustPolicy:
    return TrustPolicy(untrusted_roots=(lay["ws"],), home=lay["home"])


async def run(lay: dict[str, Path], path_value: str, trust: TrustPolicy) -> None:
    await run_exec_plugin(
        ExecConfig(command="get-token", api_version=V1),
        base_env={"PATH": path_value, "HOME": str(lay["home"])},
        trust=trust,
    )


async def test_path_lookup_skips_the_current_folder_and_the_workspace(
    layout: dict[str, Path],
) -> None:
    ws_bin = str(layout["ws"] / "bin")
    value = os.pathsep.join([ws_bin, "", ".", "bin", str(layout["tools"])])
    await run(layout, value, untrusted(layout))
    assert layout["mark-tools"].exists()
    assert not layout["mark-ws-bin"].exists() and not layout["mark-ws-root"].exists()
    # The plugin ran in the home folder, not in the workspace the server runs in.
    assert layout["mark-tools"].read_text().strip() == str(layout["home"])


async def test_only_the_workspace_offers_it(layout: dict[str, Path]) -> None:
    value = os.pathsep.join([str(layout["ws"] / "bin"), "", "."])
    with pytest.raises(ExecPluginError, match="inside the workspace"):
        await run(layout, value, untrusted(layout))
    assert not layout["mark-ws-bin"].exists() and not layout["mark-ws-root"].exists()


async def test_a_trusted_workspace_may_offer_it_but_never_the_current_folder(
    layout: dict[str, Path],
) -> None:
    trusted = TrustPolicy(untrusted_roots=(layout["ws"],), trusted=True, home=layout["home"])
    await run(layout, os.pathsep.join(["", ".", str(layout["ws"] / "bin")]), trusted)
    assert layout["mark-ws-bin"].exists() and not layout["mark-ws-root"].exists()


async def test_a_home_folder_workspace_runs_the_plugin_elsewhere(
    layout: dict[str, Path],
) -> None:
    trust = TrustPolicy(untrusted_roots=(layout["home"],), home=layout["home"])
    await run(layout, str(layout["tools"]), trust)
    assert layout["mark-tools"].read_text().strip() == TEMP


async def test_a_path_command_into_the_workspace_is_refused(layout: dict[str, Path]) -> None:
    """A user's kubeconfig whose relative `command` ("../ws/bin/get-token") lands in it."""
    with pytest.raises(ExecPluginError, match="inside the workspace"):
        await run_exec_plugin(
            ExecConfig(command=str(layout["ws"] / "bin" / "get-token"), api_version=V1),
            base_env={"PATH": "", "HOME": str(layout["home"])},
            trust=untrusted(layout),
        )
    assert not layout["mark-ws-bin"].exists()
