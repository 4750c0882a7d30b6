"""fs.read_regular: regular files only, capped, never blocking on a FIFO."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mirrord_ls.fs import FileReadError, read_regular


def test_reads_a_regular_file(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_bytes(b'{"a": 1}')
    assert read_regular(f) == b'{"a": 1}'


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.mirrord.json"
    os.mkfifo(fifo)
    with pytest.raises(FileReadError, match="named pipe"):
        read_regular(fifo)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_device_is_refused_also_through_a_symlink(tmp_path: Path) -> None:
    link = tmp_path / "mirrord.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(FileReadError, match="character device"):
        read_regular(link)


def test_size_cap(tmp_path: Path) -> None:
    f = tmp_path / "big"
    f.write_bytes(b"x" * 2048)
    assert len(read_regular(f, limit=2048)) == 2048
    with pytest.raises(FileReadError, match="over the 1 KB limit"):
        read_regular(f, limit=1024)


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(FileReadError, match="file not found"):
        read_regular(tmp_path / "nope")
    with pytest.raises(FileReadError, match="folder"):
        read_regular(tmp_path)
