"""Credentials at the connection layer, against the loopback API server over real HTTPS.

Credentials are a provider consulted before each request (issue 11): a rotated `tokenFile`
and an exec plugin's expired or revoked token are picked up, a 401 is retried once with
fresh credentials (never for a static token), impersonation headers follow `as`,
`as-groups` and `as-uid`, and a client key never stays on disk.
"""

from __future__ import annotations

import base64
import os
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mirrord_ls.cluster.api import ApiConnection
from mirrord_ls.cluster.credentials import (
    CertificateFileError,
    ClientCertificate,
    CredentialProvider,
    TrustPolicy,
)
from mirrord_ls.cluster.kubeconfig import SecretBytes
from mirrord_ls.cluster.tls import FOLDER_PREFIX, client_context, remove_stale_folders
from mirrord_ls.loopback import LoopbackApiServer, rule

from .apihelpers import resolve, write_kubeconfig

REVIEW = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
TRUSTED = TrustPolicy(trusted=True)


async def whoami(conn: ApiConnection) -> dict[str, object]:
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    response = await conn.request("POST", REVIEW, body=body, timeout=10)
    assert response.status == 201, (response.status, response.body[:200])
    info = response.json()["status"]["userInfo"]
    assert isinstance(info, dict)
    return info


def connection(path: Path) -> tuple[ApiConnection, CredentialProvider]:
    cluster = resolve(path)
    provider = CredentialProvider(cluster, trust=TRUSTED)
    return ApiConnection(cluster, provider, accept_invalid_certificates=False), provider


def replace_file(path: Path, text: str) -> None:
    """Rotate as kubelet does: a new file moved over the old one."""
    fresh = path.with_suffix(".new")
    fresh.write_text(text)
    os.replace(fresh, path)


async def test_a_rotated_token_file_is_picked_up(tmp_path: Path) -> None:
    with LoopbackApiServer() as server:
        alice, bob = server.add_user("alice"), server.add_user("bob")
        assert alice.token and bob.token
        token = tmp_path / "token"
        token.write_text(alice.token)
        path = write_kubeconfig(
            tmp_path / "kc", server.url, server.ca_pem, {"tokenFile": str(token)}
        )
        conn, provider = connection(path)
        try:
            assert (await whoami(conn))["username"] == "alice"
            server.revoke_token(alice.token)
            replace_file(token, bob.token)
            assert (await whoami(conn))["username"] == "bob"
            # Noticed by the file's change, not by a 401.
            assert server.log.count(status=401) == 0
            assert provider.fetches == 2
            # An in-place rewrite after a 401 is picked up by the retry.
            server.revoke_token(bob.token)
            carol = server.add_user("carol")
            assert carol.token
            token.write_text(carol.token)
            assert (await whoami(conn))["username"] == "carol"
        finally:
            await conn.aclose()


def counting_plugin(folder: Path, tokens: list[str], expires_in: float | None = None) -> Path:
    """A plugin answering tokens[n] on its n-th run (the last one after), counting runs."""
    folder.mkdir(parents=True, exist_ok=True)
    runs = folder / "runs"
    expiry = ""
    if expires_in is not None:
        expiry = (
            "status['expirationTimestamp'] = (datetime.datetime.now(datetime.UTC)"
            f" + datetime.timedelta(seconds={expires_in})).strftime('%Y-%m-%dT%H:%M:%SZ')\n"
        )
    plugin = folder / "plugin.py"
    plugin.write_text(
        f"#!{sys.executable}\nimport datetime, json, os\n"
        f"runs = {str(runs)!r}\n"
        "n = len(open(runs).read()) if os.path.exists(runs) else 0\n"
        "open(runs, 'a').write('x')\n"
        f"tokens = {tokens!r}\n"
        "status = {'token': tokens[min(n, len(tokens) - 1)]}\n"
        f"{expiry}"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1',"
        " 'kind': 'ExecCredential', 'status': status}))\n"
    )
    plugin.chmod(0o755)
    return plugin


def exec_user(plugin: Path) -> dict[str, object]:
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": str(plugin),
            "interactiveMode": "Never",
        }
    }


def runs(plugin: Path) -> int:
    counter = plugin.parent / "runs"
    return len(counter.read_text()) if counter.exists() else 0


async def test_a_revoked_exec_token_is_fetched_again_once(tmp_path: Path) -> None:
    with LoopbackApiServer() as server:
        server.add_token("exec-token-one-Aa1", "alice")
        plugin = counting_plugin(tmp_path / "p", ["exec-token-one-Aa1", "exec-token-two-Bb2"])
        path = write_kubeconfig(tmp_path / "kc", server.url, server.ca_pem, exec_user(plugin))
        conn, _ = connection(path)
        try:
            assert (await whoami(conn))["username"] == "alice"
            server.revoke_token("exec-token-one-Aa1")
            server.add_token("exec-token-two-Bb2", "alice")
            assert (await whoami(conn))["username"] == "alice"
            assert runs(plugin) == 2
            assert server.log.count(REVIEW, status=401) == 1
        finally:
            await conn.aclose()


