"""The loopback server serves what the open-source agent checks read, over real HTTPS, and
every agent scenario reaches its findings through the real client (ApiConnection).

Real kubectl is the judge of the shapes: field selectors, namespaces with Pod Security
labels, nodes, and `auth can-i` on pods/portforward.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from mirrord_ls.cluster import kubeconfig as kc
from mirrord_ls.cluster.api import ApiConnection
from mirrord_ls.cluster.credentials import TrustPolicy, get_credentials
from mirrord_ls.cluster.preflight.agent import oss_agent_findings
from mirrord_ls.cluster.preflight.agent_reads import gather_agent_facts
from mirrord_ls.cluster.preflight.agent_settings import agent_settings
from mirrord_ls.loopback import LoopbackApiServer
from mirrord_ls.loopback.agent_scenarios import SCENARIOS, AgentClusters, start_agent_clusters

KUBECTL = shutil.which("kubectl")
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
# The cold cost of one config (see agent_reads): 5 or 7 reviews, the namespace, /apis,
# the target (up to 3 reads for a rollout), the node and its pods, /api/v1 when ephemeral.
MAX_REQUESTS = 12


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentClusters]:
    with start_agent_clusters(tmp_path_factory.mktemp("agent") / "kubeconfig") as started:
        yield started


@pytest.fixture
def server(clusters: AgentClusters) -> LoopbackApiServer:
    """The conftest's `call` and `connect` then talk to the main agent server."""
    return clusters.servers["main"]


def _names(doc) -> list[str]:
    return [i["metadata"]["name"] for i in doc["items"]]


def test_pods_by_node_and_phase(server, call):
    dev = server.user("dev")
    selector = quote("status.phase=Running,spec.nodeName=node-small")
    doc = call("GET", f"/api/v1/pods?fieldSelector={selector}", user=dev).json
    # what runtime.rs check_node_inner counts: Running pods on the node, all namespaces
    assert sorted(_names(doc)) == ["crowded", "filler-1", "filler-2", "filler-3"]
    other = call("GET", f"/api/v1/pods?fieldSelector={quote('status.phase!=Running')}", user=dev)
    assert {"filler-done", "pending", "stuck-a-pending"} <= set(_names(other.json))
    apps = call("GET", f"/api/v1/namespaces/apps/pods?fieldSelector={selector}", user=dev).json
    assert _names(apps) == ["crowded"]
    bad = call("GET", f"/api/v1/pods?fieldSelector={quote('spec.bogus=1')}", user=dev)
    assert bad.status == 400 and "field label not supported" in bad.json["message"]
    active = call(
        "GET", f"/api/v1/namespaces?fieldSelector={quote('status.phase=Active')}", user=dev
    )
    assert "psa-baseline" in _names(active.json)


def test_pods_by_label_selector_keep_list_order(server, call):
    dev = server.user("dev")
    doc = call("GET", "/api/v1/namespaces/apps/pods?labelSelector=app%3Dstuck", user=dev).json
    assert _names(doc) == ["stuck-a-pending", "stuck-b-terminating", "stuck-c-unready"]
    terminating = doc["items"][1]
    assert terminating["metadata"]["deletionTimestamp"]
    unready = doc["items"][2]["status"]
    assert unready["phase"] == "Running" and unready["containerStatuses"][0]["ready"] is False
    assert {"type": "Ready", "status": "False"} in unready["conditions"]


def test_pod_status_as_the_kubelet_reports_it(server, call):
    dev = server.user("dev")
    pod = call("GET", "/api/v1/namespaces/apps/pods/probed", user=dev).json
    assert pod["spec"]["nodeName"] == "node-roomy"
    assert pod["status"]["podIPs"] == [{"ip": "10.244.1.23"}]
    assert pod["status"]["containerStatuses"][0]["containerID"].startswith("containerd://")
    app = pod["spec"]["containers"][0]
    assert app["livenessProbe"]["httpGet"]["port"] == "http"
    assert app["readinessProbe"]["grpc"]["port"] == 9090
    ambient = call("GET", "/api/v1/namespaces/apps/pods/ambient", user=dev).json
    assert ambient["metadata"]["annotations"] == {"ambient.istio.io/redirection": "enabled"}


