"""The install routes the README documents, for real: build, PyPI checks, wheel, pipx, pre-commit.

Each test builds or installs into its own temporary folder with the ordinary
tools (`python -m build`, `twine check`, `venv` + `pip`, `pipx`, `pre-commit`);
they need the package index, as a user's install does. They take minutes, so
they share one build of the sdist and the wheel.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirrord_ls import __version__

REPO = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 900  # seconds: a cold pip cache downloads every dependency
RUN_TIMEOUT = 180


def tool_env(**extra: str) -> dict[str, str]:
    """The test's environment, with the user's real pip cache (conftest moves HOME)."""
    real_home = pwd.getpwuid(os.getuid()).pw_dir
    env = {**os.environ, "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", "")}
    if not env["PIP_CACHE_DIR"]:
        env["PIP_CACHE_DIR"] = str(Path(real_home) / ".cache" / "pip")
    env.pop("PYTHONPATH", None)  # the installed package, not the checkout, must answer
    env.update(extra)
    return env


def sh(*cmd: str | Path, timeout: float = RUN_TIMEOUT, **kw: object) -> str:
    result = subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=kw.pop("env", tool_env()),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )
    assert result.returncode == 0, (
        f"{cmd}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout + result.stderr


def source_tree(dest: Path) -> Path:
    """The checkout's files as git would commit them (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = raw.decode()
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(sdist, wheel) built from a clean copy of the source tree by `python -m build`."""
    src = source_tree(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("dist")
    sh(sys.executable, "-m", "build", "--outdir", out, src, timeout=INSTALL_TIMEOUT)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    yield sdist, wheel


def test_sdist_and_wheel_pass_twine_check(built: tuple[Path, Path]) -> None:
    sdist, wheel = built
    out = sh(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel)
    assert out.count("PASSED") == 2, out
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert "mirrord_ls/examples/schema/.mirrord/mirrord.json" in names
    assert "mirrord_ls/examples/cluster/forbidden-mirrord.json" in names
    assert "mirrord_ls/examples/operator/op-expired-mirrord.toml" in names
    assert "mirrord_ls/config/builtin-schema.json" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    with tarfile.open(sdist) as tf:
        members = {m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name}
    assert {"LICENSE", "README.md", "pyproject.toml"} <= members
    assert "server/mirrord_ls/examples/schema/.mirrord/mirrord.json" in members


def check_installed(bin_dir: Path, work: Path) -> None:
    """`--version`, `check`, `demo` and `serve` from an installed `mirrord-ls`."""
    exe = bin_dir / "mirrord-ls"
    assert sh(exe, "--version").strip() == f"mirrord-ls {__version__}"

    (work / ".mirrord").mkdir(parents=True)
    (work / ".mirrord" / "mirrord.json").write_text('{"operator": "yes"}\n')
    env = tool_env(MIRRORD_LS_SCHEMA_URL="", MIRRORD_LS_CACHE_DIR=str(work / "cache"))
    result = subprocess.run(
        [exe, "check", ".", "--no-cluster", "--format", "json"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=env,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    (entry,) = json.loads(result.stdout)
    assert entry["path"] == ".mirrord/mirrord.json"
    assert [d["code"] for d in entry["diagnostics"]] == ["invalid-value"]

    demo = sh(exe, "demo", env=env, cwd=work)
    assert "examples/cluster/forbidden-mirrord.json" in demo and "operator-forbidden" in demo
    assert "examples/operator/op-no-session-mirrord.json" in demo and "session-forbidden" in demo
    assert "examples/agent/node-full-mirrord.json" in demo and "node-full" in demo

    serve_answers_initialize(exe, env)


def serve_answers_initialize(exe: Path, env: dict[str, str]) -> None:
    """One LSP round trip over stdio: initialize, shutdown, exit."""

    def frame(msg: dict[str, object]) -> bytes:
        body = json.dumps(msg).encode()
        return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)

    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    result = subprocess.run(
        [exe, "serve"],
        input=b"".join(frame(m) for m in messages),
        capture_output=True,
        timeout=RUN_TIMEOUT,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    answers = []
    rest = result.stdout
    while rest:
        header, _, rest = rest.partition(b"\r\n\r\n")
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        answers.append(json.loads(rest[:length]))
        rest = rest[length:]
    init = next(a for a in answers if a.get("id") == 1)
    assert init["result"]["serverInfo"]["name"] == "mirrord-ls"
    assert "textDocumentSync" in init["result"]["capabilities"]
    assert any(a.get("id") == 2 and "result" in a for a in answers)


def test_wheel_installs_in_a_fresh_venv_and_works(built: tuple[Path, Path], tmp_path: Path) -> None:
    _, wheel = built
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", venv)
    sh(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, timeout=INSTALL_TIMEOUT)
    check_installed(venv / "bin", tmp_path / "work")


def test_pipx_install_from_the_source_tree(tmp_path: Path) -> None:
    """The README's route on a Debian Python (PEP 668): `pipx install .` in a checkout."""
    src = source_tree(tmp_path / "checkout")
    env = tool_env(
        PIPX_HOME=str(tmp_path / "pipx-home"),
        PIPX_BIN_DIR=str(tmp_path / "bin"),
        PIPX_MAN_DIR=str(tmp_path / "man"),
    )
    sh(sys.executable, "-m", "pipx", "install", ".", cwd=src, env=env, timeout=INSTALL_TIMEOUT)
    check_installed(tmp_path / "bin", tmp_path / "work")


def test_pre_commit_hook_in_a_real_repository(tmp_path: Path) -> None:
    """The three lines of the README in a user's repository, run by the real pre-commit."""
    hooks = source_tree(tmp_path / "hooks-repo")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "snapshot"]):
        sh(*git, *cmd, cwd=hooks)
    rev = sh("git", "rev-parse", "HEAD", cwd=hooks).strip()

    user = tmp_path / "user-repo"
    (user / ".mirrord").mkdir(parents=True)
    (user / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks: [{{id: mirrord-ls}}]\n"
    )
    (user / ".mirrord" / "mirrord.json").write_text('{"operator": "yes"}\n')
    (user / "settings.json").write_text('{"operator": "yes"}\n')  # not a mirrord config
    sh(*git, "init", "-q", cwd=user)
    sh(*git, "add", "-A", cwd=user)
    env = tool_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), MIRRORD_LS_SCHEMA_URL="")
    cmd = [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"]
    failed = subprocess.run(
        cmd, cwd=user, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, env=env, check=False
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert ".mirrord/mirrord.json:1:14: error invalid-value" in failed.stdout, failed.stdout
    assert "settings.json" not in failed.stdout

    (user / ".mirrord" / "mirrord.json").write_text('{"operator": false}\n')
    sh(*git, "add", "-A", cwd=user)
    passed = sh(*cmd, cwd=user, env=env)
    assert "mirrord-ls" in passed and "Passed" in passed
