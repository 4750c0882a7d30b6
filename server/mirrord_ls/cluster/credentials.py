"""Credentials for requests to a cluster: tokens, client certificates and exec plugins.

:func:`get_credentials` turns the user entry of a :class:`~.kubeconfig.ResolvedCluster` into
:class:`RequestCredentials`, reading token files fresh on every call and running ``exec``
credential plugins (``aws``, ``gke-gcloud-auth-plugin``, ``kubelogin``, ...) the way client-go
does: ``ExecCredential`` input in ``KUBERNETES_EXEC_INFO``, never interactive, no stdin.

An exec plugin is arbitrary code chosen by whoever wrote the kubeconfig, so a
:class:`TrustPolicy` refuses plugins from kubeconfigs inside an untrusted workspace (or named by
the workspace's mirrord config) with :class:`UntrustedCredentialPlugin`.

Plugin processes are bounded: a timeout, a cap on output, and they are killed (with their
process group) on timeout or cancellation. Error messages quote the plugin's stderr only after
:func:`scrub_secrets` removed anything that looks like a credential.

No LSP types here.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mirrord_ls.cluster.kubeconfig import (
    MATERIAL_LIMIT,
    ExecConfig,
    ResolvedCluster,
    Secret,
    SecretBytes,
    UserEntry,
)
from mirrord_ls.cluster.plugin_process import (
    guarded_argv,
    plugin_cwd,
    resolve_program,
    runnable_file,
)
from mirrord_ls.cluster.trust import TRUST_HINT, TrustPolicy
from mirrord_ls.fs import FileReadError, read_regular
from mirrord_ls.redact import redact

__all__ = [
    "ClientCertificate",
    "CredentialError",
    "CredentialProvider",
    "ExecCredentialCache",
    "ExecPluginError",
    "ExecPluginFailed",
    "ExecPluginInvalidOutput",
    "ExecPluginNotFound",
    "ExecPluginTimeout",
    "RequestCredentials",
    "TokenFileError",
    "TrustPolicy",
    "UnsupportedAuthProvider",
    "UntrustedCredentialPlugin",
    "UntrustedKubeconfigFiles",
    "build_exec_info",
    "check_exec_trust",
    "get_credentials",
    "run_exec_plugin",
    "scrub_secrets",
]

DEFAULT_EXEC_TIMEOUT = 10.0
DEFAULT_MAX_OUTPUT = 1024 * 1024
# stderr is only quoted (trimmed) in messages; keeping more than this is pointless.
_STDERR_KEEP = 64 * 1024
_STDERR_LINES = 6
_STDERR_LINE_CHARS = 300
# After killing a plugin, how long its pipes may take to close.
_STOP_GRACE = 2.0

_EXEC_API_VERSIONS = (
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
    "client.authentication.k8s.io/v1alpha1",
)

# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientCertificate:
    """A TLS client identity as PEM data (inline, read from the kubeconfig's files, or from an
    exec plugin). Python's ``ssl`` loads certificate chains only from files: see
    ``cluster/tls.py`` for how the data reaches it."""

    cert_data: SecretBytes | None = None
    key_data: SecretBytes | None = None


@dataclass(frozen=True)
class RequestCredentials:
    """What to put on a request: a bearer token, basic auth, and/or a client certificate."""

    token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    client_certificate: ClientCertificate | None = None
    expires_at: datetime | None = None
    """When exec-issued credentials expire (``None``: unknown or never)."""
    source: str = "none"
    """Which kubeconfig mechanism produced them: token, tokenFile, exec, basic, client-cert,
    none."""
    impersonate: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class CredentialError(Exception):
    """Credentials could not be obtained. ``str(err)`` is safe to show: no secrets in it."""


class TokenFileError(CredentialError):
    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot read token file {path}: {reason}")


class CertificateFileError(CredentialError):
    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"cannot read client certificate/key file {path}: {reason}")


class UnsupportedAuthProvider(CredentialError):
    def __init__(self, provider: str, user: str) -> None:
        self.provider = provider
        self.user = user
        super().__init__(
            f"user {user!r} uses the auth-provider {provider!r}, which mirrord-ls does not "
            "support; switch the kubeconfig to an exec plugin (e.g. gke-gcloud-auth-plugin or "
            "kubelogin)"
        )


class UntrustedCredentialPlugin(CredentialError):
    """An exec plugin from a kubeconfig the workspace controls, in an untrusted workspace."""

    def __init__(self, kubeconfig: Path, program: str) -> None:
        self.kubeconfig = kubeconfig
        self.program = program
        super().__init__(
            f"refusing to run the credential plugin {program!r} named by {kubeconfig}: that "
            "kubeconfig belongs to a workspace that is not trusted"
        )


class UntrustedKubeconfigFiles(CredentialError):
    """The kubeconfig entry lies in an untrusted workspace: nothing it names may be read."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig
        super().__init__(
            f"refusing to read the files named by {kubeconfig} or to send its credentials:"
            f" that kubeconfig belongs to a workspace that is not trusted. {TRUST_HINT}."
        )


