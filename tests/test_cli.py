"""The `mirrord-ls check` command, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mirrord_ls import __version__


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mirrord_ls", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    (tmp_path / ".mirrord").mkdir()
    (tmp_path / ".mirrord" / "mirrord.json").write_text('{\n  "feature": {"nework": {}}\n}\n')
    (tmp_path / "ok-mirrord.yaml").write_text("operator: false\n")
    (tmp_path / "notes.txt").write_text("not a config")
    return tmp_path


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"mirrord-ls {__version__}"


def test_check_json_output(configs: Path, reference_schema: Path) -> None:
    result = run(
        "check", str(configs), "--format", "json", "--schema", str(reference_schema), "--no-cluster"
    )
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    by_path = {Path(entry["path"]).name: entry["diagnostics"] for entry in data}
    assert set(by_path) == {"mirrord.json", "ok-mirrord.yaml"}
    assert by_path["ok-mirrord.yaml"] == []
    (diag,) = by_path["mirrord.json"]
    assert diag == {
        "range": {"start": {"line": 1, "character": 14}, "end": {"line": 1, "character": 22}},
        "severity": "error",
        "code": "unknown-field",
        "source": "mirrord-ls",
        "message": diag["message"],
    }
    assert 'Did you mean "network"?' in diag["message"]


def test_check_text_output_is_compiler_style(configs: Path, reference_schema: Path) -> None:
    target = configs / ".mirrord" / "mirrord.json"
    result = run("check", str(target), "--schema", str(reference_schema), "--no-cluster")
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{target.resolve()}:2:15: error unknown-field: Unknown field")
    assert "configured schema" in result.stdout.splitlines()[-1]


def test_clean_file_exits_zero(configs: Path, reference_schema: Path) -> None:
    result = run(
        "check", str(configs / "ok-mirrord.yaml"), "--schema", str(reference_schema), "--no-cluster"
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("args", [("check",), ("check", "/nonexistent/x.json"), ("bogus",)])
def test_usage_errors_exit_two(args: tuple[str, ...]) -> None:
    assert run(*args).returncode == 2


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("bad-mirrord.json", b"\xff\xfe\x00garbage", "not valid UTF-8"),
        ("bom-mirrord.json", '\ufeff{"operator": true}'.encode(), "byte-order mark"),
        ("crlf-mirrord.yaml", b"operator: true\r\nfeature:\r\n  fs: read\r\n", None),
        ("x-mirrord.json", b"", "empty"),
    ],
)
def test_bad_bytes_get_clear_messages(
    tmp_path: Path, reference_schema: Path, name: str, content: bytes, words: str | None
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = run(
        "check", str(path), "--format", "json", "--schema", str(reference_schema), "--no-cluster"
    )
    diagnostics = json.loads(result.stdout)[0]["diagnostics"]
    if words is None:
        assert diagnostics == [] and result.returncode == 0
    else:
        assert any(words in d["message"] for d in diagnostics)
        errors = any(d["severity"] == "error" for d in diagnostics)
        assert result.returncode == (1 if errors else 0)