def test_nodes_and_metadata_only_answers(server, call):
    dev, viewer = server.user("dev"), server.user("no-nodes")
    node = call("GET", "/api/v1/nodes/node-small", user=dev).json
    assert node["status"]["allocatable"]["pods"] == "4" and "namespace" not in node["metadata"]
    assert call("GET", "/api/v1/nodes/node-small", user=viewer).status == 403
    # kube-rs list_metadata / get_metadata, as mirrord's node check asks
    accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
    selector = quote("status.phase=Running,spec.nodeName=node-small")
    meta = call(
        "GET", f"/api/v1/pods?fieldSelector={selector}", user=dev, headers={"Accept": accept}
    ).json
    assert meta["kind"] == "PartialObjectMetadataList" and meta["apiVersion"] == "meta.k8s.io/v1"
    assert len(meta["items"]) == 4 and set(meta["items"][0]) == {"kind", "apiVersion", "metadata"}
    one = call(
        "GET",
        "/api/v1/nodes/node-small",
        user=dev,
        headers={"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"},
    ).json
    assert one["kind"] == "PartialObjectMetadata" and one["metadata"]["labels"]


def test_ephemeral_containers_and_openshift_in_discovery(clusters, connect):
    main, legacy = clusters.servers["main"], clusters.servers["legacy"]
    for srv, ephemeral, openshift in ((main, True, False), (legacy, False, True)):
        conn = connect(srv.user("dev"), srv=srv)
        names = {r["name"] for r in conn.request("GET", "/api/v1").json["resources"]}
        assert ("pods/ephemeralcontainers" in names) is ephemeral
        assert "nodes" in names
        groups = {g["name"] for g in conn.request("GET", "/apis").json["groups"]}
        assert ("route.openshift.io" in groups) is openshift
        assert "operator.metalbear.co" not in groups  # no operator: the open-source path


@pytest.mark.parametrize(
    ("user", "verb", "subresource", "allowed"),
    [
        ("dev", "get", "portforward", True),
        ("kubectl-pf", "get", "portforward", False),
        ("kubectl-pf", "create", "portforward", True),
        ("viewer", "update", "ephemeralcontainers", False),
        ("dev", "update", "ephemeralcontainers", True),
    ],
)
def test_access_reviews_on_pod_subresources(server, call, user, verb, subresource, allowed):
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "namespace": "agents",
                "verb": verb,
                "resource": "pods",
                "subresource": subresource,
            }
        },
    }
    reply = call("POST", SSAR, user=server.user(user), body=body)
    assert reply.status == 201 and reply.json["status"]["allowed"] is allowed


async def _findings(clusters: AgentClusters, scenario) -> tuple[list, int]:
    merged = kc.load_merged([clusters.kubeconfig])
    resolved = kc.resolve(merged, scenario.context)
    assert isinstance(resolved, kc.ResolvedCluster)
    creds = await get_credentials(resolved, trust=TrustPolicy(trusted=True))
    conn = ApiConnection(resolved, creds, accept_invalid_certificates=False)
    try:
        settings = agent_settings(scenario.config, {})
        facts = await gather_agent_facts(
            conn.request, settings, resolved.namespace, user=scenario.user, timeout=30
        )
        found = oss_agent_findings(settings, resolved.namespace, facts, uses_operator=False)
        return found, conn.log.requests
    finally:
        conn.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.context for s in SCENARIOS])
async def test_scenario_reaches_its_findings(clusters, scenario):
    found, requests = await _findings(clusters, scenario)
    assert tuple((f.code, f.severity) for f in found) == scenario.expected, (
        scenario.why,
        [f.message for f in found],
    )
    assert 1 <= requests <= MAX_REQUESTS
    for f in found:
        assert f.mirrord_source and f.message