class ExecPluginError(CredentialError):
    """An exec credential plugin failed; ``stderr`` is already scrubbed and trimmed."""

    def __init__(self, program: str, what: str, stderr: str = "") -> None:
        self.program = program
        self.stderr = stderr
        message = f"credential plugin {program!r} {what}"
        if stderr:
            message += f"; its error output:\n{stderr}"
        super().__init__(message)


class ExecPluginNotFound(ExecPluginError):
    def __init__(self, program: str, install_hint: str | None) -> None:
        what = "was not found"
        if install_hint:
            what += f" ({install_hint.strip()})"
        self.install_hint = install_hint
        super().__init__(program, what)


class ExecPluginFailed(ExecPluginError):
    def __init__(self, program: str, returncode: int, stderr: str) -> None:
        self.returncode = returncode
        if returncode < 0:
            what = f"was killed by signal {-returncode}"
        else:
            what = f"exited with status {returncode}"
        super().__init__(program, what, stderr)


class ExecPluginTimeout(ExecPluginError):
    def __init__(self, program: str, timeout: float, stderr: str) -> None:
        self.timeout = timeout
        super().__init__(
            program,
            f"did not answer within {timeout:g} s and was stopped (it may be waiting for a "
            "login in a terminal or browser; run it once by hand)",
            stderr,
        )


class ExecPluginInvalidOutput(ExecPluginError):
    def __init__(self, program: str, what: str, stderr: str = "") -> None:
        super().__init__(program, what, stderr)


# ---------------------------------------------------------------------------------------------
# Scrubbing
# ---------------------------------------------------------------------------------------------

# One redaction for everything the server shows: see mirrord_ls.redact.
scrub_secrets = redact


def _trim_stderr(raw: bytes) -> str:
    text = scrub_secrets(raw.decode("utf-8", errors="replace"))
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if len(lines) > _STDERR_LINES:
        # The end of the output usually holds the actual error.
        lines = ["…", *lines[-_STDERR_LINES:]]
    return "\n".join(
        line if len(line) <= _STDERR_LINE_CHARS else line[:_STDERR_LINE_CHARS] + "…"
        for line in lines
    )


# ---------------------------------------------------------------------------------------------
# Trust
# ---------------------------------------------------------------------------------------------


def check_exec_trust(user: UserEntry, policy: TrustPolicy) -> None:
    """Raise :class:`UntrustedCredentialPlugin` if ``user``'s exec plugin may not run."""
    if user.exec is not None and not policy.allows(user.origin):
        raise UntrustedCredentialPlugin(user.origin, user.exec.command)


# ---------------------------------------------------------------------------------------------
# Exec plugins
# ---------------------------------------------------------------------------------------------


