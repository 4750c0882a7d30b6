"""`mirrord-ls demo`, run as a real process: formats, --schema, what it leaves behind."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

DEMO_TIMEOUT = 180  # seconds; the demo takes a few on an idle machine


def demo(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mirrord_ls", "demo", *args],
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        env={**os.environ, "TMPDIR": str(tmp)},
        check=False,
    )


def iter_queue(q: queue.Queue[str]) -> Iterator[str]:
    while not q.empty():
        yield q.get_nowait()


def leftovers(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("mirrord-ls-demo-*"))


def test_text_demo_ends_with_what_to_do_next(tmp_path: Path) -> None:
    result = demo(tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "examples/cluster/forbidden-mirrord.json" in out
    assert "operator-forbidden" in out
    tail = "\n".join(out.rstrip().splitlines()[-4:])
    assert "What next" in tail and "demo --serve" in tail and "check PATH" in tail
    assert "README" in tail
    assert leftovers(tmp_path) == [], "the temporary folder (tokens, keys) is removed"


def test_json_demo_prints_json_only_on_stdout(tmp_path: Path) -> None:
    result = demo(tmp_path, "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    paths = {f["path"] for f in data["files"]}
    assert "examples/cluster/forbidden-mirrord.json" in paths
    assert "examples/schema/.mirrord/mirrord.json" in paths
    codes = {d["code"] for f in data["files"] for d in f["diagnostics"]}
    assert {"operator-forbidden", "context-not-found", "syntax"} <= codes
    assert {c["context"] for c in data["contexts"]} >= {"healthy", "forbidden"}
    assert "What next" in result.stderr
    assert leftovers(tmp_path) == []


def test_demo_takes_a_schema(tmp_path: Path, reference_schema: Path) -> None:
    result = demo(tmp_path, "--format", "json", "--schema", str(reference_schema))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"].startswith("configured schema")
    messages = [d["message"] for f in data["files"] for d in f["diagnostics"]]
    assert any('Did you mean "namespace"' in m for m in messages)


def test_demo_with_an_unusable_schema_is_a_usage_error(tmp_path: Path) -> None:
    result = demo(tmp_path, "--schema", str(tmp_path / "absent.json"))
    assert result.returncode == 2
    assert "could not be read" in result.stderr
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_serving_demo_removes_its_folder_when_stopped(tmp_path: Path, stop: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirrord_ls", "demo", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or ()], daemon=True)
    reader.start()
    try:
        kubeconfig = None
        seen = []
        deadline = time.monotonic() + DEMO_TIMEOUT
        while kubeconfig is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            seen.append(line)
            if "export KUBECONFIG=" in line:
                kubeconfig = Path(line.split("=", 1)[1].strip())
        assert kubeconfig is not None, "".join(seen)
        assert kubeconfig.is_file() and kubeconfig.parent in leftovers(tmp_path)
        assert (kubeconfig.parent / "examples" / "cluster").is_dir()
        proc.send_signal(stop)
        proc.wait(timeout=DEMO_TIMEOUT)
        reader.join(timeout=DEMO_TIMEOUT)
        out = "".join(seen) + "".join(iter_queue(lines))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "stopped" in out, out
    assert leftovers(tmp_path) == []
