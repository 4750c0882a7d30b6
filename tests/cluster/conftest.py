"""Shared fixtures for the kubeconfig and credentials tests: fixture files and a kubectl runner."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .helpers import FIXTURES, KUBECTL, KubectlRunner


@pytest.fixture
def merge_dir(tmp_path: Path) -> Path:
    """A private copy of fixtures/merge (tests may run kubectl or plugins in it)."""
    target = tmp_path / "kube"
    shutil.copytree(FIXTURES / "merge", target)
    (target / "nested" / "bin" / "plugin.sh").chmod(0o755)
    return target


@pytest.fixture
def kubectl(tmp_path: Path) -> KubectlRunner:
    """Run the real kubectl with HOME in tmp_path and only the given KUBECONFIG."""
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)

    def run(
        *args: str, kubeconfig: str, cwd: Path, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "KUBECONFIG": kubeconfig,
            # Keep kubectl from caching discovery or reaching a proxy.
            "KUBECACHEDIR": str(tmp_path / "kubecache"),
            "NO_PROXY": "*",
            **(extra_env or {}),
        }
        assert KUBECTL is not None
        return subprocess.run(
            [KUBECTL, *args],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )

    return run
