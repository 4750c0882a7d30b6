"""`mirrord-ls demo`, run as a real process: formats, --schema, what it leaves behind."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mirrord_ls.demo_setup import EXAMPLES, demo_agent_scenarios
from mirrord_ls.loopback.agent_scenarios import SCENARIOS
from terminal import ctrl_c_reaches_it

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


# The operator-path examples (examples/operator/) and the findings each must show: the
# contexts of loopback/operator_scenarios.py, the cases of
# tests/loopback/test_operator_preflight.py.
OPERATOR_EXAMPLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "op-healthy-mirrord.json": ("op-healthy", [("port-locked", "warning")]),
    "op-healthy-profile-mirrord.yaml": ("op-healthy", [("profile-not-found", "error")]),
    "op-no-certificate-mirrord.json": ("op-no-certificate", [("certificate-forbidden", "error")]),
    "op-no-session-mirrord.json": ("op-no-session", [("session-forbidden", "error")]),
    "op-no-profiles-mirrord.yaml": ("op-no-profiles", [("profile-forbidden", "error")]),
    "op-expired-mirrord.toml": (
        "op-expired",
        [
            ("license-expired", "warning"),
            ("requires-operator", "error"),
            ("target-requires-operator", "error"),
        ],
    ),
    "op-trial-expiring-mirrord.json": ("op-trial-expiring", [("license-expiring", "warning")]),
    "op-invalid-mirrord.json": ("op-invalid", [("operator-invalid", "error")]),
    "op-legacy-mirrord.json": ("op-legacy", [("feature-unsupported", "error")]),
    "op-legacy-no-certificate-mirrord.json": (
        "op-legacy-no-certificate",
        [("certificate-forbidden", "error")],
    ),
    "op-old-protocol-mirrord.toml": ("op-old-protocol", [("protocol-too-old", "error")]),
    "op-multi-cluster-mirrord.json": ("op-multi-cluster", []),
}
SECTION_TITLES = [
    "Operator discovery",
    "Operator path (preflight)",
    "Without the operator: the agent mirrord creates",
    "Config files: syntax, schema, templates",
]


@pytest.fixture(scope="module")
def json_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, str]:
    """One `mirrord-ls demo --format json` run: its JSON, its TMPDIR, its stderr."""
    tmp = tmp_path_factory.mktemp("json-demo")
    result = demo(tmp, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), tmp, result.stderr


def by_path(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in data["files"]}


def found(entry: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((d["code"], d["severity"]) for d in entry["diagnostics"])


def test_text_demo_groups_findings_and_ends_with_what_to_do_next(tmp_path: Path) -> None:
    result = demo(tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    lines = out.splitlines()
    # A section per path, in this order, each once.
    starts = [next(i for i, line in enumerate(lines) if line.startswith(t)) for t in SECTION_TITLES]
    assert starts == sorted(starts)
    assert all(sum(line.startswith(t) for line in lines) == 1 for t in SECTION_TITLES)
    # In a section: `context: description (file)`, then one line per finding.
    assert (
        "  forbidden: operator installed, RBAC forbids bob to use it"
        " (examples/cluster/forbidden-mirrord.json)" in lines
    )
    header = next(i for i, line in enumerate(lines) if line.startswith("  op-no-session: "))
    assert lines[header].endswith("(examples/operator/op-no-session-mirrord.json)")
    assert lines[header + 1].startswith("    3:13 error session-forbidden: RBAC forbids you")
    for name, (context, expected) in OPERATOR_EXAMPLES.items():
        where = f"(examples/operator/{name})"
        header = next(i for i, line in enumerate(lines) if line.endswith(where))
        assert lines[header].startswith(f"  {context}: "), lines[header]
        block = []
        for line in lines[header + 1 :]:
            if not line.startswith("    "):
                break
            block.append(line)
        for code, severity in expected:
            assert any(f" {severity} {code}: " in line for line in block), (name, block)
        if not expected:
            assert block == ["    no findings: mirrord will start with this config"]
    # Every finding line is `line:col severity code: message`, on one line.
    findings = [line for line in lines if line.startswith("    ") and "no findings" not in line]
    assert findings and all(
        re.fullmatch(r"    \d+:\d+ (error|warning|information|hint) [a-z-]+: .+", line)
        for line in findings
    )
    tail = "\n".join(out.rstrip().splitlines()[-4:])
    assert "What next" in tail and "demo --serve" in tail and "check PATH" in tail
    assert "README" in tail
    assert leftovers(tmp_path) == [], "the temporary folder (tokens, keys) is removed"


def test_json_demo_prints_json_only_on_stdout(json_demo: tuple[dict[str, Any], Path, str]) -> None:
    data, tmp, stderr = json_demo
    paths = by_path(data)
    assert "examples/cluster/forbidden-mirrord.json" in paths
    assert "examples/schema/.mirrord/mirrord.json" in paths
    codes = {d["code"] for f in data["files"] for d in f["diagnostics"]}
    assert {"operator-forbidden", "context-not-found", "syntax"} <= codes
    assert {c["context"] for c in data["contexts"]} >= {"healthy", "forbidden"}
    assert [s["title"] for s in data["sections"]] == SECTION_TITLES
    sections = {s["section"]: s["folder"] for s in data["sections"]}
    for f in data["files"]:
        assert f["path"].startswith(sections[f["section"]] + "/"), f
    assert paths["examples/cluster/forbidden-mirrord.json"]["context"] == "forbidden"
    assert paths["examples/schema/broken-mirrord.json"]["context"] is None
    assert "What next" in stderr
    assert leftovers(tmp) == []


def test_json_demo_shows_each_operator_path_verdict(
    json_demo: tuple[dict[str, Any], Path, str],
) -> None:
    data = json_demo[0]
    paths = by_path(data)
    contexts = {c["context"]: c for c in data["contexts"]}
    for name, (context, expected) in OPERATOR_EXAMPLES.items():
        entry = paths[f"examples/operator/{name}"]
        assert entry["section"] == "operator" and entry["context"] == context
        assert contexts[context]["section"] == "operator"
        got = found(entry)
        assert set(expected) <= set(got), (name, got)
        if not expected:
            assert got == []
    shipped = {p.name for p in (EXAMPLES / "operator").iterdir()}
    assert shipped == set(OPERATOR_EXAMPLES), "each shipped example has its expectation here"
    # Each operator context of the loopback has its example.
    assert {c for c, s in contexts.items() if s["section"] == "operator"} == {
        context for context, _ in OPERATOR_EXAMPLES.values()
    }


def test_json_demo_shows_each_agent_scenario(json_demo: tuple[dict[str, Any], Path, str]) -> None:
    data = json_demo[0]
    paths = by_path(data)
    shown = demo_agent_scenarios()
    for scenario in shown:
        entry = paths[f"examples/agent/{scenario.context}-mirrord.json"]
        assert entry["section"] == "agent" and entry["context"] == scenario.context
        assert found(entry) == sorted(scenario.expected), scenario.why
    # Every verdict of the agent checks (each code, each severity) has a context of its own.
    verdicts = {pair for s in SCENARIOS for pair in s.expected}
    assert verdicts <= {pair for s in shown for pair in s.expected}
    agent_files = {p for p, f in paths.items() if f["section"] == "agent"}
    assert agent_files == {f"examples/agent/{s.context}-mirrord.json" for s in shown}


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
        preexec_fn=ctrl_c_reaches_it,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or ()], daemon=True)
    reader.start()
    try:
        kubeconfigs = None
        seen = []
        deadline = time.monotonic() + DEMO_TIMEOUT
        while kubeconfigs is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            seen.append(line)
            if "export KUBECONFIG=" in line:
                value = line.split("=", 1)[1].strip()
                kubeconfigs = [Path(p) for p in value.split(os.pathsep)]
        assert kubeconfigs is not None, "".join(seen)
        assert len(kubeconfigs) == 3
        folder = kubeconfigs[0].parent
        assert all(k.is_file() and k.parent == folder for k in kubeconfigs)
        assert folder in leftovers(tmp_path)
        for section in ("cluster", "operator", "agent", "schema"):
            assert (folder / "examples" / section).is_dir()
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
