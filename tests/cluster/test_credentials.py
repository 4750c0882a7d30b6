"""Credentials: tokens, token files, client certificates, exec plugins, trust, scrubbing.

Plugins are small Python scripts written into tmp_path. Tests never sleep: a plugin that must
be running before the test acts announces its pid through a FIFO the test reads.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import select
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mirrord_ls.cluster.credentials import (
    CertificateFileError,
    ExecCredentialCache,
    ExecPluginFailed,
    ExecPluginInvalidOutput,
    ExecPluginNotFound,
    ExecPluginTimeout,
    TokenFileError,
    TrustPolicy,
    UnsupportedAuthProvider,
    UntrustedCredentialPlugin,
    get_credentials,
    run_exec_plugin,
    scrub_secrets,
)
from mirrord_ls.cluster.kubeconfig import (
    ExecConfig,
    KubeconfigOrigin,
    ResolvedCluster,
    kubeconfig_paths,
    load_merged,
    resolve,
)

from .helpers import PLANTED_SECRETS

V1 = "client.authentication.k8s.io/v1"
TRUST_ALL = TrustPolicy(trusted=True)
CA_PEM = b"-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n"


def write_plugin(folder: Path, body: str, name: str = "plugin.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport json, os, sys, time\n{body}\n")
    path.chmod(0o755)
    return path


def answer(status: dict[str, object], api_version: str = V1) -> str:
    doc = {"apiVersion": api_version, "kind": "ExecCredential", "status": status}
    return f"print({json.dumps(json.dumps(doc))})"


def exec_for(plugin: Path, **kwargs: object) -> ExecConfig:
    return ExecConfig(command=str(plugin), api_version=V1, **kwargs)  # type: ignore[arg-type]


def resolved(folder: Path, user_yaml: str, cluster_extra: str = "") -> ResolvedCluster:
    """A one-context kubeconfig in ``folder`` whose user is ``user_yaml`` (a flow mapping)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.pem").write_bytes(CA_PEM)
    path = folder / "kubeconfig.yaml"
    path.write_text(
        "clusters:\n"
        f"- name: c\n  cluster: {{server: 'https://127.0.0.1:6443', certificate-authority: ca.pem"
        f"{cluster_extra}}}\n"
        f"users:\n- name: u\n  user: {user_yaml}\n"
        "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
    )
    result = resolve(load_merged([path]), "x")
    assert isinstance(result, ResolvedCluster), result
    return result


def exec_user(plugin: Path, extra: str = "") -> str:
    return f"{{exec: {{apiVersion: {V1}, command: '{plugin}', interactiveMode: Never{extra}}}}}"


def assert_no_secrets(text: str) -> None:
    for secret in PLANTED_SECRETS:
        assert secret not in text


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def read_pid(fifo: Path) -> int:
    """Wait (event-driven, bounded) for the plugin to write its pid into ``fifo``.

    Opened non-blocking so no thread can stay stuck if the plugin dies before writing.
    """
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await asyncio.wait_for(ready, timeout=10)
        return int(os.read(fd, 64).split()[0])
    finally:
        loop.remove_reader(fd)
        os.close(fd)


# -- exec plugins: success ------------------------------------------------------------------


