"""Reading files a workspace or a kubeconfig names: regular files only, with a size cap.

Every file the server reads on someone else's say-so (config files, kubeconfigs,
token, certificate and key files, schemas) goes through `read_regular`. A FIFO
would block the reader forever and `/dev/zero` would fill memory, so the file is
opened without blocking, checked to be a regular file on the open descriptor
(no race with a swap between a check and the open), and read up to its cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MiB = 1024 * 1024
DEFAULT_LIMIT = 4 * MiB


class FileReadError(OSError):
    """Why a file was not read, in words fit for a diagnostic."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def read_regular(path: str | os.PathLike[str], limit: int = DEFAULT_LIMIT) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileReadError(p, "file not found") from None
    except IsADirectoryError:
        raise FileReadError(p, "this is a folder, not a file") from None
    except OSError as exc:
        raise FileReadError(p, exc.strerror or str(exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileReadError(p, "this is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise FileReadError(p, f"not a regular file ({_kind(info.st_mode)}); not read")
        if info.st_size > limit:
            size, cap = _size(info.st_size), _size(limit)
            raise FileReadError(p, f"the file is {size}, over the {cap} limit")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 * MiB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read it
                raise FileReadError(p, f"the file is over the {_size(limit)} limit")
        return b"".join(chunks)
    except FileReadError:
        raise
    except OSError as exc:
        raise FileReadError(p, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _size(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:.1f} MB".replace(".0 MB", " MB")
    if n >= 1024:
        return f"{n // 1024} KB"
    return f"{n} bytes"
