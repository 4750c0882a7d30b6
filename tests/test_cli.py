"""The `mirrord-ls check` command, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mirrord_ls import __version__
from mirrord_ls.loopback.scenarios import DemoClusters


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mirrord_ls", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=None if env is None else {**os.environ, **env},
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
        # as the LSP diagnostic carries it (the quick fix reads it)
        "data": {"field": "nework", "path": ["feature"], "suggestion": "network"},
    }
    assert 'Did you mean "network"?' in diag["message"]


def test_check_text_output_is_compiler_style(configs: Path, reference_schema: Path) -> None:
    target = configs / ".mirrord" / "mirrord.json"
    result = run("check", str(target), "--schema", str(reference_schema), "--no-cluster")
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{target}:2:15: error unknown-field: Unknown field")
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


def test_text_output_keeps_relative_paths_relative(configs: Path) -> None:
    """Like compilers and linters: the path as given, so editors and CI logs can link it."""
    (configs / ".mirrord" / "mirrord.json").write_text('{\n  "operator": "yes"\n}\n')
    result = run("check", ".", "--no-cluster", cwd=configs)
    assert result.returncode == 1, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(".mirrord/mirrord.json:2:15: error invalid-value:"), first
    data = json.loads(
        run("check", "ok-mirrord.yaml", "--format", "json", "--no-cluster", cwd=configs).stdout
    )
    assert data == [{"path": "ok-mirrord.yaml", "diagnostics": []}]


def test_missing_path_is_a_usage_error_even_beside_good_ones(configs: Path) -> None:
    result = run("check", str(configs / "ok-mirrord.yaml"), "no-such-mirrord.json", "--no-cluster")
    assert result.returncode == 2
    assert "no-such-mirrord.json: no such file or directory" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "could not be read"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not a JSON Schema"),
        ('{"type": 12}', "is not a valid JSON Schema"),
    ],
)
def test_unusable_schema_is_a_usage_error_with_the_reason(
    configs: Path, tmp_path: Path, content: str | None, reason: str
) -> None:
    schema = tmp_path / "schema.json"
    if content is not None:
        schema.write_text(content)
    result = run("check", str(configs), "--schema", str(schema), "--no-cluster")
    assert result.returncode == 2, result.stdout + result.stderr
    assert reason in result.stderr and "--schema" in result.stderr
    assert "Traceback" not in result.stderr


def test_folder_without_configs_says_so_and_passes(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{}")
    result = run("check", str(tmp_path), "--no-cluster")
    assert result.returncode == 0, result.stderr
    assert "no mirrord config files in this folder" in result.stderr
    for name in (".mirrord/*.{json,toml,yaml,yml}", "*mirrord.{json,toml,yaml,yml}"):
        assert name in result.stderr
    assert result.stdout.startswith("0 files checked")


def test_json_output_carries_each_diagnostics_data(tmp_path: Path, clusters: DemoClusters) -> None:
    """The cluster findings' `data` (context, server, verdict, checkedAt), as the LSP sends it."""
    config = tmp_path / "mirrord.json"
    config.write_text('{"kube_context": "forbidden"}\n')
    result = run(
        "check", str(config), "--format", "json", env={"KUBECONFIG": str(clusters.kubeconfig)}
    )
    # operator-forbidden is an error (mirrord stops: client.rs `OperatorApi::try_new`): exit 1.
    assert result.returncode == 1, result.stderr
    (diag,) = json.loads(result.stdout)[0]["diagnostics"]
    assert diag["code"] == "operator-forbidden"
    assert diag["data"]["context"] == "forbidden"
    assert diag["data"]["verdict"] == "forbidden"
    assert diag["data"]["server"] == clusters.contexts["forbidden"].server
    assert "checkedAt" in diag["data"]


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path) -> None:
    """`mirrord-ls demo | head -2`: the reader closes the pipe after its first lines; the
    next writes fail with EPIPE, and the command ends quietly (no BrokenPipeError trace)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirrord_ls", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()  # the first block arrived
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert not any(p.name.startswith("mirrord-ls-demo-") for p in tmp_path.iterdir())