async def test_exec_token_with_exec_info_env_and_no_stdin(tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    plugin = write_plugin(
        tmp_path / "bin",
        f"json.dump({{'info': json.loads(os.environ['KUBERNETES_EXEC_INFO']),"
        f" 'mode': os.environ.get('PLUGIN_MODE'), 'base': os.environ.get('FROM_BASE'),"
        f" 'stdin': sys.stdin.read()}}, open({str(seen)!r}, 'w'))\n"
        + answer({"token": "SECRET-EXEC-TOKEN-999", "expirationTimestamp": "2030-01-02T03:04:05Z"}),
    )
    cluster = resolved(
        tmp_path / "kube",
        exec_user(plugin, ", provideClusterInfo: true, env: [{name: PLUGIN_MODE, value: token}]"),
    )
    creds = await get_credentials(
        cluster, trust=TRUST_ALL, base_env={"PATH": os.environ["PATH"], "FROM_BASE": "yes"}
    )
    assert creds.token is not None and creds.token.reveal() == "SECRET-EXEC-TOKEN-999"
    assert creds.expires_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert creds.source == "exec"
    assert_no_secrets(repr(creds))
    got = json.loads(seen.read_text())
    assert got["mode"] == "token" and got["base"] == "yes" and got["stdin"] == ""
    info = got["info"]
    assert (info["apiVersion"], info["kind"]) == (V1, "ExecCredential")
    assert info["spec"]["interactive"] is False
    assert info["spec"]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(info["spec"]["cluster"]["certificate-authority-data"]) == CA_PEM


async def test_exec_info_without_cluster_info(tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    plugin = write_plugin(
        tmp_path,
        f"open({str(seen)!r}, 'w').write(os.environ['KUBERNETES_EXEC_INFO'])\n"
        + answer({"token": "t"}),
    )
    await run_exec_plugin(exec_for(plugin))
    assert "cluster" not in json.loads(seen.read_text())["spec"]


async def test_exec_client_certificate(tmp_path: Path) -> None:
    plugin = write_plugin(
        tmp_path,
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1',"
        " 'kind': 'ExecCredential', 'status': {"
        "'clientCertificateData': '-----BEGIN CERTIFICATE-----\\nY2VydA==\\n"
        "-----END CERTIFICATE-----\\n',"
        "'clientKeyData': '-----BEGIN PRIVATE KEY-----\\nSECRET-KEY-DATA\\n"
        "-----END PRIVATE KEY-----\\n'}}))",
    )
    creds = await run_exec_plugin(exec_for(plugin))
    assert creds.token is None and creds.client_certificate is not None
    assert creds.client_certificate.key_data is not None
    assert creds.client_certificate.key_data.reveal().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert b"SECRET-KEY-DATA" in creds.client_certificate.key_data.reveal()
    assert "SECRET-KEY-DATA" not in repr(creds)


# -- exec plugins: failures -----------------------------------------------------------------

NOISY_STDERR = """\
starting login for profile prod
Authorization: Bearer SECRET-TOKEN-123
retrying with token=SECRET-TOKEN-123&user=alice
{"password": "SECRET-PASSWORD-789"}
cached eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTRUNSRVQtVE9LRU4tMTIzIn0.c2lnbmF0dXJlLXNlY3JldA
-----BEGIN PRIVATE KEY-----
SECRET-KEY-DATA
-----END PRIVATE KEY-----
aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
error: could not refresh credentials: the session has expired
"""


async def test_failing_plugin_stderr_is_scrubbed(tmp_path: Path) -> None:
    plugin = write_plugin(
        tmp_path, f"sys.stderr.write({NOISY_STDERR!r})\nprint('SECRET-TOKEN-123')\nsys.exit(3)"
    )
    with pytest.raises(ExecPluginFailed) as caught:
        await run_exec_plugin(exec_for(plugin))
    message = str(caught.value)
    assert caught.value.returncode == 3
    assert "exited with status 3" in message and str(plugin) in message
    assert "could not refresh credentials: the session has expired" in message
    assert "[REDACTED]" in message
    assert_no_secrets(message)
    assert "wJalrXUtnFEMI" not in message and "eyJhbGci" not in message
    # Trimmed to the last lines, each bounded.
    assert len(message.splitlines()) <= 8


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("print('hello, I am not JSON')", "not JSON"),
        ("pass", "printed nothing"),
        ("print('[1, 2]')", "not an object"),
        (answer({"token": "t"}).replace("ExecCredential", "Pod"), "kind 'Pod'"),
        (answer({"token": "t"}, api_version="client.authentication.k8s.io/v1beta1"), "apiVersion"),
        (answer({}), "neither a token nor a client certificate"),
        (answer({"clientCertificateData": "c"}), "without its key"),
        (answer({"token": "t", "expirationTimestamp": "soon"}), "expirationTimestamp"),
        ("sys.stdout.buffer.write(b'\\xff\\xfe')", "not UTF-8"),
    ],
)
async def test_garbage_output(tmp_path: Path, body: str, words: str) -> None:
    plugin = write_plugin(tmp_path, body)
    with pytest.raises(ExecPluginInvalidOutput) as caught:
        await run_exec_plugin(exec_for(plugin))
    assert words in str(caught.value)


