"""A FIFO or /dev/zero where a kubeconfig, a tokenFile or a CA is expected (issue 16).

Every file read on the cluster side goes through `fs.read_regular`: regular files only,
with a size cap. `check` (which would hang on a FIFO and run out of memory on /dev/zero
before) answers each with a finding that says what the file is, at once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml

from .support import run_check


def kubeconfig(path: Path, *, token_file: str | None = None, ca_file: str | None = None) -> Path:
    cluster: dict[str, object] = {"server": "https://127.0.0.1:1"}
    if ca_file:
        cluster["certificate-authority"] = ca_file
    user: dict[str, object] = {"tokenFile": token_file} if token_file else {"token": "t-Yy8"}
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def test_pipes_and_devices_get_a_finding_not_a_hang(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    fifo = files / "fifo"
    os.mkfifo(fifo)
    kubeconfigs = {
        "kubeconfig is a FIFO": (str(fifo), "kubeconfig-invalid", "named pipe"),
        "kubeconfig is /dev/zero": ("/dev/zero", "kubeconfig-invalid", "character device"),
        "tokenFile is a FIFO": (
            str(kubeconfig(files / "k1", token_file=str(fifo))),
            "cluster-auth-failed",
            "named pipe",
        ),
        "tokenFile is /dev/zero": (
            str(kubeconfig(files / "k2", token_file="/dev/zero")),
            "cluster-auth-failed",
            "character device",
        ),
        "CA is a FIFO": (
            str(kubeconfig(files / "k3", ca_file=str(fifo))),
            "cluster-tls-error",
            "named pipe",
        ),
        "CA is /dev/zero": (
            str(kubeconfig(files / "k4", ca_file="/dev/zero")),
            "cluster-tls-error",
            "character device",
        ),
    }
    ws = tmp_path / "ws"
    ws.mkdir()
    configs = {}
    for i, (name, (path, _, _)) in enumerate(kubeconfigs.items()):
        config = ws / f"c{i}-mirrord.json"
        config.write_text(json.dumps({"kubeconfig": path, "operator": True}))
        configs[str(config.resolve())] = name
    result = run_check(str(ws), "--format", "json", cwd=ws, timeout=120)
    seen = {configs[entry["path"]]: entry["diagnostics"] for entry in json.loads(result.stdout)}
    for name, (_, code, words) in kubeconfigs.items():
        (diag,) = seen[name]
        assert diag["code"] == code, (name, diag)
        assert words in diag["message"], (name, diag["message"])