async def test_an_expiring_exec_token_is_renewed_before_use(tmp_path: Path) -> None:
    with LoopbackApiServer() as server:
        server.add_token("short-lived-Cc3", "alice")
        # Expires within the 30 s refresh margin: never sent twice.
        plugin = counting_plugin(tmp_path / "p", ["short-lived-Cc3"], expires_in=5)
        path = write_kubeconfig(tmp_path / "kc", server.url, server.ca_pem, exec_user(plugin))
        conn, _ = connection(path)
        try:
            await whoami(conn)
            await whoami(conn)
            assert runs(plugin) == 2
            assert server.log.count(status=401) == 0
        finally:
            await conn.aclose()


async def test_a_static_token_is_not_retried(tmp_path: Path) -> None:
    with LoopbackApiServer() as server:
        path = write_kubeconfig(
            tmp_path / "kc", server.url, server.ca_pem, {"token": "not-a-token-Dd4"}
        )
        conn, provider = connection(path)
        try:
            response = await conn.request("GET", "/api", timeout=10)
            assert response.status == 401
            assert server.log.count("/api") == 1
            assert provider.fetches == 2  # fetched again, found the same: no retry
        finally:
            await conn.aclose()


async def test_impersonation_headers(tmp_path: Path) -> None:
    with LoopbackApiServer() as server:
        admin = server.add_user("admin")
        server.rbac.add_cluster_role(
            "impersonator",
            [
                rule(["impersonate"], ["users", "groups"]),
                rule(["impersonate"], ["uids"], groups=["authentication.k8s.io"]),
            ],
        )
        server.rbac.bind_cluster_role("impersonator", users=["admin"])
        user = {"token": admin.token, "as": "bob", "as-groups": ["ops", "dev"], "as-uid": "42"}
        path = write_kubeconfig(tmp_path / "kc", server.url, server.ca_pem, user)
        conn, _ = connection(path)
        try:
            info = await whoami(conn)
            assert info["username"] == "bob"
            groups = info["groups"]
            assert isinstance(groups, list) and {"ops", "dev"} <= set(groups)
            assert info["uid"] == "42"
        finally:
            await conn.aclose()


def tls_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*")}


@pytest.mark.parametrize("inline", [True, False], ids=["key data", "key file"])
async def test_client_certificates_leave_no_key_on_disk(tmp_path: Path, inline: bool) -> None:
    with LoopbackApiServer() as server:
        carol = server.add_user("carol", token=False, client_cert=True)
        assert carol.client_cert is not None
        pem_cert, pem_key = carol.client_cert.cert_pem, carol.client_cert.key_pem
        if inline:
            user = {
                "client-certificate-data": base64.b64encode(pem_cert).decode(),
                "client-key-data": base64.b64encode(pem_key).decode(),
            }
        else:
            (tmp_path / "c.crt").write_bytes(pem_cert)
            (tmp_path / "c.key").write_bytes(pem_key)
            user = {"client-certificate": "c.crt", "client-key": "c.key"}
        before = tls_folders()
        path = write_kubeconfig(tmp_path / "kc", server.url, server.ca_pem, user)
        conn, _ = connection(path)
        try:
            assert (await whoami(conn))["username"] == "carol"
            assert tls_folders() == before
        finally:
            await conn.aclose()


def test_the_key_file_fallback_is_private_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LoopbackApiServer() as server:
        carol = server.add_user("carol", token=False, client_cert=True)
        assert carol.client_cert is not None
        identity = ClientCertificate(
            cert_data=SecretBytes(carol.client_cert.cert_pem),
            key_data=SecretBytes(carol.client_cert.key_pem),
        )
    seen: list[tuple[int, int]] = []
    real_load = ssl.SSLContext.load_cert_chain

    def spying_load(self: ssl.SSLContext, certfile: str, keyfile: str | None = None) -> None:
        assert keyfile is not None
        seen.append((os.stat(os.path.dirname(keyfile)).st_mode, os.stat(keyfile).st_mode))
        real_load(self, certfile, keyfile)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spying_load)
    client_context(None, insecure=True, identity=identity, key_folder=tmp_path)
    ((folder_mode, key_mode),) = seen
    assert folder_mode & 0o777 == 0o700 and key_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == []  # gone as soon as loaded


def test_stale_key_folders_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(dead.stdout)
    stale = tmp_path / f"{FOLDER_PREFIX}{dead_pid}-abc"
    stale.mkdir()
    (stale / "1.pem").write_text("key")
    alive = tmp_path / f"{FOLDER_PREFIX}{os.getppid()}-def"
    alive.mkdir()
    assert remove_stale_folders(tmp_path) == [stale]
    assert not stale.exists() and alive.exists()


async def test_a_fifo_as_client_key_is_refused_without_hanging(tmp_path: Path) -> None:
    from mirrord_ls.cluster.credentials import get_credentials

    os.mkfifo(tmp_path / "c.key")
    (tmp_path / "c.crt").write_text("cert")
    path = write_kubeconfig(
        tmp_path / "kc",
        "https://127.0.0.1:1",
        None,
        {"client-certificate": "c.crt", "client-key": "c.key"},
    )
    with pytest.raises(CertificateFileError, match="named pipe"):
        await get_credentials(resolve(path), trust=TRUSTED)
