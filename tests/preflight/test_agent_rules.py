"""The open-source agent rules: each with its positive case and its silent control.

Citations (metalbear-co/mirrord 3.250.0) beside each group of cases.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from mirrord_ls.cluster.preflight.agent import (
    AgentFacts,
    agent_blocked_by_policy,
    agent_forbidden,
    agent_namespace_not_found,
    agent_needs_privileged,
    agent_notes,
    ephemeral_unsupported,
    node_full,
    oss_agent_findings,
    probe_steal,
    target_not_ready,
)
from mirrord_ls.cluster.preflight.agent_facts import (
    AccessAnswer,
    NamespaceFacts,
    NodeFacts,
    TargetPods,
    Unreadable,
    pod_facts,
)
from mirrord_ls.cluster.preflight.agent_namespace import agent_plan
from mirrord_ls.cluster.preflight.agent_rbac import access_reviews, required_permissions
from mirrord_ls.cluster.preflight.agent_runtime import TargetRuntime, target_runtime
from mirrord_ls.cluster.preflight.agent_settings import agent_settings
from mirrord_ls.loopback.agent_samples import PROBED, agent_pod, container

JOB = {"target": {"path": "pod/p", "namespace": "apps"}}
EPHEMERAL = {"target": {"path": "pod/p", "namespace": "apps"}, "agent": {"ephemeral": True}}


def plan_of(config, context_ns="agents"):
    settings = agent_settings(config, {})
    return settings, agent_plan(settings, context_ns)


def answers(plan, deny=(), unknown=()):
    """Every review of the plan answered: allowed unless its `verb resource[/sub]` is denied."""
    out = []
    for body in access_reviews(plan):
        ra = body["spec"]["resourceAttributes"]
        key = f"{ra['verb']} {ra['resource']}" + (
            f"/{ra['subresource']}" if ra["subresource"] else ""
        )
        allowed = None if key in unknown else key not in deny
        out.append(
            AccessAnswer(
                ra["verb"], ra["resource"], ra["namespace"], ra["group"], ra["subresource"], allowed
            )
        )
    return tuple(out)


def runtime_of(doc, container_name=None) -> TargetRuntime:
    pod = pod_facts(doc)
    result = target_runtime(TargetPods("pod", pod.name, pod.namespace, (pod,)), container_name)
    assert isinstance(result, TargetRuntime)
    return result


# -- agent-forbidden: job.rs create_job_agent, util.rs wait_for_agent_startup,
#    portforwarder.rs (Api::portforward, a GET upgrade), ephemeral.rs create_ephemeral_agent


def test_reviews_asked_per_agent_kind():
    _, job = plan_of(JOB)
    _, eph = plan_of(EPHEMERAL)
    asked = lambda plan: {  # noqa: E731
        (
            b["spec"]["resourceAttributes"]["verb"],
            b["spec"]["resourceAttributes"]["resource"],
            b["spec"]["resourceAttributes"]["subresource"],
            b["spec"]["resourceAttributes"]["namespace"],
        )
        for b in access_reviews(plan)
    }
    assert asked(job) == {
        ("create", "jobs", "", "agents"),
        ("list", "pods", "", "agents"),
        ("watch", "pods", "", "agents"),
        ("get", "pods", "log", "agents"),
        ("get", "pods", "portforward", "agents"),  # verb get, not kubectl's create
    }
    assert asked(eph) == {
        ("get", "pods", "", "apps"),
        ("get", "pods", "ephemeralcontainers", "apps"),
        ("update", "pods", "ephemeralcontainers", "apps"),
        ("list", "pods", "", "apps"),
        ("watch", "pods", "", "apps"),
        ("get", "pods", "log", "apps"),
        ("get", "pods", "portforward", "apps"),
    }


@pytest.mark.parametrize(
    ("config", "deny", "steps"),
    [
        (JOB, (), []),
        (JOB, ("create jobs",), ["create the agent Job"]),
        (JOB, ("watch pods", "list pods"), ["watch the agent pod start"]),
        (JOB, ("get pods/portforward",), ["port-forward to the agent"]),
        (
            JOB,
            ("create jobs", "get pods/log"),
            ["create the agent Job", "read the agent's log (it waits for `agent ready`)"],
        ),
        (
            EPHEMERAL,
            ("update pods/ephemeralcontainers",),
            ["add the agent container to the target pod"],
        ),
        (EPHEMERAL, (), []),
    ],
)
def test_agent_forbidden_one_finding_per_step(config, deny, steps):
    _, plan = plan_of(config)
    found = agent_forbidden(plan, answers(plan, deny))
    assert [f.data["step"] for f in found] == steps
    for f in found:
        assert (f.code, f.severity) == ("agent-forbidden", "error")
        assert f"namespace {plan.namespace.name}" in f.message
        for perm in f.data["missing"]:
            assert perm["verb"] in f.message and perm["resource"] in f.message


def test_port_forward_mentions_kubectls_verb():
    _, plan = plan_of(JOB)
    (found,) = agent_forbidden(plan, answers(plan, ("get pods/portforward",)))
    assert "`get pods/portforward`" in found.message and "needs `create`" in found.message


def test_unanswered_reviews_judge_nothing():
    _, plan = plan_of(JOB)
    assert agent_forbidden(plan, answers(plan, ("create jobs",), unknown=("create jobs",))) == []
    assert agent_forbidden(plan, ()) == []


def test_role_fix_is_data_for_exactly_one_user():
    _, plan = plan_of(EPHEMERAL)
    (found,) = agent_forbidden(plan, answers(plan, ("get pods/portforward",)), user='eve "admin"')
    role, binding = list(yaml.safe_load_all(found.data["yaml"]))
    assert role == found.data["role"] and binding == found.data["roleBinding"]
    assert role["metadata"] == {"name": "mirrord-agent", "namespace": "apps"}
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": 'eve "admin"'}
    ]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "mirrord-agent",
    }
    rules = {(r["apiGroups"][0], r["resources"][0]): r["verbs"] for r in role["rules"]}
    assert rules[("", "pods/portforward")] == ["get", "create"]  # mirrord's get, kubectl's create
    assert rules[("", "pods/ephemeralcontainers")] == ["get", "update"]
    assert rules[("", "pods")] == ["get", "list", "watch"]
    # every permission the plan needs is in the Role
    needed = {
        (p.group, p.resource + (f"/{p.subresource}" if p.subresource else ""), p.verb)
        for s in required_permissions(plan)
        for p in s.permissions
    }
    assert needed <= {(g, r, v) for (g, r), verbs in rules.items() for v in verbs}
    no_user = agent_forbidden(plan, answers(plan, ("get pods/portforward",)))[0]
    assert "yaml" not in no_user.data


# -- agent-blocked-by-policy: pod.rs PodTargetedVariant / PodVariant, ephemeral.rs


def ns(level=None, name="agents"):
    labels = (("pod-security.kubernetes.io/enforce", level),) if level else ()
    return NamespaceFacts(name, labels)


@pytest.mark.parametrize(
    ("config", "namespace", "severity"),
    [
        (JOB, ns("baseline"), "error"),
        (JOB, ns("restricted"), "error"),
        (JOB, ns("bogus"), "error"),  # PolicyToEvaluate: unparsable = restricted
        (JOB, ns("privileged"), None),
        (JOB, ns(), None),
        ({}, ns("baseline"), None),  # a targetless agent passes baseline
        ({}, ns("restricted"), "error"),
        (EPHEMERAL, ns("baseline", "apps"), "error"),
        (JOB, Unreadable("you may not read namespace agents (HTTP 403)", 403), "information"),
        (JOB, Unreadable("namespace agents does not exist (HTTP 404)", 404), None),
        (JOB, None, None),
    ],
)
def test_agent_blocked_by_policy(config, namespace, severity):
    settings, plan = plan_of(config)
    found = agent_blocked_by_policy(plan, settings, namespace)
    assert [f.severity for f in found] == ([severity] if severity else [])
    if severity == "information":
        assert "cannot tell" in found[0].message and "HTTP 403" in found[0].message


def test_policy_message_names_the_namespace_decision():
    settings, plan = plan_of({"target": {"path": "pod/p", "namespace": "apps"}}, "psa")
    (found,) = agent_blocked_by_policy(plan, settings, ns("baseline", "psa"))
    assert "Namespace psa enforces Pod Security baseline" in found.message
    assert "not the target's namespace (apps)" in found.message
    assert "hostPID=true" in found.message and "agent.namespace" in found.message
    assert found.data["level"] == "baseline"


def test_agent_namespace_not_found():
    _, plan = plan_of(JOB)
    missing = Unreadable("namespace agents does not exist (HTTP 404)", 404)
    assert [f.code for f in agent_namespace_not_found(plan, missing)] == [
        "agent-namespace-not-found"
    ]
    assert agent_namespace_not_found(plan, ns()) == []
    _, eph = plan_of(EPHEMERAL)
    assert agent_namespace_not_found(eph, missing) == []  # target-not-found says it


# -- target-not-ready: runtime.rs


def test_target_not_ready_lists_the_pods_passed_over():
    pods = tuple(
        pod_facts(agent_pod(f"p{i}", "apps", container("app"), phase="Pending")) for i in range(7)
    )
    (found,) = target_not_ready(target_runtime(TargetPods("deployment", "web", "apps", pods), None))
    assert (found.code, found.severity, found.at) == ("target-not-ready", "error", ("target",))
    assert "no pod matching the labels is ready to be targeted" in found.message
    assert "p0: not in 'Running' phase" in found.message and "(and 2 more)" in found.message
    ready = runtime_of(agent_pod("p", "apps", container("app")))
    assert target_not_ready(ready) == [] and target_not_ready(None) == []


# -- node-full: runtime.rs check_node_inner (allowed <= pod_count), targeted.rs


@pytest.mark.parametrize(
    ("config", "node", "running", "fires"),
    [
        (JOB, NodeFacts("n", 4), 4, True),
        (JOB, NodeFacts("n", 4), 5, True),
        (JOB, NodeFacts("n", 4), 3, False),
        (JOB, NodeFacts("n", None), 9, False),  # unparsable allocatable: NodeCheck::Error
        (JOB, Unreadable("forbidden", 403), 9, False),
        (JOB, NodeFacts("n", 4), Unreadable("forbidden", 403), False),
        ({**JOB, "agent": {"check_out_of_pods": False}}, NodeFacts("n", 4), 4, False),
        (EPHEMERAL, NodeFacts("n", 4), 4, False),
    ],
)
def test_node_full(config, node, running, fires):
    settings, plan = plan_of(config)
    target = runtime_of(agent_pod("p", "apps", container("app")))
    found = node_full(plan, settings, target, node, running)
    assert [f.code for f in found] == (["node-full"] if fires else [])
    if fires:
        assert "The target node `n` has no capacity for a new agent pod" in found[0].message
        assert "agent.ephemeral" in found[0].message


# -- probe-steal: kubernetes.rs create_agent, incoming.rs steals_port_without_filter


@pytest.mark.parametrize(
    ("incoming", "ports"),
    [
        ("steal", [8080, 9090]),
        ("mirror", []),
        ({"mode": "steal", "ports": [9090]}, [9090]),
        ({"mode": "steal", "ignore_ports": [8080]}, [9090]),
        ({"mode": "steal", "http_filter": {"header_filter": "x: 1"}}, []),
        ({"mode": "steal", "http_filter": {"header_filter": "x: 1", "ports": [9090]}}, [8080]),
    ],
)
def test_probe_steal(incoming, ports):
    settings = agent_settings({**JOB, "feature": {"network": {"incoming": incoming}}}, {})
    found = probe_steal(settings, runtime_of(agent_pod("p", "apps", PROBED)))
    assert [f.data["ports"] for f in found] == ([ports] if ports else [])
    if ports:
        assert found[0].severity == "warning"
        assert "may steal HTTP/gRPC health checks configured on ports" in found[0].message


# -- agent-needs-privileged, service-mesh-detected: kubernetes.rs create_agent, check_mesh_vendor


@pytest.mark.parametrize(("privileged", "codes"), [(False, ["agent-needs-privileged"]), (True, [])])
def test_ambient_needs_privileged(privileged, codes):
    settings = agent_settings({**JOB, "agent": {"privileged": privileged}}, {})
    ambient = runtime_of(
        agent_pod(
            "p", "apps", container("app"), annotations={"ambient.istio.io/redirection": "enabled"}
        )
    )
    assert [f.code for f in agent_needs_privileged(settings, ambient)] == codes
    plain = runtime_of(agent_pod("p", "apps", container("app")))
    assert agent_needs_privileged(agent_settings(JOB, {}), plain) == []


# -- ephemeral-unsupported: ephemeral.rs get_subresource("ephemeralcontainers")


@pytest.mark.parametrize(
    ("config", "core", "fires"),
    [
        (EPHEMERAL, frozenset({"pods"}), True),
        (EPHEMERAL, frozenset({"pods", "pods/ephemeralcontainers"}), False),
        (EPHEMERAL, Unreadable("x"), False),
        (JOB, frozenset({"pods"}), False),
    ],
)
def test_ephemeral_unsupported(config, core, fires):
    _, plan = plan_of(config)
    assert [f.code for f in ephemeral_unsupported(plan, core)] == (
        ["ephemeral-unsupported"] if fires else []
    )


# -- information: create_agent (guessed_container, mesh), detect_openshift


def test_notes():
    multi = runtime_of(agent_pod("p", "apps", container("web"), container("worker")))
    (picked,) = agent_notes(multi, frozenset())
    assert picked.code == "target-container-picked" and 'mirrord picked "web"' in picked.message
    meshed = runtime_of(
        agent_pod(
            "p",
            "apps",
            container("app"),
            container("linkerd-proxy"),
            init_containers=("linkerd-init",),
        )
    )
    assert [f.message.split(" (")[0] for f in agent_notes(meshed, frozenset())] == [
        "service mesh detected: linkerd"
    ]
    (openshift,) = agent_notes(None, frozenset({"route.openshift.io"}))
    assert openshift.code == "openshift-detected" and openshift.severity == "information"
    assert agent_notes(None, Unreadable("x")) == []


# -- the whole open-source path


def test_nothing_when_mirrord_uses_the_operator_or_stops_earlier():
    settings = agent_settings(JOB, {})
    facts = AgentFacts(namespace=ns("restricted"))
    assert oss_agent_findings(settings, "agents", facts, uses_operator=True) == []
    assert [f.code for f in oss_agent_findings(settings, "agents", facts, uses_operator=False)] == [
        "agent-blocked-by-policy"
    ]
    service = agent_settings({"target": "service/s"}, {})  # target-requires-operator says it
    assert oss_agent_findings(service, "agents", facts, uses_operator=False) == []
    refused = agent_settings({"agent": {"ephemeral": True}}, {})  # LayerConfig::verify
    assert oss_agent_findings(refused, "agents", facts, uses_operator=False) == []
    invalid = dataclasses.replace(settings, target_invalid=True)
    assert oss_agent_findings(invalid, "agents", facts, uses_operator=False) == []


def test_a_not_ready_target_silences_what_depends_on_the_pod():
    settings = agent_settings({**JOB, "feature": {"network": {"incoming": "steal"}}}, {})
    pod = pod_facts(agent_pod("p", "apps", PROBED, phase="Pending"))
    facts = AgentFacts(
        target=TargetPods("pod", "p", "apps", (pod,)), node=NodeFacts("n", 1), running_on_node=5
    )
    assert [f.code for f in oss_agent_findings(settings, "agents", facts, uses_operator=False)] == [
        "target-not-ready"
    ]


def test_every_agent_code_is_listed_and_documented():
    from pathlib import Path

    from mirrord_ls.findings import CODES
    from mirrord_ls.loopback.agent_scenarios import SCENARIOS

    codes = {code for s in SCENARIOS for code, _severity in s.expected}
    assert len(codes) == 11  # every rule of agent.py has a scenario
    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    for code in codes:
        assert code in CODES
        assert f"| `{code}` |" in readme
