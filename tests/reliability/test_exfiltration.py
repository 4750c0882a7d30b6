"""Opening a repository is not consent to talk to its cluster (issue 16).

A repository ships a kubeconfig whose server is its author's HTTPS endpoint (a recording
server on 127.0.0.1) and whose user reads `tokenFile: ~/.ssh/id_ed25519`. Every route by
which such a kubeconfig can be chosen is tried, over LSP (the folder is opened, no file is)
and through `mirrord-ls check` run from another folder: in an untrusted workspace the
author's server sees no connection at all and the user sees `untrusted-kubeconfig`. The
same route with the workspace trusted is the control: the secret does reach the server
(so each route is a real one, and the rule is what stops it).

A templated target (`deployment/{{ get_env(...) }}`) is never sent to any cluster from an
untrusted workspace, not even the user's own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .attacker import Attacker, attacker_kubeconfig, attacker_server
from .support import recorded_session, run_check

SSH_KEY = "PLANTED-SSH-KEY-0f9a1c"
AWS_SECRET = "planted-aws-secret-5d27"


@dataclass
class Layout:
    home: Path
    ws: Path
    outside: Path
    kubeconfig: Path  # the author's kubeconfig, inside the workspace


def layout(tmp_path: Path, attacker: Attacker) -> Layout:
    home, ws, outside = tmp_path / "home", tmp_path / "ws", tmp_path / "outside"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(SSH_KEY)
    (ws / "kube").mkdir(parents=True)
    (ws / ".git").mkdir()
    outside.mkdir()
    text = attacker_kubeconfig(attacker, home / ".ssh" / "id_ed25519")
    kubeconfig = ws / "kube" / "config"
    kubeconfig.write_text(text)
    (outside / "config").write_text(text)
    return Layout(home, ws, outside, kubeconfig)


def config(ws: Path, relative: str, body: dict[str, object]) -> Path:
    path = ws / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**body, "operator": True}, indent=2))
    return path


@dataclass
class Route:
    name: str
    # Writes the configs, returns them and the environment of the server / `check`.
    setup: Callable[[Layout], tuple[list[Path], dict[str, str]]]


def _field(value: Callable[[Layout], str]) -> Callable[[Layout], tuple[list[Path], dict[str, str]]]:
    def setup(lay: Layout) -> tuple[list[Path], dict[str, str]]:
        return [config(lay.ws, ".mirrord/mirrord.json", {"kubeconfig": value(lay)})], {}

    return setup


def _env(
    name: str, value: Callable[[Layout], str]
) -> Callable[[Layout], tuple[list[Path], dict[str, str]]]:
    def setup(lay: Layout) -> tuple[list[Path], dict[str, str]]:
        return [config(lay.ws, ".mirrord/mirrord.json", {})], {name: value(lay)}

    return setup


def _home_symlink(lay: Layout) -> tuple[list[Path], dict[str, str]]:
    (lay.home / ".kube").mkdir()
    (lay.home / ".kube" / "config").symlink_to(lay.kubeconfig)
    return [config(lay.ws, ".mirrord/mirrord.json", {})], {}


def _outside_symlink(lay: Layout) -> tuple[list[Path], dict[str, str]]:
    (lay.outside / "link").symlink_to(lay.kubeconfig)
    return [config(lay.ws, ".mirrord/mirrord.json", {})], {"KUBECONFIG": str(lay.outside / "link")}


ROUTES = [
    Route("config field, relative", _field(lambda lay: "./kube/config")),
    Route("config field, absolute into the workspace", _field(lambda lay: str(lay.kubeconfig))),
    # Relative, leaving the workspace: whoever wrote the config chose the file.
    Route("config field, relative out of the workspace", _field(lambda lay: "../outside/config")),
    Route("KUBECONFIG, relative entry", _env("KUBECONFIG", lambda lay: "kube/config")),
    Route(
        "KUBECONFIG, second entry into the workspace",
        _env(
            "KUBECONFIG",
            lambda lay: f"{lay.home / 'missing'}{os.pathsep}{lay.kubeconfig}",
        ),
    ),
    Route("KUBECONFIG, symlink into the workspace", _outside_symlink),
    Route("~/.kube/config, symlink into the workspace", _home_symlink),
    Route(
        "MIRRORD_KUBECONFIG into the workspace",
        _env("MIRRORD_KUBECONFIG", lambda lay: str(lay.kubeconfig)),
    ),
]


def _base_env(lay: Layout) -> dict[str, str]:
    return {"HOME": str(lay.home)}


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
async def test_lsp_untrusted_workspace_never_reaches_its_server(
    route: Route, tmp_path: Path
) -> None:
    with attacker_server() as attacker:
        lay = layout(tmp_path, attacker)
        configs, env = route.setup(lay)
        async with recorded_session(lay.ws, env={**_base_env(lay), **env}) as rec:
            for path in configs:
                diags = await rec.diagnostics(
                    path.as_uri(), lambda d: any(x.code == "untrusted-kubeconfig" for x in d)
                )
                (diag,) = [d for d in diags if d.code == "untrusted-kubeconfig"]
                assert "not trusted" in diag.message
                assert "mirrordLs.trustWorkspaceKubeconfigs" in diag.message
                # A forced re-check does not reach it either.
                await rec.command("mirrord-ls.recheck", {"uri": path.as_uri()})
            everything = rec.everything()
        assert attacker.connections == 0, attacker.everything()
        assert SSH_KEY not in everything


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_check_untrusted_then_trusted(route: Route, tmp_path: Path) -> None:
    with attacker_server() as attacker:
        lay = layout(tmp_path, attacker)
        configs, env = route.setup(lay)
        env = {**_base_env(lay), **env}
        # Run from the workspace: relative values resolve there, as for mirrord.
        result = run_check(*map(str, configs), "--format", "json", env=env, cwd=lay.ws)
        for entry in json.loads(result.stdout):
            codes = [d["code"] for d in entry["diagnostics"]]
            assert codes == ["untrusted-kubeconfig"], result.stdout
        assert attacker.connections == 0, attacker.everything()
        assert SSH_KEY not in result.stdout + result.stderr
        # The control: trusted, the same route hands the key to the author's server.
        run_check(*map(str, configs), "--trust-workspace", env=env, cwd=lay.ws)
        assert any(r.authorization == f"Bearer {SSH_KEY}" for r in attacker.requests)


def test_check_trust_root_is_the_checked_workspace_not_the_current_folder(
    tmp_path: Path,
) -> None:
    """`check` run from the home folder on a repository elsewhere still distrusts it."""
    with attacker_server() as attacker:
        lay = layout(tmp_path, attacker)
        path = config(lay.ws, "deploy/app-mirrord.json", {"kubeconfig": str(lay.kubeconfig)})
        result = run_check(str(path), "--format", "json", env=_base_env(lay), cwd=lay.home)
        codes = [d["code"] for d in json.loads(result.stdout)[0]["diagnostics"]]
        assert codes == ["untrusted-kubeconfig"], result.stdout
        # A folder given to `check` is a workspace too (no version control here).
        (lay.ws / ".git").rmdir()
        result = run_check(str(lay.ws), "--format", "json", env=_base_env(lay), cwd=lay.home)
        codes = [d["code"] for d in json.loads(result.stdout)[0]["diagnostics"]]
        assert codes == ["untrusted-kubeconfig"], result.stdout
        assert attacker.connections == 0, attacker.everything()


def _own_kubeconfig(lay: Layout, attacker: Attacker) -> None:
    """The user's own ~/.kube/config, naming (here) the recording server."""
    (lay.home / ".kube").mkdir()
    (lay.home / ".kube" / "token").write_text("users-own-token")
    (lay.home / ".kube" / "config").write_text(
        attacker_kubeconfig(attacker, lay.home / ".kube" / "token")
    )


