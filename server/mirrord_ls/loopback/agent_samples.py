"""Sample objects for the open-source agent checks: Pod Security namespaces, pods in
every state mirrord's runtime rules judge, and nodes with and without room.

| namespace       | Pod Security enforce | holds                                        |
|-----------------|----------------------|----------------------------------------------|
| `apps`          | (none)               | the targets below                            |
| `agents`        | (none)               | nothing: where agents may go                 |
| `psa-baseline`  | baseline             | pod `guarded` (ready)                        |
| `psa-restricted`| restricted           |                                              |
| `psa-privileged`| privileged           |                                              |
| `kube-system`   | (none)               | filler pods on `node-small`                  |

Targets in `apps`: deployment `ready` (pods `ready-1`, `ready-2`), deployment
`stuck` (pending / terminating / unready pods), deployment `empty` (no pods),
rollout `canary` (selects `ready`'s pods through `workloadRef`), pods `pending`,
`terminating`, `probed` (httpGet on the named port `http` = 8080, grpc 9090, a
tcp probe on 7000), `ambient` (Istio ambient), `meshed` (istio-proxy sidecar),
`multi` (two containers), `multi-default` (the same with
`kubectl.kubernetes.io/default-container`), and `crowded` on `node-small`,
whose 4 allocatable pods are all Running.
"""

from __future__ import annotations

from typing import Any

from mirrord_ls.loopback.samples import CREATED, container_id, node

JsonObj = dict[str, Any]

NODE_ROOMY = "node-roomy"
NODE_SMALL = "node-small"
SMALL_NODE_PODS = 4


def pss_namespace(name: str, enforce: str | None = None) -> JsonObj:
    labels = {"kubernetes.io/metadata.name": name}
    if enforce is not None:
        labels["pod-security.kubernetes.io/enforce"] = enforce
        labels["pod-security.kubernetes.io/enforce-version"] = "latest"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "creationTimestamp": CREATED, "labels": labels},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def agent_pod(
    name: str,
    ns: str,
    *containers: JsonObj,
    app: str | None = None,
    phase: str = "Running",
    ready: bool = True,
    deleting: bool = False,
    node_name: str = NODE_ROOMY,
    annotations: dict[str, str] | None = None,
    init_containers: tuple[str, ...] = (),
) -> JsonObj:
    """A pod with the status a kubelet reports: phase, conditions, IPs, container IDs."""
    running = phase == "Running"
    meta: JsonObj = {"name": name, "namespace": ns, "creationTimestamp": CREATED}
    meta["labels"] = {"app": app or name}
    if annotations:
        meta["annotations"] = annotations
    if deleting:
        meta["deletionTimestamp"] = "2026-01-05T10:00:00Z"
        meta["deletionGracePeriodSeconds"] = 30
    status: JsonObj = {
        "phase": phase,
        "hostIP": "172.18.0.3",
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "ContainersReady", "status": str(running and ready)},
            {"type": "Ready", "status": str(running and ready)},
        ],
        "containerStatuses": [
            {
                "name": c["name"],
                "ready": running and ready,
                "started": running,
                "restartCount": 0,
                "image": c["image"],
                "state": {"running": {"startedAt": CREATED}}
                if running
                else {"waiting": {"reason": "ContainerCreating"}},
                **({"containerID": container_id(ns, name, c["name"])} if running else {}),
            }
            for c in containers
        ],
    }
    if init_containers:
        status["initContainerStatuses"] = [
            {
                "name": n,
                "ready": True,
                "restartCount": 0,
                "image": f"registry.example/{n}:1.0",
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                "containerID": container_id(ns, name, n),
            }
            for n in init_containers
        ]
    if running:
        status["podIP"] = "10.244.1.23"
        status["podIPs"] = [{"ip": "10.244.1.23"}]
    spec: JsonObj = {"containers": list(containers), "nodeName": node_name}
    if init_containers:
        spec["initContainers"] = [
            {"name": n, "image": f"registry.example/{n}:1.0"} for n in init_containers
        ]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def container(name: str, **extra: Any) -> JsonObj:
    return {"name": name, "image": f"registry.example/{name}:1.0", **extra}


def deployment(name: str, ns: str, replicas: int, ready: int) -> JsonObj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": ns,
            "creationTimestamp": CREATED,
            "labels": {"app": name},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container("app")]},
            },
        },
        "status": {
            "replicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": replicas,
        },
    }


def rollout_ref(name: str, ns: str, deployment_name: str) -> JsonObj:
    """An Argo Rollout whose pods are described by a Deployment (`spec.workloadRef`)."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": CREATED},
        "spec": {
            "replicas": 2,
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment_name},
        },
        "status": {"replicas": 2, "readyReplicas": 2},
    }


PROBED = container(
    "app",
    ports=[{"name": "http", "containerPort": 8080}, {"name": "grpc", "containerPort": 9090}],
    livenessProbe={"httpGet": {"path": "/healthz", "port": "http"}},
    readinessProbe={"grpc": {"port": 9090}},
    startupProbe={"tcpSocket": {"port": 7000}},
)


def agent_sample_objects() -> list[JsonObj]:
    """The namespaces, nodes, workloads and pods of the agent scenarios."""
    fillers = [
        agent_pod(f"filler-{i}", "kube-system", container("pause"), node_name=NODE_SMALL)
        for i in range(1, SMALL_NODE_PODS)
    ]
    done = agent_pod(
        "filler-done", "kube-system", container("job"), phase="Succeeded", node_name=NODE_SMALL
    )
    return [
        pss_namespace("apps"),
        pss_namespace("agents"),
        pss_namespace("kube-system"),
        pss_namespace("psa-baseline", "baseline"),
        pss_namespace("psa-restricted", "restricted"),
        pss_namespace("psa-privileged", "privileged"),
        node(NODE_ROOMY, pods=110),
        node(NODE_SMALL, pods=SMALL_NODE_PODS),
        deployment("ready", "apps", 2, 2),
        agent_pod("ready-1", "apps", container("app"), app="ready"),
        agent_pod("ready-2", "apps", container("app"), app="ready"),
        rollout_ref("canary", "apps", "ready"),
        deployment("stuck", "apps", 3, 0),
        agent_pod("stuck-a-pending", "apps", container("app"), app="stuck", phase="Pending"),
        agent_pod("stuck-b-terminating", "apps", container("app"), app="stuck", deleting=True),
        agent_pod("stuck-c-unready", "apps", container("app"), app="stuck", ready=False),
        deployment("empty", "apps", 0, 0),
        agent_pod("pending", "apps", container("app"), phase="Pending"),
        agent_pod("terminating", "apps", container("app"), deleting=True),
        agent_pod("probed", "apps", PROBED),
        agent_pod(
            "ambient",
            "apps",
            container("app"),
            annotations={"ambient.istio.io/redirection": "enabled"},
        ),
        agent_pod(
            "meshed",
            "apps",
            container("app"),
            container("istio-proxy"),
            init_containers=("istio-init",),
        ),
        agent_pod("multi", "apps", container("web"), container("worker")),
        agent_pod(
            "multi-default",
            "apps",
            container("web"),
            container("worker"),
            annotations={"kubectl.kubernetes.io/default-container": "worker"},
        ),
        agent_pod("crowded", "apps", container("app"), node_name=NODE_SMALL),
        *fillers,
        done,
        agent_pod("guarded", "psa-baseline", container("app")),
    ]