# The request budget of a cold open-source preflight (docs/preflight-agent.md): reviews
# (5 job / 7 ephemeral) + the agent namespace + /apis, plus the target, node and /api/v1 reads.
BUDGET = {
    "policy-baseline-targetless": 7,  # 5 SSAR, namespace, /apis
    "node-full": 10,  # + GET pod, GET node, LIST Running pods on it
    "node-full-unchecked": 8,  # + GET pod (no node check)
    "agent-ok": 11,  # + GET deployment, LIST its pods, node, pods on node
    "target-ready-rollout": 12,  # + GET the rollout's workloadRef deployment
    "ephemeral-supported": 11,  # 7 SSAR, namespace, /apis, GET pod, /api/v1
    "target-not-ready-pending": 8,  # a target not ready: no node check
}


@pytest.mark.parametrize(("context", "requests"), BUDGET.items())
async def test_request_budget(clusters, context, requests):
    scenario = next(s for s in SCENARIOS if s.context == context)
    assert (await _findings(clusters, scenario))[1] == requests


async def test_forbidden_scenario_carries_the_role_for_that_user(clusters):
    scenario = next(s for s in SCENARIOS if s.context == "agent-portforward-create-only")
    (found,) = (await _findings(clusters, scenario))[0]
    assert found.data["roleBinding"]["subjects"][0]["name"] == "kubectl-pf"
    assert found.data["namespace"] == "agents"


# -- real kubectl ------------------------------------------------------------------------------


@pytest.fixture
def kubectl(clusters: AgentClusters, tmp_path: Path):
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(clusters.kubeconfig),
        "KUBECACHEDIR": str(tmp_path / "kube-cache"),
    }

    def run(context: str, *args: str) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        return subprocess.run(
            [KUBECTL, "--context", context, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


def test_kubectl_field_selector(kubectl):
    done = kubectl(
        "agent-ok",
        "get",
        "pods",
        "-A",
        "--field-selector",
        "spec.nodeName=node-small,status.phase=Running",
        "-o",
        "name",
    )
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == [
        "pod/crowded",
        "pod/filler-1",
        "pod/filler-2",
        "pod/filler-3",
    ]
    table = kubectl(
        "agent-ok", "get", "pods", "-n", "apps", "--field-selector", "status.phase=Pending"
    )
    assert table.returncode == 0, table.stderr
    assert [line.split()[0] for line in table.stdout.splitlines()[1:]] == [
        "pending",
        "stuck-a-pending",
    ]


def test_kubectl_namespaces_with_pod_security_labels(kubectl):
    done = kubectl("agent-ok", "get", "ns", "-o", "json")
    assert done.returncode == 0, done.stderr
    labels = {
        n["metadata"]["name"]: n["metadata"]["labels"] for n in json.loads(done.stdout)["items"]
    }
    assert labels["psa-baseline"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["psa-restricted"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert "pod-security.kubernetes.io/enforce" not in labels["agents"]
    denied = kubectl("policy-unreadable", "get", "ns", "psa-baseline")
    assert denied.returncode == 1 and "Forbidden" in denied.stderr


def test_kubectl_nodes(kubectl):
    done = kubectl(
        "agent-ok", "get", "node", "node-small", "-o", "jsonpath={.status.allocatable.pods}"
    )
    assert (done.returncode, done.stdout) == (0, "4"), done.stderr
    names = kubectl("agent-ok", "get", "nodes", "-o", "name")
    assert sorted(names.stdout.split()) == ["node/node-roomy", "node/node-small"]


@pytest.mark.parametrize(
    ("context", "verb", "answer"),
    [
        ("agent-ok", "get", "yes"),
        ("agent-portforward-create-only", "get", "no"),
        ("agent-portforward-create-only", "create", "yes"),
        ("agent-forbidden", "create", "no"),
    ],
)
def test_kubectl_auth_can_i_port_forward(kubectl, context, verb, answer):
    # `pods/portforward` as one argument is resource/name to kubectl (a pod named
    # "portforward"); the subresource is asked with --subresource.
    done = kubectl(
        context, "auth", "can-i", verb, "pods", "--subresource=portforward", "-n", "agents"
    )
    assert done.stdout.strip() == answer, done.stderr
    named = kubectl(context, "auth", "can-i", "get", "pods/portforward", "-n", "agents")
    assert named.stdout.strip() == "yes"  # every user here may get pods
