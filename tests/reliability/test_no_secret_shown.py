"""No secret ever shown: recognizable secrets planted in a kubeconfig never reach any output.

Secrets: bearer tokens (valid, forbidden, rejected), a basic-auth password, client key and
certificate data, a token printed by an exec plugin, and a token an exec plugin prints on
stderr when it fails. Outputs: everything the server sends over LSP (diagnostics, hovers on
every key, showStatus, `mirrord/status`, logMessage, showMessage), its stderr at DEBUG, and
`mirrord-ls check` in text and JSON (stdout and stderr, DEBUG logging).
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from mirrord_ls.loopback.scenarios import DemoClusters

from .support import recorded_session, run_check

VALID = "SECRET-TOKEN-valid-Qx7Lm2Pz9Wv"
FORBIDDEN = "SECRET-TOKEN-forbidden-Rt5Nb8Kd"
REJECTED = "SECRET-TOKEN-rejected-Hy3Gf6Js"
EXEC_OUT = "SECRET-TOKEN-exec-Vc4Xz1Ua"
EXEC_ERR = "SECRET-TOKEN-stderr-Bn7Mq2Wp"
EXEC_ERR_PLAIN = "SECRET-TOKEN-stderr-plainwordsonly"
PASSWORD = "SECRET-PASSWORD-Lk9Oi8Uy"
KEY_DATA = "SECRET-KEY-DATA-Ws2Ed3Rf"
CERT_DATA = "SECRET-CERT-DATA-Tg5Yh6Uj"
SECRETS = [VALID, FORBIDDEN, REJECTED, EXEC_OUT, EXEC_ERR, PASSWORD, KEY_DATA, CERT_DATA]

CONTEXTS = {
    "valid": {"token": VALID},
    "forbidden-token": {"token": FORBIDDEN},
    "rejected": {"token": REJECTED},
    "basic": {"username": "alice", "password": PASSWORD},
    "client-data": {
        "client-certificate-data": base64.b64encode(
            f"-----BEGIN CERTIFICATE-----\n{CERT_DATA}\n-----END CERTIFICATE-----\n".encode()
        ).decode(),
        "client-key-data": base64.b64encode(
            f"-----BEGIN PRIVATE KEY-----\n{KEY_DATA}\n-----END PRIVATE KEY-----\n".encode()
        ).decode(),
    },
    "exec-ok": "exec-ok",
    "exec-fails": "exec-fails",
}


def plugin(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def write_kubeconfig(clusters: DemoClusters, folder: Path) -> Path:
    healthy = clusters.server_for("healthy")
    assert healthy is not None
    healthy.add_token(VALID, "alice")
    healthy.add_token(FORBIDDEN, "bob")
    healthy.add_token(EXEC_OUT, "alice")
    folder.mkdir(parents=True, exist_ok=True)
    ok = plugin(
        folder / "plugin-ok",
        "cat <<EOF\n"
        + json.dumps(
            {
                "apiVersion": "client.authentication.k8s.io/v1",
                "kind": "ExecCredential",
                "status": {"token": EXEC_OUT},
            }
        )
        + "\nEOF\n",
    )
    fails = plugin(
        folder / "plugin-fails",
        f"echo 'refreshing token {EXEC_ERR_PLAIN}' >&2\n"
        f"echo 'error: token {EXEC_ERR} expired' >&2\n"
        f"echo 'Authorization: Bearer {EXEC_ERR}' >&2\n"
        f"echo 'password={PASSWORD} token: \"{EXEC_ERR}\"' >&2\n"
        "exit 3\n",
    )
    users: list[dict[str, Any]] = []
    for name, user in CONTEXTS.items():
        if user == "exec-ok" or user == "exec-fails":
            user = {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": ok if name == "exec-ok" else fails,
                    "args": ["--token-arg", "x"],
                    "interactiveMode": "Never",
                }
            }
        users.append({"name": f"u-{name}", "user": user})
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "healthy",
                "cluster": {
                    "server": healthy.url,
                    "certificate-authority-data": base64.b64encode(healthy.ca_pem).decode(),
                },
            }
        ],
        "users": users,
        "contexts": [
            {"name": n, "context": {"cluster": "healthy", "user": f"u-{n}"}} for n in CONTEXTS
        ],
        "current-context": "valid",
    }
    path = folder / "config"
    path.write_text(yaml.safe_dump(doc))
    return path


def assert_no_secret(text: str, where: str) -> None:
    for secret in [*SECRETS, EXEC_ERR_PLAIN]:
        assert secret not in text, f"{secret} shown in {where}"
    for secret in SECRETS:
        encoded = base64.b64encode(secret.encode()).decode()[:16]
        assert encoded not in text, f"base64 of {secret} shown in {where}"


def configs(work: Path) -> list[Path]:
    out = []
    for name in CONTEXTS:
        path = work / ".mirrord" / f"{name}.mirrord.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {"kube_context": name, "operator": True, "target": "deployment/web"}, indent=2
            )
        )
        out.append(path)
    return out


async def test_no_secret_over_lsp_or_stderr(clusters: DemoClusters, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(clusters, tmp_path / "home" / ".kube")
    work = tmp_path / "ws"
    paths = configs(work)
    async with recorded_session(
        work,
        settings={"cluster": {"timeoutSeconds": 5}},
        env={"KUBECONFIG": str(kubeconfig), "MIRRORD_LS_LOG": "DEBUG"},
    ) as rec:
        uris = {p.stem.removesuffix(".mirrord"): rec.open(p) for p in paths}
        expected = {
            "valid": None,
            "forbidden-token": "operator-forbidden",
            "rejected": "cluster-auth-failed",
            "basic": "cluster-auth-failed",
            "client-data": None,  # whatever it is: the data is not a usable certificate
            "exec-ok": None,
            "exec-fails": "cluster-auth-failed",
        }
        for name, uri in uris.items():
            code = expected[name]
            if code is None:
                diags = await rec.diagnostics(uri)
            else:
                diags = await rec.diagnostics(uri, lambda d, c=code: any(x.code == c for x in d))
            # Hover on every key and value of the file.
            lines = (work / ".mirrord" / f"{name}.mirrord.json").read_text().splitlines()
            for line, row in enumerate(lines):
                for character in range(1, len(row), 3):
                    await rec.hover(uri, line, character)
            rec.lsp.protocol.notify("mirrord/activeDocument", {"uri": uri})
            await rec.command("mirrord-ls.showStatus")
            assert diags is not None
        await rec.command("mirrord-ls.recheck")
        await rec.command("mirrord-ls.showStatus")
        for d in rec.lsp.diagnostics.get(uris["exec-fails"], []):
            if d.code == "cluster-auth-failed":
                assert "plugin-fails" in d.message
    assert any("DEBUG" in line for line in rec.stderr)
    assert_no_secret(rec.everything(), "LSP traffic or server stderr")
    assert_no_secret(repr(rec.lsp.log_messages) + repr(rec.lsp.messages), "window messages")


def test_no_secret_in_check_output(clusters: DemoClusters, tmp_path: Path) -> None:
    kubeconfig = write_kubeconfig(clusters, tmp_path / "home" / ".kube")
    work = tmp_path / "ws"
    configs(work)
    env = {"KUBECONFIG": str(kubeconfig), "MIRRORD_LS_LOG": "DEBUG"}
    for fmt in ("text", "json"):
        result = run_check(str(work), "--format", fmt, env=env, cwd=work)
        assert result.returncode == 1, result.stderr
        assert "cluster-auth-failed" in result.stdout
        assert_no_secret(result.stdout + result.stderr, f"check --format {fmt}")


def test_no_secret_in_check_of_the_demo_scenarios(clusters: DemoClusters, tmp_path: Path) -> None:
    """The demo's own kubeconfig (real loopback tokens and keys): none of them is shown."""
    doc = yaml.safe_load(clusters.kubeconfig.read_text())
    secrets = []
    for user in doc["users"]:
        for key in ("token", "client-key-data", "client-certificate-data"):
            if user["user"].get(key):
                secrets.append(user["user"][key])
                if key != "token":
                    secrets.append(base64.b64decode(user["user"][key]).decode()[40:80])
    assert secrets
    work = tmp_path / "ws"
    work.mkdir()
    for scenario in clusters.scenarios:
        (work / f"{scenario.context}-mirrord.json").write_text(
            json.dumps({"kube_context": scenario.context})
        )
    env = {"KUBECONFIG": str(clusters.kubeconfig), "MIRRORD_LS_LOG": "DEBUG"}
    for fmt in ("text", "json"):
        result = run_check(str(work), "--format", fmt, env=env, cwd=work)
        out = result.stdout + result.stderr
        assert "operator-forbidden" in out
        for secret in secrets:
            assert secret not in out, f"a kubeconfig secret shown by check --format {fmt}"
    assert os.environ.get("KUBECONFIG") is None


def test_scrubbing_a_token_after_a_bare_word() -> None:
    from mirrord_ls.cluster.credentials import scrub_secrets

    assert EXEC_ERR_PLAIN not in scrub_secrets(f"refreshing token {EXEC_ERR_PLAIN}")
    # Prose and paths after the word stay readable.
    for prose in ("token expired for user alice", "token file /var/run/secrets/x/token"):
        assert scrub_secrets(prose) == prose
