"""Exec credential plugins and workspace trust, end to end over LSP and through `check`.

A plugin that writes a marker file when run: from a kubeconfig inside the workspace it never
runs by default (that kubeconfig is not used at all: `untrusted-kubeconfig`); from one outside
the workspace that the workspace's config names, it does not run either (the user sees
`untrusted-credential-plugin` naming the kubeconfig and the program); with the workspace
trusted it runs and the check proceeds with its token. A kubeconfig in HOME
(~/.kube/config) runs its plugin as kubectl would.
"""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import yaml

from mirrord_ls.loopback.scenarios import DemoClusters

from .support import recorded_session, run_check

TOKEN = "exec-issued-token-for-alice-7Hq2"


def write_plugin_kubeconfig(clusters: DemoClusters, folder: Path, marker: Path) -> Path:
    server = clusters.server_for("healthy")
    assert server is not None
    server.add_token(TOKEN, "alice")
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "get-token"
    credential = json.dumps(
        {
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "status": {"token": TOKEN},
        }
    )
    program.write_text(f"#!/bin/sh\necho ran >> '{marker}'\necho '{credential}'\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": server.url,
                    "certificate-authority-data": base64.b64encode(server.ca_pem).decode(),
                },
            }
        ],
        "users": [
            {
                "name": "u",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": str(program),
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
        "contexts": [{"name": "plugin", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "plugin",
    }
    path = folder / "config"
    path.write_text(yaml.safe_dump(doc))
    return path


def workspace_with_kubeconfig(clusters: DemoClusters, tmp_path: Path) -> tuple[Path, Path, Path]:
    work = tmp_path / "ws"
    marker = tmp_path / "plugin-ran"
    write_plugin_kubeconfig(clusters, work / "kube", marker)
    config = work / ".mirrord" / "mirrord.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"kubeconfig": "./kube/config", "operator": True}, indent=2))
    return work, config, marker


async def test_untrusted_workspace_never_runs_the_plugin(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    work, config, marker = workspace_with_kubeconfig(clusters, tmp_path)
    async with recorded_session(work) as rec:
        uri = rec.open(config)
        diags = await rec.diagnostics(
            uri, lambda d: any(x.code == "untrusted-kubeconfig" for x in d)
        )
        (diag,) = [d for d in diags if d.code == "untrusted-kubeconfig"]
        assert str(work / "kube" / "config") in diag.message
        # A forced re-check and a workspace scan do not run it either.
        await rec.command("mirrord-ls.recheck")
    assert not marker.exists()


async def test_config_named_kubeconfig_outside_never_runs_its_plugin(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    marker = tmp_path / "plugin-ran"
    kubeconfig = write_plugin_kubeconfig(clusters, tmp_path / "elsewhere", marker)
    work = tmp_path / "ws"
    config = work / ".mirrord" / "mirrord.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"kubeconfig": str(kubeconfig), "operator": True}))
    async with recorded_session(work) as rec:
        uri = rec.open(config)
        diags = await rec.diagnostics(
            uri, lambda d: any(x.code == "untrusted-credential-plugin" for x in d)
        )
        (diag,) = [d for d in diags if d.code == "untrusted-credential-plugin"]
        assert str(kubeconfig) in diag.message
        assert "get-token" in diag.message
    assert not marker.exists()


async def test_trusted_workspace_runs_the_plugin(clusters: DemoClusters, tmp_path: Path) -> None:
    work, config, marker = workspace_with_kubeconfig(clusters, tmp_path)
    async with recorded_session(work, init_options={"workspaceTrusted": True}) as rec:
        uri = rec.open(config)
        status = await rec.command("mirrord-ls.recheck", {"uri": uri})
        assert status["operator"] == "installed", status
        await rec.diagnostics(uri, lambda d: len(d) == 0)
    assert marker.read_text().startswith("ran")


def test_check_without_and_with_trust(clusters: DemoClusters, tmp_path: Path) -> None:
    work, config, marker = workspace_with_kubeconfig(clusters, tmp_path)
    result = run_check(str(config), "--format", "json", cwd=work)
    codes = [d["code"] for d in json.loads(result.stdout)[0]["diagnostics"]]
    assert codes == ["untrusted-kubeconfig"], result.stdout
    assert not marker.exists()
    result = run_check(str(config), "--format", "json", "--trust-workspace", cwd=work)
    assert json.loads(result.stdout)[0]["diagnostics"] == [], result.stdout
    assert result.returncode == 0
    assert marker.exists()


async def test_home_kubeconfig_runs_its_plugin(clusters: DemoClusters, tmp_path: Path) -> None:
    home = tmp_path / "home"
    marker = tmp_path / "plugin-ran"
    write_plugin_kubeconfig(clusters, home / ".kube", marker)
    work = tmp_path / "ws"
    config = work / ".mirrord" / "mirrord.json"
    config.parent.mkdir(parents=True)
    config.write_text('{"operator": true}')
    async with recorded_session(work, env={"HOME": str(home)}) as rec:
        uri = rec.open(config)
        status = await rec.command("mirrord-ls.recheck", {"uri": uri})
        assert status["operator"] == "installed", status
    assert marker.exists()
    marker.unlink()
    result = run_check(str(config), "--format", "json", cwd=work, env={"HOME": str(home)})
    assert json.loads(result.stdout)[0]["diagnostics"] == [], result.stdout
    assert marker.exists()
