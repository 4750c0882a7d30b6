"""The open-source agent checks end to end: `mirrord-ls check` and the real server over
stdio, against the loopback agent scenarios (real HTTPS), each with its control case.

Each scenario (`loopback/agent_scenarios.py`) names the mirrord source that decides it;
here every code must arrive with its severity, on the config key it belongs to, with the
message that predicts mirrord's; the hover names the agent's namespace and why; the
`agent-forbidden` quick fix hands over a Role and a RoleBinding for exactly one user; and
the request log counts what a cold walk costs (docs/preflight-agent.md) and a warm one.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from lsprotocol import types

from lsp_session import lsp_session, open_document, wait_for_diagnostics
from mirrord_ls.cluster.checks.registry import UNITS
from mirrord_ls.cluster.inputs import ClusterInputs, freeze
from mirrord_ls.cluster.service import ClusterService
from mirrord_ls.config.targets import target_from_config
from mirrord_ls.loopback.agent_scenarios import (
    SCENARIOS,
    AgentClusters,
    AgentScenario,
    start_agent_clusters,
)

AGENT_CODES = {code for unit in UNITS if unit.name.startswith("agent-") for code in unit.codes}
# What each message must say: the words of the rule (and of mirrord, where it prints them).
MESSAGE = {
    "agent-forbidden": "RBAC denies you",
    "agent-namespace-not-found": "does not exist, so mirrord cannot create its agent Job",
    "agent-blocked-by-policy": "Pod Security",
    "target-not-ready": "mirrord will stop",
    "node-full": "has no capacity for a new agent pod",
    "probe-steal": "may steal HTTP/gRPC health checks",
    "agent-needs-privileged": "ambient Istio mesh",
    "ephemeral-unsupported": "pods/ephemeralcontainers",
    "target-container-picked": "mirrord picked",
    "service-mesh-detected": "service mesh detected",
    "openshift-detected": "OpenShift",
}
NAMESPACE_CODES = ("agent-forbidden", "agent-namespace-not-found", "agent-blocked-by-policy")
BY_NAME = {s.context: s for s in SCENARIOS}


def config_text(scenario: AgentScenario) -> str:
    return json.dumps({"kube_context": scenario.context, **scenario.config}, indent=2) + "\n"


def expected_line(scenario: AgentScenario, code: str) -> str:
    """A piece of the line the finding must start on: the key it belongs to."""
    config = scenario.config
    agent = config.get("agent", {})
    if code in NAMESPACE_CODES:
        if agent.get("ephemeral"):
            return '"ephemeral"'  # the target pod's namespace: agent.ephemeral decided it
        if "namespace" in agent:
            return f'"namespace": "{agent["namespace"]}"'
        return '"kube_context"'  # the context's namespace decided it
    if code == "probe-steal":
        return '"incoming"'
    if code == "ephemeral-unsupported":
        return '"ephemeral"'
    if code == "openshift-detected":
        return '"kube_context"'
    return '"path"'  # the target's findings (agent.privileged is not written: the target)


def check_placement(scenario: AgentScenario, text: str, found: Sequence[dict[str, Any]]) -> None:
    lines = text.splitlines()
    got = sorted((d["code"], d["severity"]) for d in found)
    assert got == sorted(scenario.expected), (scenario.why, [d["message"] for d in found])
    for d in found:
        line = lines[d["range"]["start"]["line"]]
        assert expected_line(scenario, d["code"]) in line, (d["code"], line)
        assert MESSAGE[d["code"]] in d["message"], d["message"]


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentClusters]:
    with start_agent_clusters(tmp_path_factory.mktemp("agent") / "kubeconfig") as started:
        yield started


@pytest.fixture(scope="module")
def workspace(clusters: AgentClusters, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("agent-ws")
    for scenario in SCENARIOS:
        (work / f"{scenario.context}.mirrord.json").write_text(config_text(scenario))
    return work


@pytest.fixture(scope="module")
def checked(clusters: AgentClusters, workspace: Path) -> dict[str, list[dict[str, Any]]]:
    """`mirrord-ls check --format json` over every scenario's config, once."""
    env = {**os.environ, "KUBECONFIG": str(clusters.kubeconfig)}
    result = subprocess.run(
        [sys.executable, "-m", "mirrord_ls", "check", str(workspace), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
        cwd=workspace,
    )
    return {Path(r["path"]).name: r["diagnostics"] for r in json.loads(result.stdout)}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.context for s in SCENARIOS])
def test_check_reaches_each_code(
    checked: dict[str, list[dict[str, Any]]], scenario: AgentScenario
) -> None:
    diagnostics = checked[f"{scenario.context}.mirrord.json"]
    found = [d for d in diagnostics if d["code"] in AGENT_CODES]
    assert all(d["source"] == "mirrord-ls (cluster)" for d in found)
    check_placement(scenario, config_text(scenario), found)