TEMPLATED = {"target": "deployment/{{ get_env(name='AWS_SECRET_ACCESS_KEY') }}"}


async def test_lsp_templated_target_never_leaves(tmp_path: Path) -> None:
    with attacker_server() as attacker:
        lay = layout(tmp_path, attacker)
        _own_kubeconfig(lay, attacker)
        path = config(lay.ws, ".mirrord/mirrord.json", TEMPLATED)
        env = {**_base_env(lay), "AWS_SECRET_ACCESS_KEY": AWS_SECRET}
        async with recorded_session(lay.ws, env=env) as rec:
            diags = await rec.diagnostics(
                path.as_uri(), lambda d: any(x.code == "untrusted-template" for x in d)
            )
            (diag,) = [d for d in diags if d.code == "untrusted-template"]
            assert diag.severity == 3  # information
            await rec.command("mirrord-ls.recheck", {"uri": path.as_uri()})
        # The user's own cluster was asked about the operator, never about the target.
        assert attacker.requests
        assert AWS_SECRET not in attacker.everything()


def test_check_templated_target_never_leaves_unless_trusted(tmp_path: Path) -> None:
    with attacker_server() as attacker:
        lay = layout(tmp_path, attacker)
        _own_kubeconfig(lay, attacker)
        path = config(lay.ws, ".mirrord/mirrord.json", TEMPLATED)
        env = {**_base_env(lay), "AWS_SECRET_ACCESS_KEY": AWS_SECRET}
        result = run_check(str(path), "--format", "json", env=env, cwd=lay.home)
        codes = [d["code"] for d in json.loads(result.stdout)[0]["diagnostics"]]
        assert "untrusted-template" in codes, result.stdout
        assert attacker.requests
        assert AWS_SECRET not in attacker.everything()
        run_check(str(path), "--trust-workspace", env=env, cwd=lay.home)
        assert AWS_SECRET in attacker.everything()  # the control: the route is real
