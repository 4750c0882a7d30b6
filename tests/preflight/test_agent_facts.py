"""Parsing API objects into the facts the agent rules read (the fields mirrord reads)."""

from __future__ import annotations

import pytest

from mirrord_ls.cluster.preflight.agent_facts import (
    access_answer,
    api_groups,
    core_resources,
    count_items,
    label_selector,
    node_facts,
    pod_facts,
    workload_selector,
)
from mirrord_ls.loopback.agent_samples import PROBED, agent_pod, container


def test_pod_facts_from_a_kubelet_shaped_pod():
    doc = agent_pod(
        "p",
        "apps",
        container("app"),
        container("istio-proxy"),
        init_containers=("istio-init",),
        annotations={"kubectl.kubernetes.io/default-container": "app"},
        deleting=True,
    )
    pod = pod_facts(doc)
    assert (pod.name, pod.namespace, pod.phase, pod.deleting) == ("p", "apps", "Running", True)
    assert pod.node_name == "node-roomy" and pod.pod_ips == ("10.244.1.23",)
    assert [s.name for s in pod.container_statuses or ()] == ["app", "istio-proxy"]
    assert all(
        s.ready and (s.container_id or "").startswith("containerd://")
        for s in pod.container_statuses or ()
    )
    assert pod.init_container_names == ("istio-init",)
    assert pod.annotation("kubectl.kubernetes.io/default-container") == "app"
    pending = pod_facts(agent_pod("q", "apps", container("app"), phase="Pending"))
    assert pending.pod_ips is None  # no podIPs before the pod runs: mirrord refuses it
    assert (
        pending.container_statuses is not None
        and pending.container_statuses[0].container_id is None
    )


def test_probe_ports_as_mirrord_reads_them():
    # runtime.rs RuntimeData::probe_ports: liveness then readiness; httpGet by number or by
    # the container port's name; grpc; startup and tcpSocket probes ignored.
    pod = pod_facts(agent_pod("p", "apps", PROBED))
    assert [(p.probe, p.handler, p.port) for p in pod.probe_ports] == [
        ("liveness", "httpGet", 8080),
        ("readiness", "grpc", 9090),
    ]
    unknown_name = container("c", livenessProbe={"httpGet": {"port": "nope"}})
    numeric_string = container(
        "d", ports=[{"containerPort": 80}], livenessProbe={"httpGet": {"port": "80"}}
    )
    assert pod_facts(agent_pod("p", "apps", unknown_name, numeric_string)).probe_ports == ()


@pytest.mark.parametrize(
    ("pods", "expected"),
    [("110", 110), ("+7", 7), ("1k", None), (None, None), ("", None)],
)
def test_node_allocatable_pods(pods, expected):
    # runtime.rs check_node_inner: `.0.parse::<usize>()`; anything else is NodeCheck::Error.
    status = {"allocatable": {"pods": pods}} if pods is not None else {}
    assert node_facts({"metadata": {"name": "n"}, "status": status}).allocatable_pods == expected


def test_access_answer_and_discovery():
    review = {
        "spec": {
            "resourceAttributes": {
                "verb": "get",
                "resource": "pods",
                "subresource": "portforward",
                "namespace": "ns",
            }
        },
        "status": {"allowed": False, "denied": True},
    }
    answer = access_answer(review)
    assert (answer.verb, answer.subresource, answer.namespace, answer.allowed) == (
        "get",
        "portforward",
        "ns",
        False,
    )
    assert access_answer({"spec": review["spec"]}).allowed is None  # no status: no answer
    assert core_resources(
        {"resources": [{"name": "pods"}, {"name": "pods/ephemeralcontainers"}]}
    ) == {
        "pods",
        "pods/ephemeralcontainers",
    }
    legacy = {"kind": "APIGroupList", "groups": [{"name": "apps"}, {"name": "route.openshift.io"}]}
    aggregated = {
        "kind": "APIGroupDiscoveryList",
        "items": [{"metadata": {"name": "route.openshift.io"}}],
    }
    assert "route.openshift.io" in api_groups(legacy) and "route.openshift.io" in api_groups(
        aggregated
    )
    assert count_items([{"items": [1, 2]}, {"items": [3]}, {}]) == 3


def test_workload_selectors():
    deploy = {"spec": {"selector": {"matchLabels": {"b": "2", "a": "1"}}}}
    assert label_selector(workload_selector("deployment", deploy)) == "a=1,b=2"  # type: ignore[arg-type]
    exprs = {"spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}}}
    assert "matchLabels" in str(workload_selector("deployment", exprs))  # mirrord needs matchLabels
    ref = {"spec": {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}}}
    assert workload_selector("rollout", ref, deploy) == {"a": "1", "b": "2"}
    assert "unknown resource" in str(workload_selector("rollout", ref, None))
    assert "both" in str(workload_selector("rollout", {"spec": {}}))
    own = {
        "spec": {"selector": {"matchLabels": {"x": "y"}}, "workloadRef": ref["spec"]["workloadRef"]}
    }
    assert workload_selector("rollout", own, deploy) == {"x": "y"}  # spec.selector wins
