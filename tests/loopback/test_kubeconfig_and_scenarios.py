"""Kubeconfigs the loopback writes, the demo scenarios, the CLI, and the protobuf reader."""

from __future__ import annotations

import base64
import socket
import stat
import subprocess
import sys
from pathlib import Path

import kubernetes
import pytest
import yaml

from mirrord_ls.loopback import KubeContext, LoopbackApiServer, redacted, write_kubeconfig
from mirrord_ls.loopback.protobuf import decode_review
from mirrord_ls.loopback.scenarios import ReservedPort, start_demo_clusters
from terminal import ctrl_c_reaches_it

SERVER_ROOT = Path(__file__).resolve().parents[2] / "server"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_inline_kubeconfig_loads_in_the_kubernetes_client(server, tmp_path):
    carol = server.add_user("carol", ["mirrord-users"], token=False, client_cert=True)
    server.allow_mirrord_operator_user(groups=["mirrord-users"])
    contexts = [
        server.context(server.user("alice"), name="a", namespace="staging"),
        server.context(carol, name="c"),
    ]
    path = write_kubeconfig(tmp_path / "config", contexts, current="c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]
    assert _mode(path) == 0o600
    doc = yaml.safe_load(path.read_text())
    assert doc["current-context"] == "c"
    assert len(doc["clusters"]) == 1  # one server, one cluster entry
    cluster = doc["clusters"][0]["cluster"]
    assert base64.b64decode(cluster["certificate-authority-data"]) == server.ca_pem
    users = {u["name"]: u["user"] for u in doc["users"]}
    assert set(users["carol"]) == {"client-certificate-data", "client-key-data"}
    assert users["alice"] == {"token": server.user("alice").token}
    ctx = {c["name"]: c["context"] for c in doc["contexts"]}
    assert ctx["a"]["namespace"] == "staging" and "namespace" not in ctx["c"]

    for name in ("a", "c"):
        api = kubernetes.client.CustomObjectsApi(
            kubernetes.config.new_client_from_config(config_file=str(path), context=name)
        )
        op = api.get_cluster_custom_object(
            "operator.metalbear.co", "v1", "mirrordoperators", "operator"
        )
        assert op["kind"] == "MirrordOperator"
        api.api_client.close()


def test_cert_files_go_only_into_cert_dir(server, tmp_path):
    carol = server.add_user("carol", token=False, client_cert=True)
    certs = tmp_path / "certs"
    certs.mkdir()
    path = server.write_kubeconfig(tmp_path / "config", [carol], cert_dir=certs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["certs", "config"]
    assert sorted(p.name for p in certs.iterdir()) == ["loopback-carol.crt", "loopback-carol.key"]
    assert _mode(certs / "loopback-carol.key") == 0o600
    user = yaml.safe_load(path.read_text())["users"][0]["user"]
    assert user == {
        "client-certificate": str(certs / "loopback-carol.crt"),
        "client-key": str(certs / "loopback-carol.key"),
    }


def test_kubeconfig_refuses_unknown_current_and_duplicate_names(server, tmp_path):
    ctx = server.context(server.user("alice"))
    with pytest.raises(ValueError):
        write_kubeconfig(tmp_path / "k", [ctx], current="nope")
    with pytest.raises(ValueError):
        write_kubeconfig(tmp_path / "k", [ctx, ctx])
    assert not (tmp_path / "k").exists()


def test_redacted_hides_every_secret(server, tmp_path):
    carol = server.add_user("carol", client_cert=True)
    path = server.write_kubeconfig(tmp_path / "k", [carol])
    text = yaml.safe_dump(redacted(yaml.safe_load(path.read_text())))
    assert carol.token is not None and carol.token not in text
    assert base64.b64encode(carol.client_cert.key_pem).decode()[-60:] not in text
    assert "certificate-authority-data" in text  # public: kept


def test_reserved_port_refuses_connections():
    port = ReservedPort()
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port.port), timeout=2)
    finally:
        port.close()