def as_dict(diagnostic: types.Diagnostic) -> dict[str, Any]:
    return {
        "code": diagnostic.code,
        "severity": {1: "error", 2: "warning", 3: "information", 4: "hint"}[
            int(diagnostic.severity or 1)
        ],
        "message": diagnostic.message,
        "range": {"start": {"line": diagnostic.range.start.line}},
    }


def walked(diagnostics: Sequence[types.Diagnostic]) -> bool:
    """The cluster walk has answered: the operator gate's finding (no operator here)."""
    return any(d.code == "operator-not-installed" for d in diagnostics)


async def test_editor_reaches_each_code(
    clusters: AgentClusters, workspace: Path, tmp_path: Path
) -> None:
    env = {"KUBECONFIG": str(clusters.kubeconfig), "MIRRORD_LS_CACHE_DIR": str(tmp_path)}
    async with lsp_session(workspace, env=env) as lsp:
        uris = {
            s.context: open_document(lsp, workspace / f"{s.context}.mirrord.json", "json")
            for s in SCENARIOS
        }
        for scenario in SCENARIOS:
            diagnostics = await wait_for_diagnostics(lsp, uris[scenario.context], walked, 120)
            found = [as_dict(d) for d in diagnostics if d.code in AGENT_CODES]
            check_placement(scenario, config_text(scenario), found)


async def hover_at(lsp: Any, uri: str, text: str, key: str, value: str = "") -> str:
    """The hover on the first `"key"` (on a line that also holds `value`)."""
    line = next(i for i, row in enumerate(text.splitlines()) if f'"{key}"' in row and value in row)
    column = text.splitlines()[line].index(f'"{key}"') + 1
    hover = await lsp.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=column),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return str(hover.contents.value)


async def test_hover_says_namespace_why_variant_and_readiness(
    clusters: AgentClusters, tmp_path: Path
) -> None:
    work = tmp_path / "ws"
    work.mkdir()
    pending, moved = BY_NAME["target-not-ready-pending"], BY_NAME["policy-baseline-agent-namespace"]
    ephemeral = BY_NAME["ephemeral-supported"]
    for s in (pending, moved, ephemeral):
        (work / f"{s.context}.mirrord.json").write_text(config_text(s))
    async with lsp_session(work, env={"KUBECONFIG": str(clusters.kubeconfig)}) as lsp:
        uris = {
            s.context: open_document(lsp, work / f"{s.context}.mirrord.json", "json")
            for s in (pending, moved, ephemeral)
        }
        for uri in uris.values():
            await wait_for_diagnostics(lsp, uri, walked, 120)

        text = config_text(pending)
        on_target = await hover_at(lsp, uris[pending.context], text, "target")
        # job.rs create_job_agent: the context's namespace, not the target's
        assert "a Job" in on_target and "namespace `agents`" in on_target
        assert "not the target's namespace (apps)" in on_target
        assert "target pod: not ready" in on_target and "Running" in on_target

        text = config_text(moved)
        on_agent = await hover_at(lsp, uris[moved.context], text, "agent")
        assert "namespace `agents`" in on_agent
        assert "created in `agent.namespace` (agents)" in on_agent
        assert "is ready" in on_agent
        on_namespace = await hover_at(lsp, uris[moved.context], text, "namespace", "agents")
        assert "`get pods/portforward`: allowed" in on_namespace  # a GET upgrade
        assert "create pods/portforward" not in on_namespace

        text = config_text(ephemeral)
        on_ephemeral = await hover_at(lsp, uris[ephemeral.context], text, "agent")
        assert "an ephemeral container in the target pod" in on_ephemeral
        assert "namespace `apps`" in on_ephemeral and "target's namespace" in on_ephemeral


