"""The TLS context for one cluster: whom to trust, and which client identity to present.

Every file is read through :func:`mirrord_ls.fs.read_regular` (regular files only, capped),
and the CA is loaded from memory. Python's ``ssl`` loads a client certificate and key only by
path, so the key is handed over without touching a disk where the platform allows it (an
anonymous ``memfd`` on Linux, opened through ``/proc/self/fd``); elsewhere it is written to a
0600 file in a 0700 folder that is removed as soon as the context has loaded it, on every
path out (normal return, exception, cancellation). A folder left by a process that was
killed in that instant is removed at the next start (:func:`remove_stale_folders`).

No LSP types here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import ssl
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from mirrord_ls.cluster.credentials import ClientCertificate
from mirrord_ls.cluster.kubeconfig import MATERIAL_LIMIT, CertificateAuthority
from mirrord_ls.fs import FileReadError, read_regular

__all__ = ["TlsMaterialError", "client_context", "remove_stale_folders"]

FOLDER_PREFIX = "mirrord-ls-tls-"
_STALE_SWEPT = False


class TlsMaterialError(Exception):
    """The CA or the client identity cannot be used; the message names the file, never data."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_folders(root: Path | None = None) -> list[Path]:
    """Remove key folders of mirrord-ls processes that no longer run (killed mid-load)."""
    base = Path(root or tempfile.gettempdir())
    removed: list[Path] = []
    uid = os.getuid() if hasattr(os, "getuid") else None
    with contextlib.suppress(OSError):
        for entry in base.iterdir():
            if not entry.name.startswith(FOLDER_PREFIX):
                continue
            pid_text = entry.name[len(FOLDER_PREFIX) :].split("-", 1)[0]
            if not pid_text.isdigit() or int(pid_text) == os.getpid():
                continue
            try:
                info = entry.lstat()
            except OSError:
                continue
            if uid is not None and info.st_uid != uid:
                continue
            if not _pid_alive(int(pid_text)):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


@contextlib.contextmanager
def _as_paths(cert: bytes, key: bytes | None, folder_root: Path | None) -> Iterator[list[str]]:
    """Paths ``ssl`` can open for ``cert`` (and ``key``), valid inside the ``with`` only."""
    blobs = [cert] if key is None else [cert, key]
    if folder_root is None and hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fds: list[int] = []
        try:
            for blob in blobs:
                fd = os.memfd_create("mirrord-ls-tls", getattr(os, "MFD_CLOEXEC", 0))
                fds.append(fd)
                os.write(fd, blob)
            yield [f"/proc/self/fd/{fd}" for fd in fds]
            return
        finally:
            for fd in fds:
                os.close(fd)
    global _STALE_SWEPT
    if not _STALE_SWEPT:  # a folder left by a process killed mid-load: gone before we add one
        _STALE_SWEPT = True
        remove_stale_folders(folder_root)
    folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=folder_root)
    try:
        os.chmod(folder, 0o700)
        paths = []
        for i, blob in enumerate(blobs):
            path = os.path.join(folder, f"{i}.pem")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            paths.append(path)
        yield paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load_ca(context: ssl.SSLContext, ca: CertificateAuthority) -> None:
    data = ca.data
    if data is None and ca.file is not None:
        try:
            data = read_regular(ca.file, MATERIAL_LIMIT)
        except FileReadError as exc:
            raise TlsMaterialError(
                f"cannot read the certificate-authority file {ca.file}: {exc}"
            ) from None
    if not data:
        return
    where = f"the certificate-authority file {ca.file}" if ca.file else "certificate-authority-data"
    try:
        text = data.decode("ascii")
        if "-----BEGIN" in text:
            context.load_verify_locations(cadata=text)
        else:
            context.load_verify_locations(cadata=data)
    except (UnicodeDecodeError, ssl.SSLError, ValueError):
        try:
            context.load_verify_locations(cadata=data)
        except (ssl.SSLError, ValueError):
            raise TlsMaterialError(f"{where} holds no usable certificate") from None


_CACHE: OrderedDict[str, ssl.SSLContext] = OrderedDict()
_CACHE_SIZE = 64
_CACHE_LOCK = threading.Lock()


def _cache_key(
    ca: CertificateAuthority | None, insecure: bool, identity: ClientCertificate | None
) -> str:
    digest = hashlib.sha256(b"insecure" if insecure else b"verify")
    if ca is not None and not insecure:
        data = ca.data
        if data is None and ca.file is not None:
            try:
                data = read_regular(ca.file, MATERIAL_LIMIT)
            except FileReadError:
                data = f"unreadable:{ca.file}".encode()
        digest.update(b"ca" + (data or b""))
    if identity is not None:
        for part in (identity.cert_data, identity.key_data):
            value = part.reveal() if part is not None else b""
            digest.update(len(value).to_bytes(8, "big") + value)
    return digest.hexdigest()


def client_context(
    ca: CertificateAuthority | None,
    *,
    insecure: bool,
    identity: ClientCertificate | None,
    key_folder: Path | None = None,
) -> ssl.SSLContext:
    """A client TLS context: the cluster's CA (or the system's), hostname checks unless
    ``insecure``, and the client ``identity``. ``key_folder`` forces the file fallback there
    (tests; platforms without ``memfd``).

    Contexts are shared by everything with the same trust and identity (a hundred contexts
    of one cluster load its CA once)."""
    key = _cache_key(ca, insecure, identity)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None and key_folder is None:
            _CACHE.move_to_end(key)
            return cached
    context = _new_context(ca, insecure=insecure, identity=identity, key_folder=key_folder)
    with _CACHE_LOCK:
        _CACHE[key] = context
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return context


def _new_context(
    ca: CertificateAuthority | None,
    *,
    insecure: bool,
    identity: ClientCertificate | None,
    key_folder: Path | None,
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # hostname checks, certificates required
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif ca is not None and (ca.data or ca.file):
        # As client-go: a cluster's CA replaces the system's roots, it does not add to them.
        _load_ca(context, ca)
    else:
        context.load_default_certs()
    if identity is not None and identity.cert_data is not None:
        cert = identity.cert_data.reveal()
        key = identity.key_data.reveal() if identity.key_data is not None else None
        try:
            with _as_paths(cert, key, key_folder) as paths:
                context.load_cert_chain(paths[0], paths[1] if len(paths) > 1 else None)
        except (ssl.SSLError, ValueError, OSError):
            # Never the data in the message: only that it did not load.
            raise TlsMaterialError(
                "the client certificate and key cannot be used (not PEM, or they do not match)"
            ) from None
    return context
