"""Secrets are removed by their shape wherever text leaves the server (issue 16).

One module (`mirrord_ls.redact`) for every output: a failing plugin's stderr in a
diagnostic, a `user:pw@` in the server or proxy URL in diagnostics, hovers, the status,
command answers and DEBUG logs, over LSP and through `check`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml

from mirrord_ls.cluster.credentials import ExecPluginFailed, run_exec_plugin
from mirrord_ls.cluster.kubeconfig import ExecConfig
from mirrord_ls.redact import RedactingFilter, redact, url

from .support import recorded_session, run_check

# What a plugin printed on its way down, as seen in the issue.
STDERR_SECRETS = {
    "uuid": "3f2b8c1e-9d4a-4b7e-8c2f-1a2b3c4d5e6f",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "pass": "hunter2x",
    "password": "s3cretPW",
    "short token": "abc12x",
    "proxy password": "pw123secret",
}
STDERR = (
    f"error: subscription key {STDERR_SECRETS['uuid']} was rejected\n"
    f"AWS_ACCESS_KEY_ID={STDERR_SECRETS['aws']}\n"
    f"login pass={STDERR_SECRETS['pass']} failed\n"
    f"password: {STDERR_SECRETS['password']}\n"
    f"token {STDERR_SECRETS['short token']} expired\n"
    f"via https://admin:{STDERR_SECRETS['proxy password']}@proxy.example:3128\n"
)


@pytest.mark.parametrize("name", sorted(STDERR_SECRETS))
def test_each_shape_is_redacted(name: str) -> None:
    assert STDERR_SECRETS[name] not in redact(STDERR)


@pytest.mark.parametrize(
    "prose",
    [
        "token expired for user alice",
        "the password is wrong",
        "token file /var/run/secrets/kubernetes.io/serviceaccount/token",
        "could not connect to https://proxy.example:3128/path",
        "exit status 1: unable to get credentials",
    ],
)
def test_prose_stays_readable(prose: str) -> None:
    assert redact(prose) == prose


def test_url_user_info_goes_whole() -> None:
    assert url("https://user:pw@host:6443/x") == "https://[REDACTED]@host:6443/x"
    assert url("https://ghp_tokenonly@github.com") == "https://[REDACTED]@github.com"
    assert url("see https://host/x@y") == "see https://host/x@y"  # an @ in the path


def test_log_records_pass_the_filter() -> None:
    logger = logging.getLogger("mirrord_ls.test-redaction")
    handler = logging.Handler()
    seen: list[str] = []
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("proxy %s said %s", "http://u:p4ss@x:1", STDERR)
    finally:
        logger.removeHandler(handler)
    (message,) = seen
    assert "p4ss" not in message
    assert not any(secret in message for secret in STDERR_SECRETS.values())


async def test_a_failing_plugins_stderr_is_redacted(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{STDERR}EOF\nexit 1\n")
    plugin.chmod(0o755)
    with pytest.raises(ExecPluginFailed) as caught:
        await run_exec_plugin(
            ExecConfig(command=str(plugin), api_version="client.authentication.k8s.io/v1")
        )
    message = str(caught.value)
    assert "rejected" in message  # still says what happened
    assert not any(secret in message for secret in STDERR_SECRETS.values()), message


SERVER_PW = "PLANTED-server-pw-9Kq"
PROXY_PW = "PLANTED-proxy-pw-7Lw"


def kubeconfig_with_passwords(home: Path) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "direct", "cluster": {"server": f"https://admin:{SERVER_PW}@127.0.0.1:1"}},
            {
                "name": "proxied",
                "cluster": {
                    "server": "https://127.0.0.1:2",
                    "proxy-url": f"http://proxyuser:{PROXY_PW}@127.0.0.1:1",
                },
            },
        ],
        "users": [{"name": "u", "user": {"token": "t-Zz9"}}],
        "contexts": [
            {"name": "direct", "context": {"cluster": "direct", "user": "u"}},
            {"name": "proxied", "context": {"cluster": "proxied", "user": "u"}},
        ],
        "current-context": "direct",
    }
    path = home / ".kube" / "config"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def workspace(tmp_path: Path) -> tuple[Path, list[Path]]:
    ws = tmp_path / "ws"
    configs = []
    for context in ("direct", "proxied"):
        path = ws / f"{context}-mirrord.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"kube_context": context, "operator": True}, indent=2))
        configs.append(path)
    return ws, configs


async def test_no_url_password_over_lsp(tmp_path: Path) -> None:
    home = tmp_path / "home"
    kubeconfig_with_passwords(home)
    ws, configs = workspace(tmp_path)
    env = {"HOME": str(home), "MIRRORD_LS_LOG": "DEBUG"}
    async with recorded_session(ws, env=env) as rec:
        for path in configs:
            uri = rec.open(path)
            diags = await rec.diagnostics(
                uri, lambda d: any(x.code == "cluster-unreachable" for x in d)
            )
            for line in range(3):
                await rec.hover(uri, line, 5)
            await rec.command("mirrord-ls.showStatus", {"uri": uri})
            await rec.command("mirrord-ls.recheck", {"uri": uri})
            assert diags
        everything = rec.everything()
    assert "[REDACTED]@127.0.0.1" in everything  # the URL is shown, its password is not
    assert SERVER_PW not in everything
    assert PROXY_PW not in everything


def test_no_url_password_from_check(tmp_path: Path) -> None:
    home = tmp_path / "home"
    kubeconfig_with_passwords(home)
    ws, configs = workspace(tmp_path)
    env = {"HOME": str(home), "MIRRORD_LS_LOG": "DEBUG"}
    for fmt in ("text", "json"):
        result = run_check(*map(str, configs), "--format", fmt, env=env, cwd=ws)
        out = result.stdout + result.stderr
        assert "cluster-unreachable" in out
        assert SERVER_PW not in out and PROXY_PW not in out