def build_exec_info(exec_config: ExecConfig, cluster: ResolvedCluster | None) -> dict[str, object]:
    """The ``ExecCredential`` object client-go passes in ``KUBERNETES_EXEC_INFO``."""
    spec: dict[str, object] = {"interactive": False}
    if exec_config.provide_cluster_info and cluster is not None:
        info: dict[str, object] = {"server": cluster.server}
        if cluster.tls_server_name:
            info["tls-server-name"] = cluster.tls_server_name
        if cluster.insecure_skip_tls_verify:
            info["insecure-skip-tls-verify"] = True
        ca = cluster.certificate_authority
        ca_data: bytes | None = None
        if ca is not None and ca.data is not None:
            ca_data = ca.data
        elif ca is not None and ca.file is not None:
            with contextlib.suppress(OSError):
                ca_data = read_regular(ca.file, MATERIAL_LIMIT)
        if ca_data is not None:
            info["certificate-authority-data"] = base64.b64encode(ca_data).decode()
        if cluster.proxy_url:
            info["proxy-url"] = cluster.proxy_url
        if cluster.disable_compression:
            info["disable-compression"] = True
        spec["cluster"] = info
    return {"apiVersion": exec_config.api_version, "kind": "ExecCredential", "spec": spec}


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _parse_exec_output(exec_config: ExecConfig, stdout: bytes, stderr: str) -> RequestCredentials:
    program = exec_config.command

    def bad(what: str) -> ExecPluginInvalidOutput:
        return ExecPluginInvalidOutput(program, what, stderr)

    # Never quote stdout: a half-valid answer may still contain the credential.
    try:
        document = json.loads(stdout.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad(f"printed {len(stdout)} bytes that are not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        if not stdout.strip():
            raise bad("printed nothing (an ExecCredential JSON object was expected)") from None
        raise bad(
            f"printed something that is not JSON ({exc.msg} at line {exc.lineno} column "
            f"{exc.colno}; an ExecCredential object was expected)"
        ) from None
    if not isinstance(document, dict):
        raise bad("printed JSON that is not an object (an ExecCredential was expected)")
    kind = document.get("kind")
    if kind != "ExecCredential":
        raise bad(f"printed kind {kind!r}, not ExecCredential")
    api_version = document.get("apiVersion")
    if api_version != exec_config.api_version:
        raise bad(
            f"answered with apiVersion {api_version!r}, but the kubeconfig asks for "
            f"{exec_config.api_version!r}"
        )
    status = document.get("status")
    if not isinstance(status, dict):
        raise bad("printed an ExecCredential without a status")
    token = status.get("token")
    cert = status.get("clientCertificateData")
    key = status.get("clientKeyData")
    for name, value in (("token", token), ("clientCertificateData", cert), ("clientKeyData", key)):
        if value is not None and not isinstance(value, str):
            raise bad(f"printed an ExecCredential whose status.{name} is not a string")
    if bool(cert) != bool(key):
        raise bad("printed a client certificate without its key (or a key without certificate)")
    if not token and not cert:
        raise bad("printed an ExecCredential with neither a token nor a client certificate")
    expires: datetime | None = None
    raw_expiry = status.get("expirationTimestamp")
    if raw_expiry is not None:
        if not isinstance(raw_expiry, str) or (expires := _parse_time(raw_expiry)) is None:
            raise bad("printed an ExecCredential with an unreadable expirationTimestamp")
    client_cert: ClientCertificate | None = None
    if isinstance(cert, str) and isinstance(key, str) and cert:
        client_cert = ClientCertificate(
            cert_data=SecretBytes(cert.encode()), key_data=SecretBytes(key.encode())
        )
    return RequestCredentials(
        token=Secret(token) if isinstance(token, str) and token else None,
        client_certificate=client_cert,
        expires_at=expires,
        source="exec",
    )


def _kill(process: asyncio.subprocess.Process, *, hard: bool = False) -> None:
    if process.returncode is not None:
        return
    if sys.platform == "win32":
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        return
    # The guard (plugin_process.GUARD) kills the plugin's whole group on SIGTERM, since a
    # script's children may hold our pipes open, and reaps it. Hard: the guard's own group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if hard:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            os.kill(process.pid, signal.SIGTERM)


async def _read_bounded(
    stream: asyncio.StreamReader | None, limit: int, keep_tail: bool
) -> tuple[bytes, bool]:
    """Read up to ``limit`` bytes; report whether more came (tail kept when ``keep_tail``)."""
    if stream is None:
        return b"", False
    buffer = bytearray()
    overflow = False
    while chunk := await stream.read(65536):
        buffer.extend(chunk)
        if len(buffer) > limit:
            overflow = True
            if not keep_tail:
                return bytes(buffer[: limit + 1]), True
            del buffer[: len(buffer) - limit]
    return bytes(buffer), overflow


async def run_exec_plugin(
    exec_config: ExecConfig,
    *,
    cluster: ResolvedCluster | None = None,
    exec_timeout: float = DEFAULT_EXEC_TIMEOUT,
    max_output: int = DEFAULT_MAX_OUTPUT,
    base_env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    trust: TrustPolicy | None = None,
) -> RequestCredentials:
    """Run an exec credential plugin once and parse its ``ExecCredential``.

    Environment: ``base_env`` (default: this process's) plus the plugin's ``env`` entries plus
    ``KUBERNETES_EXEC_INFO``. No stdin; killed after ``exec_timeout`` seconds or on cancellation;
    more than ``max_output`` bytes on stdout is an error. Whether the kubeconfig may name a
    plugin is checked by :func:`check_exec_trust` / :func:`get_credentials`; here ``trust``
    keeps the program's lookup out of the workspace, and the working folder is
    ``cwd`` or :func:`~.plugin_process.plugin_cwd`. A guard process kills the plugin and its
    children when the server dies (see ``plugin_process.py``).
    """
    program = exec_config.command
    if exec_config.api_version not in _EXEC_API_VERSIONS:
        raise ExecPluginInvalidOutput(
            program,
            f"cannot be used: its apiVersion {exec_config.api_version!r} is not one of "
            + ", ".join(_EXEC_API_VERSIONS),
        )
    parent_env = dict(os.environ if base_env is None else base_env)
    env = dict(parent_env)
    env.update({var.name: var.value for var in exec_config.env})
    env["KUBERNETES_EXEC_INFO"] = json.dumps(build_exec_info(exec_config, cluster))
    # As client-go, the program is looked up on the server's own PATH (not the plugin's env).
    path, refused = resolve_program(program, parent_env, trust)
    if path is None:
        if refused is not None:
            raise ExecPluginError(program, f"was not run: {refused}")
        raise ExecPluginNotFound(program, exec_config.install_hint)
    runnable = runnable_file(path)
    if runnable is not None:
        if runnable == "missing":
            raise ExecPluginNotFound(program, exec_config.install_hint)
        raise ExecPluginError(program, f"cannot be run ({runnable})")
    argv = [path, *exec_config.args]
    if sys.platform != "win32":
        argv = guarded_argv(path, exec_config.args)
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=cwd if cwd is not None else plugin_cwd(trust, parent_env),
            start_new_session=sys.platform != "win32",
        )
    except FileNotFoundError:
        raise ExecPluginNotFound(program, exec_config.install_hint) from None
    except PermissionError:
        raise ExecPluginError(program, "cannot be run (permission denied)") from None
    except OSError as exc:
        raise ExecPluginError(program, f"cannot be started: {exc.strerror or exc}") from None

    stdout_task = asyncio.ensure_future(_read_bounded(process.stdout, max_output, False))
    stderr_task = asyncio.ensure_future(_read_bounded(process.stderr, _STDERR_KEEP, True))
    try:
        async with asyncio.timeout(exec_timeout):
            stdout, too_much = await stdout_task
            if not too_much:
                stderr_raw, _ = await stderr_task
                returncode = await process.wait()
    except TimeoutError:
        stderr_raw = await _stop(process, stdout_task, stderr_task)
        raise ExecPluginTimeout(program, exec_timeout, _trim_stderr(stderr_raw)) from None
    except BaseException:
        # Cancellation or an unexpected error: never leave the plugin running.
        await _stop(process, stdout_task, stderr_task)
        raise
    if too_much:
        stderr_raw = await _stop(process, stdout_task, stderr_task)
        raise ExecPluginInvalidOutput(
            program, f"printed more than {max_output} bytes; stopped it", _trim_stderr(stderr_raw)
        )
    stderr = _trim_stderr(stderr_raw)
    if returncode != 0:
        raise ExecPluginFailed(program, returncode, stderr)
    return _parse_exec_output(exec_config, stdout, stderr)


async def _discard(stream: asyncio.StreamReader | None) -> None:
    while stream is not None and await stream.read(65536):
        pass


async def _stop(
    process: asyncio.subprocess.Process,
    stdout_task: asyncio.Future[tuple[bytes, bool]],
    stderr_task: asyncio.Future[tuple[bytes, bool]],
) -> bytes:
    """Kill the plugin, let its pipes drain, and return what it wrote to stderr.

    Draining matters: Python 3.11 reports a subprocess's exit only once its pipes reached EOF,
    and a full, unread stdout buffer pauses the pipe before EOF. Bounded by
    ``_STOP_GRACE``: a grandchild that escaped the process group could hold a pipe open (the
    plugin itself is reaped by asyncio's child watcher regardless).
    """
    _kill(process)
    stdout_task.cancel()
    await asyncio.gather(stdout_task, return_exceptions=True)
    pending: set[asyncio.Future[Any]] = {
        asyncio.ensure_future(_discard(process.stdout)),
        asyncio.ensure_future(process.wait()),
        stderr_task,
    }
    try:
        await asyncio.wait(pending, timeout=_STOP_GRACE)
    finally:
        for task in pending:
            task.cancel()
        _kill(process, hard=True)  # a guard that did not go within the grace
    if stderr_task.done() and not stderr_task.cancelled() and stderr_task.exception() is None:
        return stderr_task.result()[0]
    return b""


def _exec_cache_key(exec_config: ExecConfig, cluster: ResolvedCluster | None) -> tuple[str, str]:
    plugin = json.dumps(
        [
            exec_config.api_version,
            exec_config.command,
            list(exec_config.args),
            [[v.name, v.value] for v in exec_config.env],
        ]
    )
    # The plugin sees the cluster only with provideClusterInfo; otherwise one answer serves all.
    server = cluster.server if cluster is not None and exec_config.provide_cluster_info else ""
    return plugin, server


@dataclass
class ExecCredentialCache:
    """Exec plugin results, per exec configuration, until shortly before they expire.

    Concurrent callers for the same plugin wait for one run rather than starting several.
    Credentials without an expiry are kept until :meth:`invalidate` (e.g. after a 401).
    """

    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    refresh_margin: timedelta = timedelta(seconds=30)
    _entries: dict[tuple[str, str], RequestCredentials] = field(default_factory=dict, repr=False)
    _locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict, repr=False)

    def lookup(
        self, exec_config: ExecConfig, cluster: ResolvedCluster | None
    ) -> RequestCredentials | None:
        key = _exec_cache_key(exec_config, cluster)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at - self.refresh_margin <= self.clock():
            del self._entries[key]
            return None
        return entry

    def store(
        self, exec_config: ExecConfig, cluster: ResolvedCluster | None, creds: RequestCredentials
    ) -> None:
        self._entries[_exec_cache_key(exec_config, cluster)] = creds

    def invalidate(self, exec_config: ExecConfig | None = None) -> None:
        """Forget one plugin's credentials (all, when ``exec_config`` is ``None``)."""
        if exec_config is None:
            self._entries.clear()
            return
        plugin, _ = _exec_cache_key(exec_config, None)
        for key in [k for k in self._entries if k[0] == plugin]:
            del self._entries[key]

    def lock_for(self, exec_config: ExecConfig, cluster: ResolvedCluster | None) -> asyncio.Lock:
        return self._locks.setdefault(_exec_cache_key(exec_config, cluster), asyncio.Lock())