def test_demo_scenarios(tmp_path, connect):
    with start_demo_clusters(tmp_path / "kubeconfig", tls_failures=True) as demo:
        doc = yaml.safe_load(demo.kubeconfig.read_text())
        assert doc["current-context"] == "healthy"
        names = [c["name"] for c in doc["contexts"]]
        assert names == [s.context for s in demo.scenarios]
        assert names[:5] == [
            "healthy",
            "forbidden",
            "not-installed",
            "operator-down",
            "unreachable",
        ]
        path = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
        seen = {}
        for name in ("healthy", "forbidden", "not-installed", "operator-down"):
            srv = demo.server_for(name)
            ctx = demo.contexts[name]
            assert srv is not None and ctx.user is not None
            conn = connect(ctx.user, srv=srv)
            seen[name] = conn.request("GET", path).status
            if name == "not-installed":
                seen["pinned-kind"] = conn.request("GET", "/apis/operator.metalbear.co/v1").status
        assert seen == {
            "healthy": 200,
            "forbidden": 403,
            "not-installed": 403,
            "pinned-kind": 404,
            "operator-down": 503,
        }
        assert demo.server_for("unreachable") is None
        assert {s.expected for s in demo.scenarios} >= {"ok", "forbidden", "down", "tls"}


def test_cli_serves_until_interrupted(tmp_path):
    """`python -m mirrord_ls.loopback` writes the kubeconfig, prints no secret, stops on SIGINT."""
    kubeconfig = tmp_path / "kc"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirrord_ls.loopback", "--kubeconfig", str(kubeconfig)],
        preexec_fn=ctrl_c_reaches_it,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PYTHONPATH": str(SERVER_ROOT), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:  # blocks on the child's output, no polling
            lines.append(line)
            if line.startswith("Serving until"):
                break
        out = "".join(lines)
        assert "REDACTED" in out
        doc = yaml.safe_load(kubeconfig.read_text())
        for user in doc["users"]:
            for secret in user["user"].values():
                assert str(secret)[-60:] not in out  # the tail: PEM heads are all alike
        proc.send_signal(2)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def test_protobuf_review_decoding():
    attrs = (
        _field(2, b"get")
        + _field(3, b"operator.metalbear.co")
        + _field(5, b"mirrordoperators")
        + _field(7, b"operator")
    )
    obj = _field(1, b"") + _field(2, _field(1, attrs))
    type_meta = _field(1, b"authorization.k8s.io/v1") + _field(2, b"SelfSubjectAccessReview")
    body = b"k8s\x00" + _field(1, type_meta) + _field(2, obj)
    assert decode_review(body) == {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "verb": "get",
                "group": "operator.metalbear.co",
                "resource": "mirrordoperators",
                "name": "operator",
            }
        },
    }


def test_protobuf_ssar_over_http(server, call):
    attrs = _field(2, b"get") + _field(3, b"operator.metalbear.co") + _field(5, b"mirrordoperators")
    type_meta = _field(1, b"authorization.k8s.io/v1") + _field(2, b"SelfSubjectAccessReview")
    body = b"k8s\x00" + _field(1, type_meta) + _field(2, _field(2, _field(1, attrs)))
    headers = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    yes = call("POST", path, user=server.user("alice"), body=body, headers=headers)
    assert yes.status == 201 and yes.json["status"]["allowed"] is True
    no = call("POST", path, user=server.user("bob"), body=body, headers=headers)
    assert no.json["status"]["allowed"] is False
    junk = call("POST", path, user=server.user("bob"), body=b"k8s\x00\xff", headers=headers)
    assert junk.status == 400


def test_contexts_without_credentials_are_anonymous(tmp_path):
    with LoopbackApiServer() as srv:
        ctx = KubeContext("anon", srv.url, None, srv.ca_pem)
        doc = yaml.safe_load(write_kubeconfig(tmp_path / "k", [ctx]).read_text())
        assert doc["users"] == [{"name": "anonymous", "user": {}}]