# Repeated: a full, unread pipe once made the cleanup hang intermittently (Python 3.11 reports
# the exit only after the pipes reach EOF).
@pytest.mark.parametrize("attempt", range(5))
async def test_too_much_output_is_refused_and_stopped(tmp_path: Path, attempt: int) -> None:
    fifo = tmp_path / "pid"
    os.mkfifo(fifo)
    plugin = write_plugin(
        tmp_path,
        f"open({str(fifo)!r}, 'w').write(str(os.getpid()))\n"
        "while True:\n    sys.stdout.write('x' * 65536)",
    )
    task = asyncio.create_task(run_exec_plugin(exec_for(plugin), max_output=100_000))
    pid = await read_pid(fifo)
    with pytest.raises(ExecPluginInvalidOutput, match="more than 100000 bytes"):
        await task
    assert process_gone(pid)


async def test_not_found_carries_install_hint(tmp_path: Path) -> None:
    config = exec_for(tmp_path / "no-such-plugin", install_hint="brew install demo-auth")
    with pytest.raises(ExecPluginNotFound, match="brew install demo-auth"):
        await run_exec_plugin(config)
    with pytest.raises(ExecPluginNotFound):
        await run_exec_plugin(
            ExecConfig(command="no-such-plugin-on-path", api_version=V1),
            base_env={"PATH": str(tmp_path)},
        )


async def test_unknown_exec_api_version(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path, answer({"token": "t"}))
    with pytest.raises(ExecPluginInvalidOutput, match="apiVersion"):
        await run_exec_plugin(ExecConfig(command=str(plugin), api_version="v1"))


async def test_hanging_plugin_is_killed_on_timeout(tmp_path: Path) -> None:
    fifo = tmp_path / "pid"
    os.mkfifo(fifo)
    plugin = write_plugin(
        tmp_path,
        f"sys.stderr.write('waiting for browser login, token=SECRET-TOKEN-123\\n')\n"
        f"sys.stderr.flush()\nopen({str(fifo)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(60)",  # sleep-ok: a plugin that hangs, killed by the test
    )
    task = asyncio.create_task(run_exec_plugin(exec_for(plugin), exec_timeout=1.0))
    pid = await read_pid(fifo)
    with pytest.raises(ExecPluginTimeout) as caught:
        await task
    assert process_gone(pid)
    assert "did not answer within 1 s" in str(caught.value)
    assert "waiting for browser login" in str(caught.value)
    assert_no_secrets(str(caught.value))


async def test_cancellation_kills_the_plugin(tmp_path: Path) -> None:
    fifo = tmp_path / "pid"
    os.mkfifo(fifo)
    plugin = write_plugin(
        tmp_path,
        f"open({str(fifo)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)",  # sleep-ok
    )
    task = asyncio.create_task(run_exec_plugin(exec_for(plugin)))
    pid = await read_pid(fifo)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert process_gone(pid)


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs pidfd_open (Linux)")
async def test_timeout_kills_the_plugins_children_too(tmp_path: Path) -> None:
    """A shell plugin whose child holds stdout open must not hang us, and the child dies."""
    fifo = tmp_path / "pid"
    os.mkfifo(fifo)
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > '{fifo}'\nwait\n")
    plugin.chmod(0o755)
    task = asyncio.create_task(run_exec_plugin(exec_for(plugin), exec_timeout=1.0))
    child = await read_pid(fifo)
    try:
        pidfd = os.pidfd_open(child)
    except ProcessLookupError:
        pidfd = None  # already gone
    with pytest.raises(ExecPluginTimeout):
        await task
    if pidfd is not None:
        # The pidfd turns readable when the process has exited (even if not yet reaped).
        readable, _, _ = select.select([pidfd], [], [], 5)
        os.close(pidfd)
        assert readable, "the plugin's child survived"