def _read_file(path: Path, error: Callable[[Path, str], CredentialError]) -> bytes:
    try:
        # Regular files only, size-capped: a FIFO or /dev/zero never hangs or fills memory.
        return read_regular(path, MATERIAL_LIMIT)
    except FileReadError as exc:
        raise error(path, exc.reason) from None


async def get_credentials(
    cluster: ResolvedCluster,
    *,
    trust: TrustPolicy,
    cache: ExecCredentialCache | None = None,
    exec_timeout: float = DEFAULT_EXEC_TIMEOUT,
    max_output: int = DEFAULT_MAX_OUTPUT,
    base_env: Mapping[str, str] | None = None,
) -> RequestCredentials:
    """The credentials to use now for ``cluster``.

    Order, as in kube-rs (what mirrord uses): auth-provider (unsupported here) > username and
    password > token > tokenFile (read fresh) > exec plugin. Client certificate files or data
    from the kubeconfig are attached whatever the bearer mechanism.
    """
    # Defence in depth: the resolve step already refuses a workspace kubeconfig (see
    # trust.kubeconfig_trust); no path may reach a file it names or its server anyway.
    user = cluster.credentials
    for origin in (cluster.context_origin, cluster.cluster_origin):
        if not trust.allows_reading(origin):
            if user is not None:
                check_exec_trust(user, trust)  # the more precise refusal for a plugin
            raise UntrustedKubeconfigFiles(origin)
    if user is None:
        return RequestCredentials()
    if not trust.allows_reading(user.origin):
        check_exec_trust(user, trust)  # the more precise refusal, when a plugin is named
        raise UntrustedKubeconfigFiles(user.origin)
    base = RequestCredentials(
        impersonate=user.impersonate,
        impersonate_uid=user.impersonate_uid,
        impersonate_groups=user.impersonate_groups,
    )
    client_cert: ClientCertificate | None = None
    if user.client_certificate_data or user.client_certificate:
        # Files are read here (regular files only, capped), never handed to the TLS layer by
        # path: a FIFO or /dev/zero would hang or exhaust it, and a replaced file is noticed.
        cert = user.client_certificate_data
        if cert is None and user.client_certificate is not None:
            cert = SecretBytes(_read_file(user.client_certificate, CertificateFileError))
        key = user.client_key_data
        if key is None and user.client_key is not None:
            key = SecretBytes(_read_file(user.client_key, CertificateFileError))
        client_cert = ClientCertificate(cert_data=cert, key_data=key)
    if user.auth_provider is not None:
        raise UnsupportedAuthProvider(user.auth_provider.name, user.name)
    if user.username and user.password:
        return replace(
            base,
            username=user.username,
            password=user.password,
            client_certificate=client_cert,
            source="basic",
        )
    if user.token:
        return replace(
            base,
            token=user.token,
            client_certificate=client_cert,
            source="token",
        )
    if user.token_file:
        raw = _read_file(user.token_file, TokenFileError)
        token = raw.decode("utf-8", errors="replace").strip()
        if not token:
            raise TokenFileError(user.token_file, "the file is empty")
        return replace(
            base,
            token=Secret(token),
            client_certificate=client_cert,
            source="tokenFile",
        )
    if user.exec is not None:
        check_exec_trust(user, trust)
        creds = await _exec_cached(
            user.exec, cluster, cache, exec_timeout, max_output, base_env, trust
        )
        return replace(
            base,
            token=creds.token,
            client_certificate=creds.client_certificate or client_cert,
            expires_at=creds.expires_at,
            source="exec",
        )
    if client_cert is not None:
        return replace(
            base,
            client_certificate=client_cert,
            source="client-cert",
        )
    return base


