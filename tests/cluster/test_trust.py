"""Workspace trust, as pure decisions: which kubeconfig files an untrusted workspace controls."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mirrord_ls.cluster.kubeconfig import KubeconfigOrigin, kubeconfig_paths
from mirrord_ls.cluster.trust import (
    TrustPolicy,
    kubeconfig_trust,
    workspace_root_of,
)


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    home, ws, other = tmp_path / "home", tmp_path / "ws", tmp_path / "other"
    for folder in (home / ".kube", ws / "kube", ws / ".mirrord", other):
        folder.mkdir(parents=True)
    for path in (home / ".kube" / "config", ws / "kube" / "config", other / "config"):
        path.write_text("apiVersion: v1\nkind: Config\n")
    return {"home": home, "ws": ws, "other": other}


def judge(tree: dict[str, Path], value: str | None, env: dict[str, str]) -> str | None:
    source = kubeconfig_paths(value, tree["ws"], env, tree["home"], cwd=tree["ws"])
    found = kubeconfig_trust(source, [tree["ws"]], trusted=False, home=tree["home"])
    return None if found is None else found.reason


@pytest.mark.parametrize(
    ("value", "env", "verdict"),
    [
        (None, {}, None),  # ~/.kube/config
        ("~/.kube/config", {}, None),
        ("$HOME/.kube/config", {}, None),
        ("OTHER/config", {}, None),  # absolute, outside the workspace
        ("./kube/config", {}, "inside the workspace"),
        ("WS/kube/config", {}, "inside the workspace"),
        ("../other/config", {}, "relative path"),
        (None, {"KUBECONFIG": "kube/config"}, "inside the workspace"),
        (None, {"KUBECONFIG": "../other/config"}, "relative path"),
        (None, {"KUBECONFIG": "OTHER/config"}, None),
        (None, {"KUBECONFIG": f"OTHER/missing{os.pathsep}WS/kube/config"}, "inside"),
        (None, {"KUBECONFIG": "WS/kube/missing"}, None),  # never read: kubectl skips it
        (None, {"MIRRORD_KUBECONFIG": "WS/kube/config"}, "inside the workspace"),
        (None, {"MIRRORD_KUBECONFIG": "../home/.kube/config"}, None),  # the user's own
    ],
)
def test_which_kubeconfigs_an_untrusted_workspace_controls(
    tree: dict[str, Path], value: str | None, env: dict[str, str], verdict: str | None
) -> None:
    def fill(text: str) -> str:
        return text.replace("WS", str(tree["ws"])).replace("OTHER", str(tree["other"]))

    env = {"HOME": str(tree["home"]), **{k: fill(v) for k, v in env.items()}}
    reason = judge(tree, fill(value) if value else None, env)
    if verdict is None:
        assert reason is None
    else:
        assert reason is not None and verdict in reason


def test_symlinks_are_judged_by_where_they_lead(tree: dict[str, Path]) -> None:
    link = tree["other"] / "link"
    link.symlink_to(tree["ws"] / "kube" / "config")
    reason = judge(tree, None, {"KUBECONFIG": str(link)})
    assert reason is not None and "symlink into the workspace" in reason
    # ~/.kube/config itself pointing into the workspace is no longer the user's own file.
    home_config = tree["home"] / ".kube" / "config"
    home_config.unlink()
    home_config.symlink_to(tree["ws"] / "kube" / "config")
    reason = judge(tree, None, {})
    assert reason is not None and "symlink" in reason
    # A workspace link to the user's own file is the user's file.
    (tree["ws"] / "mine").symlink_to(tree["other"] / "config")
    assert judge(tree, None, {"KUBECONFIG": str(tree["other"] / "config")}) is None


def test_trusted_workspace_uses_everything(tree: dict[str, Path]) -> None:
    source = kubeconfig_paths("./kube/config", tree["ws"], {}, tree["home"], cwd=tree["ws"])
    assert source.origin is KubeconfigOrigin.CONFIG_FIELD
    assert kubeconfig_trust(source, [tree["ws"]], trusted=True, home=tree["home"]) is None


def test_the_home_folder_as_workspace_keeps_kube_config(tree: dict[str, Path]) -> None:
    source = kubeconfig_paths(None, None, {}, tree["home"], cwd=tree["home"])
    assert kubeconfig_trust(source, [tree["home"]], trusted=False, home=tree["home"]) is None
    policy = TrustPolicy.for_workspace([tree["home"]], source, trusted=False, home=tree["home"])
    assert policy.allows(tree["home"] / ".kube" / "config")
    assert not policy.allows_reading(tree["home"] / "elsewhere" / "config")


def test_workspace_root_of_a_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    repo = home / "src" / "repo"
    (repo / "deploy" / ".mirrord").mkdir(parents=True)
    assert workspace_root_of(repo / "deploy" / ".mirrord" / "x.json", home) == repo / "deploy"
    assert workspace_root_of(repo / "deploy" / "app-mirrord.json", home) == repo / "deploy"
    (repo / ".git").mkdir()
    assert workspace_root_of(repo / "deploy" / ".mirrord" / "x.json", home) == repo
    # A repository at the home folder (dotfiles) is not taken as every config's workspace.
    (home / ".git").mkdir()
    (repo / ".git").rmdir()
    assert workspace_root_of(repo / "deploy" / "app-mirrord.json", home) == repo / "deploy"