# -- cache ----------------------------------------------------------------------------------


async def test_cache_runs_plugin_once_until_expiry(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    plugin = write_plugin(
        tmp_path / "bin",
        f"open({str(runs)!r}, 'a').write('x')\n"
        + answer({"token": "t", "expirationTimestamp": "2030-01-01T00:00:00Z"}),
    )
    cluster = resolved(tmp_path / "kube", exec_user(plugin))
    now = [datetime(2029, 12, 31, tzinfo=UTC)]
    cache = ExecCredentialCache(clock=lambda: now[0])
    results = await asyncio.gather(
        *(get_credentials(cluster, trust=TRUST_ALL, cache=cache) for _ in range(3))
    )
    assert {r.token.reveal() for r in results if r.token} == {"t"}
    assert runs.read_text() == "x"  # concurrent callers shared one run
    await get_credentials(cluster, trust=TRUST_ALL, cache=cache)
    assert runs.read_text() == "x"
    now[0] = datetime(2030, 1, 1, tzinfo=UTC) - timedelta(seconds=10)  # inside refresh margin
    await get_credentials(cluster, trust=TRUST_ALL, cache=cache)
    assert runs.read_text() == "xx"
    assert cluster.credentials is not None and cluster.credentials.exec is not None
    cache.invalidate(cluster.credentials.exec)
    await get_credentials(cluster, trust=TRUST_ALL, cache=cache)
    assert runs.read_text() == "xxx"


# -- trust gate -----------------------------------------------------------------------------


async def test_trust_gate(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    plugin = write_plugin(
        tmp_path / "tools", f"open({str(ran)!r}, 'a').write('x')\n" + answer({"token": "t"})
    )
    workspace = tmp_path / "workspace"
    inside = resolved(workspace / ".kube", exec_user(plugin))
    outside = resolved(tmp_path / "home" / ".kube", exec_user(plugin))
    policy = TrustPolicy(untrusted_roots=(workspace,))
    with pytest.raises(UntrustedCredentialPlugin) as caught:
        await get_credentials(inside, trust=policy)
    assert caught.value.kubeconfig == workspace / ".kube" / "kubeconfig.yaml"
    assert str(plugin) in str(caught.value) and "kubeconfig.yaml" in str(caught.value)
    assert not ran.exists()
    await get_credentials(outside, trust=policy)
    await get_credentials(inside, trust=TrustPolicy(untrusted_roots=(workspace,), trusted=True))
    assert ran.read_text() == "xx"


async def test_trust_gate_config_pointed_and_symlinks(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "tools", answer({"token": "t"}))
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    elsewhere = resolved(tmp_path / "shared", exec_user(plugin))
    source = kubeconfig_paths(str(elsewhere.context_origin), workspace, {}, tmp_path / "home")
    assert source.origin is KubeconfigOrigin.CONFIG_FIELD
    policy = TrustPolicy.for_workspace([workspace], source, trusted=False)
    with pytest.raises(UntrustedCredentialPlugin):
        await get_credentials(elsewhere, trust=policy)
    # A kubeconfig reached through a symlink still counts where it really lies.
    (tmp_path / "link").symlink_to(workspace, target_is_directory=True)
    via_link = resolved(tmp_path / "link" / "k", exec_user(plugin))
    with pytest.raises(UntrustedCredentialPlugin):
        await get_credentials(via_link, trust=TrustPolicy(untrusted_roots=(workspace,)))


# -- static credentials ---------------------------------------------------------------------


async def test_token_file_is_read_fresh(tmp_path: Path) -> None:
    cluster = resolved(tmp_path, "{tokenFile: token.txt}")
    token_file = tmp_path / "token.txt"
    token_file.write_text("SECRET-FILE-TOKEN-321\n")
    first = await get_credentials(cluster, trust=TRUST_ALL)
    token_file.write_text("rotated\n")
    second = await get_credentials(cluster, trust=TRUST_ALL)
    assert first.token is not None and first.token.reveal() == "SECRET-FILE-TOKEN-321"
    assert second.token is not None and second.token.reveal() == "rotated"
    token_file.write_text("  \n")
    with pytest.raises(TokenFileError, match="empty"):
        await get_credentials(cluster, trust=TRUST_ALL)
    token_file.unlink()
    with pytest.raises(TokenFileError, match="not found"):
        await get_credentials(cluster, trust=TRUST_ALL)


async def test_static_credentials(tmp_path: Path) -> None:
    token = await get_credentials(
        resolved(tmp_path / "a", "{token: SECRET-TOKEN-123, as: bob, as-groups: [ops]}"),
        trust=TRUST_ALL,
    )
    assert token.source == "token" and token.impersonate == "bob"
    assert token.impersonate_groups == ("ops",)
    basic = await get_credentials(
        resolved(tmp_path / "b", "{username: alice, password: SECRET-PASSWORD-789}"),
        trust=TRUST_ALL,
    )
    assert basic.source == "basic" and basic.password is not None
    assert_no_secrets(repr(token) + repr(basic))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "tls.crt").write_text("cert")
    (tmp_path / "c" / "tls.key").write_text("key")
    certs = await get_credentials(
        resolved(tmp_path / "c", "{client-certificate: tls.crt, client-key: tls.key}"),
        trust=TRUST_ALL,
    )
    assert certs.client_certificate is not None
    # Read (regular files only, capped), never handed to TLS by path.
    assert certs.client_certificate.key_data is not None
    assert certs.client_certificate.key_data.reveal() == b"key"
    with pytest.raises(CertificateFileError):
        await get_credentials(
            resolved(tmp_path / "d", "{client-certificate: no.crt, client-key: no.key}"),
            trust=TRUST_ALL,
        )
    with pytest.raises(UnsupportedAuthProvider, match="'gcp'"):
        await get_credentials(
            resolved(tmp_path / "e", "{auth-provider: {name: gcp, config: {access-token: x}}}"),
            trust=TRUST_ALL,
        )


# -- scrubbing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer SECRET-TOKEN-123",
        "token=SECRET-TOKEN-123",
        "id_token: SECRET-TOKEN-123",
        '{"accessToken":"SECRET-TOKEN-123"}',
        "password=SECRET-TOKEN-123",
        "-----BEGIN RSA PRIVATE KEY-----\nSECRET-TOKEN-123\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN PRIVATE KEY-----\nSECRET-TOKEN-123 (truncated",
        "key 0123456789abcdef0123456789abcdef SECRET-TOKEN-123".replace(" SECRET-TOKEN-123", ""),
    ],
)
def test_scrub_removes_credentials(text: str) -> None:
    scrubbed = scrub_secrets(text)
    assert "SECRET-TOKEN-123" not in scrubbed and "[REDACTED" in scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "error: could not get token: exit status 1",
        "open /home/alice/.config/gcloud/application_default_credentials.json: no such file",
        "request took 1234 ms on node ip-10-0-0-1",
    ],
)
def test_scrub_keeps_ordinary_messages(text: str) -> None:
    assert scrub_secrets(text) == text


@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", min_size=40
    )
)
def test_scrub_removes_random_looking_strings(secret: str) -> None:
    mixed = "Aa1" + secret
    assert mixed not in scrub_secrets(f"leaked {mixed} here")