async def _exec_cached(
    exec_config: ExecConfig,
    cluster: ResolvedCluster,
    cache: ExecCredentialCache | None,
    exec_timeout: float,
    max_output: int,
    base_env: Mapping[str, str] | None,
    trust: TrustPolicy,
) -> RequestCredentials:
    if cache is None:
        return await run_exec_plugin(
            exec_config,
            cluster=cluster,
            exec_timeout=exec_timeout,
            max_output=max_output,
            base_env=base_env,
            trust=trust,
        )
    async with cache.lock_for(exec_config, cluster):
        cached = cache.lookup(exec_config, cluster)
        if cached is not None:
            return cached
        creds = await run_exec_plugin(
            exec_config,
            cluster=cluster,
            exec_timeout=exec_timeout,
            max_output=max_output,
            base_env=base_env,
            trust=trust,
        )
        cache.store(exec_config, cluster, creds)
        return creds


# ---------------------------------------------------------------------------------------------
# A provider, consulted before each request
# ---------------------------------------------------------------------------------------------


def _stamp(paths: tuple[Path, ...]) -> tuple[object, ...]:
    out: list[object] = []
    for path in paths:
        try:
            st = os.stat(path)
            out.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append(None)
    return tuple(out)


def fingerprint(creds: RequestCredentials) -> str:
    """A digest of the credential material (never the material), to tell two apart."""
    digest = hashlib.sha256()
    cert = creds.client_certificate
    for part in (
        creds.token.reveal().encode() if creds.token else b"",
        (creds.username or "").encode(),
        creds.password.reveal().encode() if creds.password else b"",
        cert.cert_data.reveal() if cert and cert.cert_data else b"",
        cert.key_data.reveal() if cert and cert.key_data else b"",
    ):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


