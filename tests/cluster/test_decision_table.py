"""The whole decision table against the loopback API server, through `check --format json`.

Each row: a cluster state (a kube context) x the `operator` setting (unset / true / false,
from the file or from MIRRORD_OPERATOR_ENABLE) -> the code, the severity, and the number
of API requests the verdict cost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mirrord_ls.cluster.checks.registry import UNITS
from mirrord_ls.loopback.scenarios import DemoClusters

OPERATOR = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
DISCOVERY = "/apis/operator.metalbear.co/v1"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
# The open-source agent units (tests/e2e/test_agent_units.py) run where mirrord makes its own
# agent (operator false, or not installed); this table is about the operator decision.
AGENT_CODES = {code for unit in UNITS if unit.name.startswith("agent-") for code in unit.codes}
JOB_AGENT_REVIEWS = 5  # agent_rbac.required_permissions: a targetless Job agent


def operator_findings(diagnostics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        d
        for d in diagnostics
        if d["source"] == "mirrord-ls (cluster)" and d["code"] not in AGENT_CODES
    ]


# context, operator setting -> (code or None, severity or None)
TABLE: list[tuple[str, bool | None, str | None, str | None]] = [
    ("healthy", None, None, None),
    ("healthy", True, None, None),
    ("healthy", False, None, None),
    # mirrord/operator/src/client.rs `OperatorApi::try_new`: on a 403 (kube::Error::Api) it
    # runs `discovery::operator_installed`; the kind being listed ("the operator is there,
    # but we failed getting it") it returns the error whether `operator` is unset or true.
    ("forbidden", None, "operator-forbidden", "error"),
    ("forbidden", True, "operator-forbidden", "error"),
    ("forbidden", False, None, None),
    ("not-installed", None, "operator-not-installed", "information"),
    ("not-installed", True, "operator-not-installed", "error"),
    ("not-installed", False, None, None),
    ("operator-down", None, "operator-check-failed", "warning"),
    ("operator-down", True, "operator-check-failed", "error"),
    ("operator-down", False, None, None),
    # Not HTTP answers: client.rs `try_new` `Err(error) => error`, mirrord stops.
    ("unreachable", None, "cluster-unreachable", "error"),
    ("unreachable", True, "cluster-unreachable", "error"),
    ("expired-certificate", None, "cluster-tls-error", "error"),
    ("wrong-name", True, "cluster-tls-error", "error"),
]


def run_check(
    config: Path, kubeconfig: Path, env_extra: dict[str, str] | None = None, trust: bool = False
) -> list[dict[str, Any]]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), **(env_extra or {})}
    trusting = ["--trust-workspace"] if trust else []
    result = subprocess.run(
        [sys.executable, "-m", "mirrord_ls", "check", str(config), "--format", "json", *trusting],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=config.parent,
    )
    assert result.returncode in (0, 1), result.stderr
    diagnostics: list[dict[str, Any]] = json.loads(result.stdout)[0]["diagnostics"]
    return diagnostics


def write_config(tmp_path: Path, context: str, setting: bool | None) -> Path:
    body: dict[str, Any] = {"kube_context": context}
    if setting is not None:
        body["operator"] = setting
    path = tmp_path / "work" / "app-mirrord.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(body, indent=2))
    return path


@pytest.mark.parametrize(("context", "setting", "code", "severity"), TABLE)
def test_decision_table(
    clusters: DemoClusters,
    tmp_path: Path,
    context: str,
    setting: bool | None,
    code: str | None,
    severity: str | None,
) -> None:
    server = clusters.server_for(context)
    before = server.log.count() if server else 0
    config = write_config(tmp_path, context, setting)
    diagnostics = run_check(config, clusters.kubeconfig)
    cluster = operator_findings(diagnostics)
    if code is None:
        assert cluster == []
    else:
        assert [(d["code"], d["severity"]) for d in cluster] == [(code, severity)]
        anchor_line = 1 if setting is None else 2  # kube_context, else operator
        assert cluster[0]["range"]["start"]["line"] == anchor_line
    if server is not None and context in ("healthy", "forbidden", "not-installed", "operator-down"):
        paths = [r.path for r in server.log.matching()][before:]
        operator_paths = [p for p in paths if p.startswith("/apis/operator")]
        reviews = paths.count(SSAR)
        if setting is False:
            assert operator_paths == []  # operator: false asks the operator nothing
            assert reviews == JOB_AGENT_REVIEWS  # mirrord creates its own agent
        elif context == "healthy":
            # One operator GET, no discovery; then the operator path's two reviews: the
            # user certificate (client.rs `get_client_certificate`) and the session
            # (`connect_in_new_session`); none for an agent: the operator runs it.
            assert operator_paths == [OPERATOR]
            assert reviews == 2
        elif context == "forbidden":
            assert operator_paths == [OPERATOR, DISCOVERY]
            assert reviews == 1  # the operator's own review; mirrord stops on 403
        elif context == "operator-down":
            # Discovery cannot tell (503 on the group too): with `operator` unset mirrord
            # falls back (client.rs `try_new` `Err(..) => Ok(None)`) and creates its own
            # agent, so the open-source units ask their reviews; with true it stops.
            assert reviews == (JOB_AGENT_REVIEWS if setting is None else 0)
        else:
            assert operator_paths == [OPERATOR, DISCOVERY]
            assert reviews == (JOB_AGENT_REVIEWS if setting is None else 0)


def test_forbidden_names_user_permission_and_fix(clusters: DemoClusters, tmp_path: Path) -> None:
    (diag,) = run_check(write_config(tmp_path, "forbidden", None), clusters.kubeconfig)
    assert 'user "bob"' in diag["message"]
    assert "get mirrordoperators.operator.metalbear.co" in diag["message"]
    assert "mirrord-operator-user" in diag["message"]


def test_operator_down_is_retried_like_mirrord(clusters: DemoClusters, tmp_path: Path) -> None:
    server = clusters.server_for("operator-down")
    assert server is not None
    run_check(write_config(tmp_path, "operator-down", None), clusters.kubeconfig)
    gets = [r for r in server.log.matching() if r.path == OPERATOR]
    assert len(gets) == 3  # the first try and two retries on 503


@pytest.mark.parametrize(
    ("env", "code", "severity"),
    [
        ({"MIRRORD_OPERATOR_ENABLE": "false"}, None, None),
        ({"MIRRORD_OPERATOR_ENABLE": "true"}, "operator-forbidden", "error"),
        ({"MIRRORD_KUBE_CONTEXT": "healthy"}, None, None),
        ({"MIRRORD_OPERATOR_ENABLE": "maybe"}, "invalid-value", "error"),
    ],
)
def test_environment_overrides(
    clusters: DemoClusters,
    tmp_path: Path,
    env: dict[str, str],
    code: str | None,
    severity: str | None,
) -> None:
    config = write_config(tmp_path, "forbidden", None)
    diagnostics = run_check(config, clusters.kubeconfig, env)
    cluster = operator_findings(diagnostics)
    assert [(d["code"], d["severity"]) for d in cluster] == ([(code, severity)] if code else [])


def test_context_not_found_lists_contexts(clusters: DemoClusters, tmp_path: Path) -> None:
    (diag,) = run_check(write_config(tmp_path, "production", None), clusters.kubeconfig)
    assert diag["code"] == "context-not-found"
    assert "healthy" in diag["message"] and "forbidden" in diag["message"]
    assert diag["range"]["start"] == {"line": 1, "character": 18}


def test_kubeconfig_field_relative_and_missing(clusters: DemoClusters, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    config = work / "app-mirrord.json"
    config.write_text(json.dumps({"kubeconfig": "nope/config", "kube_context": "healthy"}))
    (diag,) = run_check(config, clusters.kubeconfig)
    assert diag["code"] == "kubeconfig-not-found"
    assert str(work / "nope" / "config") in diag["message"]
    relative = os.path.relpath(clusters.kubeconfig, work)
    config.write_text(json.dumps({"kubeconfig": relative, "kube_context": "healthy"}))
    # A relative path is anchored where the workspace decides: used only when trusted.
    (diag,) = run_check(config, tmp_path / "not-this-one")
    assert diag["code"] == "untrusted-kubeconfig"
    assert str(clusters.kubeconfig) in diag["message"]
    assert run_check(config, tmp_path / "not-this-one", trust=True) == []


def test_twenty_configs_on_one_context_cost_one_check(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    server = clusters.server_for("forbidden")
    assert server is not None
    work = tmp_path / "many"
    work.mkdir()
    for i in range(20):
        (work / f"c{i}-mirrord.json").write_text(json.dumps({"kube_context": "forbidden"}))
    before = server.log.count(path=OPERATOR)
    env = {**os.environ, "KUBECONFIG": str(clusters.kubeconfig)}
    result = subprocess.run(
        [sys.executable, "-m", "mirrord_ls", "check", str(work), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=work,
    )
    data = json.loads(result.stdout)
    assert len(data) == 20
    assert all(d["diagnostics"][0]["code"] == "operator-forbidden" for d in data)
    assert server.log.count(path=OPERATOR) - before == 1


@pytest.mark.parametrize(
    ("config_value", "env", "code"),
    [
        (None, {}, "cluster-tls-error"),
        (True, {}, None),
        (True, {"MIRRORD_ACCEPT_INVALID_CERTIFICATES": "false"}, "cluster-tls-error"),
        (None, {"MIRRORD_ACCEPT_INVALID_CERTIFICATES": "true"}, None),
    ],
)
def test_accept_invalid_certificates_precedence(
    clusters: DemoClusters,
    tmp_path: Path,
    config_value: bool | None,
    env: dict[str, str],
    code: str | None,
) -> None:
    body: dict[str, Any] = {"kube_context": "wrong-name"}
    if config_value is not None:
        body["accept_invalid_certificates"] = config_value
    config = tmp_path / "work" / "app-mirrord.json"
    config.parent.mkdir()
    config.write_text(json.dumps(body))
    diagnostics = run_check(config, clusters.kubeconfig, env)
    cluster = [d["code"] for d in diagnostics if d["source"] == "mirrord-ls (cluster)"]
    assert cluster == ([code] if code else [])


def test_a_broken_template_in_the_target_is_not_judged_again(
    clusters: DemoClusters, tmp_path: Path
) -> None:
    config = tmp_path / "work" / "app-mirrord.yaml"
    config.parent.mkdir()
    config.write_text(
        "kube_context: healthy\ntarget: 'deployment/{{ get_env(name=\"MIRRORD_LS_NOPE\") }}'\n"
    )
    diagnostics = run_check(config, clusters.kubeconfig)
    assert [d["code"] for d in diagnostics] == ["template"]
