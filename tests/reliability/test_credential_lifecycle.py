"""Credentials over a server's life (issue 11, bugs 2 and 3), over LSP with the real server.

* A rotated `tokenFile` is picked up by `mirrord-ls.recheck` (it was baked into a cached
  connection, so the old, revoked token kept being sent: `cluster-auth-failed`).
* A client key never lands in the server's temporary folder: not while it runs, not after
  it exits (decrypted keys stayed in /tmp/mirrord-ls-*/).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cluster.apihelpers import write_kubeconfig
from mirrord_ls.loopback import LoopbackApiServer

from .support import recorded_session


def config(ws: Path) -> Path:
    path = ws / ".mirrord" / "mirrord.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"operator": True}))
    return path


async def test_recheck_picks_up_a_rotated_token_file(tmp_path: Path) -> None:
    with LoopbackApiServer() as server:
        alice, bob = server.add_user("alice"), server.add_user("bob")
        assert alice.token and bob.token
        server.allow_mirrord_operator_user(users=["alice"])
        token = tmp_path / "secrets" / "token"
        token.parent.mkdir()
        token.write_text(alice.token)
        kubeconfig = write_kubeconfig(
            tmp_path / "kube" / "config", server.url, server.ca_pem, {"tokenFile": str(token)}
        )
        path = config(tmp_path / "ws")
        settings = {"cluster": {"recheckSeconds": 3600}}
        env = {"KUBECONFIG": str(kubeconfig)}
        async with recorded_session(tmp_path / "ws", env=env, settings=settings) as rec:
            uri = rec.open(path)
            status = await rec.command("mirrord-ls.recheck", {"uri": uri})
            assert status["operator"] == "installed", status
            server.revoke_token(alice.token)
            token.write_text(bob.token)  # in place, as a secret mount's writer may
            status = await rec.command("mirrord-ls.recheck", {"uri": uri})
            assert status["operator"] == "forbidden", status
            (diag,) = await rec.diagnostics(
                uri, lambda d: any(x.code == "operator-forbidden" for x in d)
            )
            assert '"bob"' in diag.message


async def test_no_client_key_in_the_temporary_folder(tmp_path: Path) -> None:
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    with LoopbackApiServer() as server:
        carol = server.add_user("carol", token=False, client_cert=True)
        assert carol.client_cert is not None
        server.allow_mirrord_operator_user(users=["carol"])
        user = {
            "client-certificate-data": base64.b64encode(carol.client_cert.cert_pem).decode(),
            "client-key-data": base64.b64encode(carol.client_cert.key_pem).decode(),
        }
        kubeconfig = write_kubeconfig(tmp_path / "kube" / "config", server.url, server.ca_pem, user)
        path = config(tmp_path / "ws")
        env = {"KUBECONFIG": str(kubeconfig), "TMPDIR": str(private_tmp)}
        async with recorded_session(tmp_path / "ws", env=env) as rec:
            uri = rec.open(path)
            status = await rec.command("mirrord-ls.recheck", {"uri": uri})
            assert status["operator"] == "installed", status
            assert server.log.matching(answered=True)[-1].user == "carol"
            assert list(private_tmp.iterdir()) == []  # while it runs
    assert list(private_tmp.iterdir()) == []  # and after