class CredentialProvider:
    """The credentials of one cluster identity, consulted before every request.

    Not headers baked into a cached connection (issue 11): the last credentials serve until
    they are about to expire (``expirationTimestamp`` of an exec plugin, minus a margin), a
    file they were read from changes (a rotated ``tokenFile``, a renewed client key), or the
    cluster answers 401 to them; then they are fetched again, and a request that met the 401
    is retried once with the fresh ones, as gtsystem/lightkube's ``ExecAuth`` re-runs its
    plugin on a 401 (``lightkube/config/client_adapter.py``, ``async_auth_flow``).
    """

    def __init__(
        self,
        cluster: ResolvedCluster,
        *,
        trust: TrustPolicy,
        cache: ExecCredentialCache | None = None,
        base_env: Mapping[str, str] | None = None,
        exec_timeout: float = DEFAULT_EXEC_TIMEOUT,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        refresh_margin: timedelta = timedelta(seconds=30),
    ) -> None:
        self.cluster = cluster
        self._trust = trust
        self._cache = cache
        self._base_env = base_env
        self._exec_timeout = exec_timeout
        self._clock = clock
        self._margin = refresh_margin
        self._creds: RequestCredentials | None = None
        self._stamp: tuple[object, ...] = ()
        self._lock = asyncio.Lock()
        user = cluster.credentials
        self._files: tuple[Path, ...] = user.referenced_files() if user is not None else ()
        self.fetches = 0
        """How many times credentials were obtained (tests read it)."""

    def _stale(self, creds: RequestCredentials) -> bool:
        expires = creds.expires_at
        if expires is not None and expires - self._margin <= self._clock():
            return True
        return _stamp(self._files) != self._stamp

    async def _fetch(self) -> RequestCredentials:
        stamp = _stamp(self._files)  # before reading: a change while reading shows next time
        creds = await get_credentials(
            self.cluster,
            trust=self._trust,
            cache=self._cache,
            exec_timeout=self._exec_timeout,
            base_env=self._base_env,
        )
        self.fetches += 1
        self._creds, self._stamp = creds, stamp
        return creds

    async def current(self) -> RequestCredentials:
        """The credentials to send now (fetched when missing, expiring or changed on disk)."""
        async with self._lock:
            creds = self._creds
            if creds is None or self._stale(creds):
                creds = await self._fetch()
            return creds

    async def after_unauthorized(self, used: RequestCredentials) -> RequestCredentials | None:
        """Fresh credentials after the cluster refused ``used`` (401), or ``None`` when fetching
        again yields the same material (a static token: retrying would only repeat the 401)."""
        async with self._lock:
            if self._creds is not None and fingerprint(self._creds) != fingerprint(used):
                return self._creds  # another request already refreshed them
            user = self.cluster.credentials
            if self._cache is not None and user is not None and user.exec is not None:
                self._cache.invalidate(user.exec)
            fresh = await self._fetch()
            return None if fingerprint(fresh) == fingerprint(used) else fresh