async def test_quick_fix_hands_over_the_role_for_one_user(
    clusters: AgentClusters, tmp_path: Path
) -> None:
    scenario = BY_NAME["agent-portforward-create-only"]
    work, cache = tmp_path / "ws", tmp_path / "cache"
    work.mkdir()
    path = work / "app.mirrord.json"
    path.write_text(config_text(scenario))
    env = {"KUBECONFIG": str(clusters.kubeconfig), "MIRRORD_LS_CACHE_DIR": str(cache)}
    async with lsp_session(work, env=env) as lsp:
        uri = open_document(lsp, path, "json")
        diagnostics = await wait_for_diagnostics(
            lsp, uri, lambda ds: any(d.code == "agent-forbidden" for d in ds), 120
        )
        (forbidden,) = [d for d in diagnostics if d.code == "agent-forbidden"]
        actions = await lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=forbidden.range,
                context=types.CodeActionContext(diagnostics=[forbidden]),
            )
        )
        # A code action with only a command reads back as a Command in lsprotocol's client,
        # its `command` holding the action as text: read it back.
        (item,) = actions or []
        action = ast.literal_eval(item.command) if isinstance(item, types.Command) else item
        assert action["command"] == "mirrord-ls.agentRole"
        assert "Role and RoleBinding" in action["title"]
        (args,) = action["arguments"]
        assert args["namespace"] == "agents" and args["user"] == "kubectl-pf"
        result = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command=action["command"], arguments=[args])
        )
        assert lsp.shown_documents and lsp.shown_documents[-1].uri.endswith(".yaml")
    role, binding = yaml.safe_load_all(result["yaml"])
    assert role["kind"] == "Role" and binding["kind"] == "RoleBinding"
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "agents"
    # RBAC's name for the user (SelfSubjectReview), exactly one subject
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "kubectl-pf"}
    ]
    rules = {tuple(r["resources"]): r["verbs"] for r in role["rules"]}
    assert "get" in rules[("pods/portforward",)] and ["create"] == rules[("jobs",)]
    written = Path(result["path"])
    assert written.parent == cache and not written.is_relative_to(work)
    assert documents(written) == [role, binding]
    assert sorted(p.name for p in work.iterdir()) == ["app.mirrord.json"]  # nothing written


def documents(path: Path) -> list[Any]:
    return list(yaml.safe_load_all(path.read_text("utf-8")))


# -- what a walk costs: the loopback request log --------------------------------------------

# Cold, `operator: false` (no discovery): reviews (5 Job / 7 ephemeral) + the agent namespace
# + /apis, plus the target (shared with target-exists), its node and the pods on it, /api/v1.
BUDGET = {
    "policy-baseline-targetless": 7,  # 5 SSAR, namespace, /apis
    "node-full": 10,  # + GET pod, GET node, LIST Running pods on it
    "node-full-unchecked": 8,  # + GET pod (no node check)
    "agent-ok": 11,  # + GET deployment, LIST its pods, node, pods on node
    "target-ready-rollout": 12,  # + GET the rollout's workloadRef deployment
    "ephemeral-supported": 11,  # 7 SSAR, namespace, /apis, GET pod, /api/v1
    "target-not-ready-pending": 8,  # a target not ready: no node check
    "agent-forbidden": 12,  # 5 SSAR + SelfSubjectReview (the fix's user) + the rest
}


def inputs_of(scenario: AgentScenario) -> ClusterInputs:
    config = {"operator": False, "kube_context": scenario.context, **scenario.config}
    target, target_path = target_from_config(config.get("target"))
    target_ns = (config.get("target") or {}).get("namespace")
    return ClusterInputs(
        operator=False,
        kube_context=scenario.context,
        target=target,
        target_path=target_path,
        target_namespace=target_ns,
        agent=freeze(config.get("agent", {})),
        feature=freeze(config.get("feature", {})),
    )


async def walk(service: ClusterService, scenario: AgentScenario, kubeconfig: Path) -> list[str]:
    result = await service.check(
        inputs_of(scenario),
        config_path=None,
        workspace_folder=None,
        env={"KUBECONFIG": str(kubeconfig), "HOME": str(kubeconfig.parent)},
    )
    return [f.code for f in result.findings]


@pytest.mark.parametrize(("context", "budget"), BUDGET.items())
async def test_request_budget_cold_and_warm(
    clusters: AgentClusters, context: str, budget: int
) -> None:
    scenario = BY_NAME[context]
    server = clusters.server_for(context)
    service = ClusterService(timeout=30)
    try:
        before = server.log.count()
        codes = await walk(service, scenario, clusters.kubeconfig)
        assert sorted(c for c in codes if c in AGENT_CODES) == sorted(
            c for c, _ in scenario.expected
        )
        cold = server.log.count() - before
        assert cold == budget, [r.path for r in server.log.matching()][before:]
        await walk(service, scenario, clusters.kubeconfig)
        assert server.log.count() - before == cold  # warm: every fact cached
    finally:
        service.close()


async def test_two_documents_never_ask_twice(clusters: AgentClusters) -> None:
    scenario = BY_NAME["agent-ok"]
    server = clusters.server_for(scenario.context)
    service = ClusterService(timeout=30)
    try:
        before = server.log.count()
        await asyncio.gather(*(walk(service, scenario, clusters.kubeconfig) for _ in range(2)))
        assert server.log.count() - before == BUDGET["agent-ok"]  # single-flight
    finally:
        service.close()
