"""Our merge and resolution, compared with the real kubectl on the same files.

kubectl is the reference users trust (``kubectl config view`` / ``current-context``); these
tests run it with HOME in tmp_path and the same KUBECONFIG list, and compare. Skipped when
kubectl is not installed.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from mirrord_ls.cluster.kubeconfig import (
    ClusterNotFound,
    ContextNotFound,
    KubeconfigError,
    MergedKubeconfig,
    NoCurrentContext,
    ResolvedCluster,
    UserNotFound,
    kubeconfig_paths,
    load_kubeconfig_file,
    load_merged,
    resolve,
)

from .helpers import FIXTURES, KubectlRunner, kubectl_json

SEP = os.pathsep

SCENARIOS = {
    # Overlapping names, current-context only in the 2nd file, missing and empty entries,
    # a duplicate entry, an empty list element.
    "overlap": f"first.yaml{SEP}missing.yaml{SEP}{SEP}nested/second.yaml{SEP}third.yaml"
    f"{SEP}empty.yaml{SEP}first.yaml",
    "reversed": f"third.yaml{SEP}nested/second.yaml{SEP}first.yaml",
    "second-first": f"nested/second.yaml{SEP}first.yaml",
    "only-first": "first.yaml",
    "nothing-there": f"empty.yaml{SEP}missing.yaml",
    "only-separators": SEP,
}


def _merged(merge_dir: Path, kubeconfig: str) -> MergedKubeconfig:
    source = kubeconfig_paths(None, None, {"KUBECONFIG": kubeconfig}, merge_dir, cwd=merge_dir)
    return load_merged(source)


def _relative_to(raw: str | None, origin: Path) -> str | None:
    # kubectl config view prints paths as written; resolve them the way the file means them.
    if not raw:
        return None
    return os.path.normpath(os.path.join(origin.parent, raw))


def _b64(raw: str | None) -> bytes | None:
    return base64.b64decode(raw) if raw else None


def _kubectl_view(view: dict[str, Any], merged: MergedKubeconfig) -> dict[str, Any]:
    clusters = {}
    for item in view.get("clusters") or []:
        c = item["cluster"]
        origin = merged.clusters[item["name"]].origin
        clusters[item["name"]] = {
            "server": c.get("server", ""),
            "ca": _relative_to(c.get("certificate-authority"), origin),
            "ca-data": _b64(c.get("certificate-authority-data")),
            "insecure": c.get("insecure-skip-tls-verify", False),
            "tls-server-name": c.get("tls-server-name"),
            "proxy-url": c.get("proxy-url"),
        }
    users = {}
    for item in view.get("users") or []:
        u = item["user"]
        origin = merged.users[item["name"]].origin
        ex = u.get("exec")
        exec_view = None
        if ex is not None:
            command = ex["command"]
            if os.sep in command:
                command = _relative_to(command, origin)
            exec_view = {
                "command": command,
                "args": tuple(ex.get("args") or ()),
                "env": tuple((e["name"], e["value"]) for e in ex.get("env") or ()),
                "apiVersion": ex.get("apiVersion", ""),
                "provideClusterInfo": ex.get("provideClusterInfo", False),
                "installHint": ex.get("installHint"),
                "interactiveMode": ex.get("interactiveMode"),
            }
        users[item["name"]] = {
            "token": u.get("token"),
            "tokenFile": _relative_to(u.get("tokenFile"), origin),
            "client-certificate": _relative_to(u.get("client-certificate"), origin),
            "client-key": _relative_to(u.get("client-key"), origin),
            "client-certificate-data": _b64(u.get("client-certificate-data")),
            "client-key-data": _b64(u.get("client-key-data")),
            "username": u.get("username"),
            "password": u.get("password"),
            "exec": exec_view,
        }
    contexts = {
        item["name"]: {
            "cluster": item["context"].get("cluster", ""),
            "user": item["context"].get("user", ""),
            "namespace": item["context"].get("namespace"),
        }
        for item in view.get("contexts") or []
    }
    return {
        "clusters": clusters,
        "users": users,
        "contexts": contexts,
        "current-context": view.get("current-context") or None,
    }


def _our_view(merged: MergedKubeconfig) -> dict[str, Any]:
    def p(path: Path | None) -> str | None:
        return str(path) if path is not None else None

    users = {}
    for name, u in merged.users.items():
        ex = u.exec
        users[name] = {
            "token": u.token.reveal() if u.token else None,
            "tokenFile": p(u.token_file),
            "client-certificate": p(u.client_certificate),
            "client-key": p(u.client_key),
            "client-certificate-data": u.client_certificate_data.reveal()
            if u.client_certificate_data
            else None,
            "client-key-data": u.client_key_data.reveal() if u.client_key_data else None,
            "username": u.username,
            "password": u.password.reveal() if u.password else None,
            "exec": None
            if ex is None
            else {
                "command": ex.command,
                "args": ex.args,
                "env": tuple((e.name, e.value) for e in ex.env),
                "apiVersion": ex.api_version,
                "provideClusterInfo": ex.provide_cluster_info,
                "installHint": ex.install_hint,
                "interactiveMode": ex.interactive_mode,
            },
        }
    return {
        "clusters": {
            name: {
                "server": c.server,
                "ca": p(c.certificate_authority),
                "ca-data": c.certificate_authority_data,
                "insecure": c.insecure_skip_tls_verify,
                "tls-server-name": c.tls_server_name,
                "proxy-url": c.proxy_url,
            }
            for name, c in merged.clusters.items()
        },
        "users": users,
        "contexts": {
            name: {"cluster": c.cluster, "user": c.user, "namespace": c.namespace}
            for name, c in merged.contexts.items()
        },
        "current-context": merged.current_context,
    }


@pytest.mark.parametrize("kubeconfig", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_merged_view_matches_kubectl(
    kubectl: KubectlRunner, merge_dir: Path, kubeconfig: str
) -> None:
    merged = _merged(merge_dir, kubeconfig)
    assert not merged.errors
    view = kubectl_json(
        kubectl("config", "view", "--raw", "-o", "json", kubeconfig=kubeconfig, cwd=merge_dir)
    )
    # Same names first, so a mismatch reads clearly before the field-by-field comparison.
    for section in ("clusters", "users", "contexts"):
        assert sorted(i["name"] for i in view.get(section) or []) == sorted(
            getattr(merged, section)
        )
    assert _our_view(merged) == _kubectl_view(view, merged)


@pytest.mark.parametrize("kubeconfig", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_current_context_matches_kubectl(
    kubectl: KubectlRunner, merge_dir: Path, kubeconfig: str
) -> None:
    merged = _merged(merge_dir, kubeconfig)
    result = kubectl("config", "current-context", kubeconfig=kubeconfig, cwd=merge_dir)
    if merged.current_context is None:
        assert result.returncode != 0
        assert "current-context is not set" in result.stderr
        assert isinstance(resolve(merged, None), NoCurrentContext)
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == merged.current_context


@pytest.mark.parametrize("kubeconfig", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_relative_paths_read_the_same_files_as_kubectl(
    kubectl: KubectlRunner, merge_dir: Path, kubeconfig: str
) -> None:
    """--flatten makes kubectl read the CA, certificate and key files: same bytes as ours."""
    merged = _merged(merge_dir, kubeconfig)
    flat = kubectl_json(
        kubectl(
            "config",
            "view",
            "--raw",
            "--flatten",
            "-o",
            "json",
            kubeconfig=kubeconfig,
            cwd=merge_dir,
        )
    )
    for item in flat.get("clusters") or []:
        ours = merged.clusters[item["name"]]
        expected = ours.certificate_authority_data or (
            ours.certificate_authority.read_bytes() if ours.certificate_authority else None
        )
        assert _b64(item["cluster"].get("certificate-authority-data")) == expected
    for item in flat.get("users") or []:
        user = merged.users[item["name"]]
        for key, path, data in (
            ("client-certificate-data", user.client_certificate, user.client_certificate_data),
            ("client-key-data", user.client_key, user.client_key_data),
        ):
            expected = data.reveal() if data else (path.read_bytes() if path else None)
            assert _b64(item["user"].get(key)) == expected


@pytest.mark.parametrize("kubeconfig", [SCENARIOS["overlap"], SCENARIOS["reversed"]])
def test_each_context_resolves_like_kubectl_minify(
    kubectl: KubectlRunner, merge_dir: Path, kubeconfig: str
) -> None:
    merged = _merged(merge_dir, kubeconfig)
    for name in [*merged.contexts, "no-such-context"]:
        result = kubectl(
            "config",
            "view",
            "--minify",
            "--raw",
            "-o",
            "json",
            "--context",
            name,
            kubeconfig=kubeconfig,
            cwd=merge_dir,
        )
        ours = resolve(merged, name)
        if result.returncode != 0:
            expected = {
                "cannot locate cluster": ClusterNotFound,
                "cannot locate user": UserNotFound,
                "cannot locate context": ContextNotFound,
            }
            kinds = [cls for text, cls in expected.items() if text in result.stderr]
            assert kinds, result.stderr
            assert isinstance(ours, kinds[0]), (name, ours)
            continue
        view = kubectl_json(result)
        assert isinstance(ours, ResolvedCluster), (name, ours)
        (cluster,) = view["clusters"]
        assert ours.cluster_name == cluster["name"]
        assert ours.server == cluster["cluster"]["server"]
        (context,) = view["contexts"]
        assert ours.namespace == context["context"].get("namespace", "default")
        users = view.get("users") or []
        assert ours.user_name == (users[0]["name"] if users else "")


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "invalid").glob("*.yaml")))
def test_files_we_reject_kubectl_rejects(kubectl: KubectlRunner, name: str) -> None:
    path = FIXTURES / "invalid" / name
    assert isinstance(load_kubeconfig_file(path), KubeconfigError)
    result = kubectl("config", "view", "-o", "json", kubeconfig=str(path), cwd=path.parent)
    assert result.returncode != 0
    assert "error loading config file" in result.stderr


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "quirks").glob("*.yaml")))
def test_quirks_kubectl_accepts_are_warnings_not_errors(kubectl: KubectlRunner, name: str) -> None:
    path = FIXTURES / "quirks" / name
    merged = load_merged([path])
    assert not merged.errors and merged.warnings
    view = kubectl_json(
        kubectl("config", "view", "--raw", "-o", "json", kubeconfig=str(path), cwd=path.parent)
    )
    assert _our_view(merged) == _kubectl_view(view, merged)


def test_exec_command_resolves_like_kubectl(
    kubectl: KubectlRunner, merge_dir: Path, tmp_path: Path
) -> None:
    """A command with a path separator is relative to its kubeconfig's folder, not the cwd."""
    # kubectl only runs the plugin for an https server it can dial; nothing listens on
    # 127.0.0.1:1, so it runs the plugin and then fails to connect.
    kubeconfig = merge_dir / "nested" / "exec-test.yaml"
    kubeconfig.write_text(
        "clusters:\n"
        "- name: c\n"
        "  cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}\n"
        "users:\n"
        "- name: u\n"
        "  user:\n"
        "    exec:\n"
        "      apiVersion: client.authentication.k8s.io/v1\n"
        "      command: ./bin/plugin.sh\n"
        "      interactiveMode: Never\n"
        "contexts:\n"
        "- name: x\n"
        "  context: {cluster: c, user: u}\n"
    )
    marker = tmp_path / "ran-from"
    kubectl(
        "--context", "x", "get", "--raw", "/version", "--request-timeout=5s",
        kubeconfig=str(kubeconfig), cwd=tmp_path, extra_env={"PLUGIN_MARKER": str(marker)},
    )  # fmt: skip
    assert marker.exists(), "kubectl did not run the plugin"
    loaded = load_kubeconfig_file(kubeconfig)
    assert not isinstance(loaded, KubeconfigError)
    exec_config = loaded.users["u"].exec
    assert exec_config is not None
    assert Path(marker.read_text().strip()).resolve() == Path(exec_config.command).resolve()
