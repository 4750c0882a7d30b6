"""Sample objects: a few workloads in `default` and `staging`, and the MirrordOperator.

Names are stable because tests and the demo refer to them: deployment `web`
(containers `web` and `sidecar`) with pod `web-7d4b9c-abcde`, statefulset
`db`, and so on.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mirrord_ls.loopback.resources import OPERATOR_GROUP, OPERATOR_VERSION

JsonObj = dict[str, Any]

CREATED = "2026-01-05T09:00:00Z"


def _meta(name: str, namespace: str | None, labels: dict[str, str] | None = None) -> JsonObj:
    meta: JsonObj = {"name": name, "creationTimestamp": CREATED}
    if namespace is not None:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return meta


def _containers(*names: str) -> list[JsonObj]:
    return [
        {"name": n, "image": f"registry.example/{n}:1.0", "ports": [{"containerPort": 8080}]}
        if i == 0
        else {"name": n, "image": f"registry.example/{n}:1.0"}
        for i, n in enumerate(names)
    ]


def _template(app: str, *containers: str) -> JsonObj:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": _containers(*containers)},
    }


def namespace(name: str) -> JsonObj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(name, None, {"kubernetes.io/metadata.name": name}),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


NODE = "loopback-node-1"


def container_id(ns: str, pod_name: str, container: str) -> str:
    """A stable containerd ID, shaped as the kubelet reports it (`<runtime>://<64 hex>`)."""
    digest = hashlib.sha256(f"{ns}/{pod_name}/{container}".encode()).hexdigest()
    return f"containerd://{digest}"


def pod(name: str, ns: str, app: str, *containers: str, phase: str = "Running") -> JsonObj:
    """A pod as the kubelet reports it: node, IPs, container IDs once running, conditions."""
    running = phase == "Running"
    status: JsonObj = {
        "phase": phase,
        "conditions": [
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "True" if running else "False"},
        ],
        "hostIP": "172.18.0.2",
        "containerStatuses": [
            {
                "name": c,
                "ready": running,
                "started": running,
                "restartCount": 0,
                "image": f"registry.example/{c}:1.0",
                "state": {"running": {"startedAt": CREATED}}
                if running
                else {"waiting": {"reason": "ContainerCreating"}},
                **({"containerID": container_id(ns, name, c)} if running else {}),
            }
            for c in containers
        ],
    }
    if running:
        status["podIP"] = "10.244.0.17"
        status["podIPs"] = [{"ip": "10.244.0.17"}]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(name, ns, {"app": app}),
        "spec": {"containers": _containers(*containers), "nodeName": NODE},
        "status": status,
    }


def node(name: str, *, pods: int = 110) -> JsonObj:
    """A Node with `status.allocatable.pods` (what mirrord's node check reads)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": _meta(name, None, {"kubernetes.io/hostname": name}),
        "spec": {},
        "status": {
            "capacity": {"cpu": "4", "memory": "16Gi", "pods": str(pods)},
            "allocatable": {"cpu": "4", "memory": "16Gi", "pods": str(pods)},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def workload(kind: str, name: str, ns: str, *containers: str, replicas: int = 1) -> JsonObj:
    """A Deployment, StatefulSet or ReplicaSet (apps/v1) with all replicas ready."""
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": _meta(name, ns, {"app": name}),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": _template(name, *containers),
        },
        "status": {
            "replicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "updatedReplicas": replicas,
        },
    }


def rollout(name: str, ns: str, *containers: str) -> JsonObj:
    obj = workload("Rollout", name, ns, *containers)
    obj["apiVersion"] = "argoproj.io/v1alpha1"
    return obj


def service(name: str, ns: str, app: str) -> JsonObj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, ns, {"app": app}),
        "spec": {
            "selector": {"app": app},
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
            "type": "ClusterIP",
            "clusterIP": "10.96.0.42",
        },
    }


def job(name: str, ns: str, *containers: str) -> JsonObj:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta(name, ns, {"app": name}),
        "spec": {"template": _template(name, *containers)},
        "status": {"active": 1},
    }


def cronjob(name: str, ns: str, *containers: str) -> JsonObj:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(name, ns, {"app": name}),
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": _template(name, *containers)}},
        },
    }


def mirrord_operator(
    *,
    operator_version: str = "3.120.0",
    default_namespace: str = "default",
    license_name: str = "Loopback Org Enterprise",
    organization: str = "Loopback Org",
    expire_at: str = "2099-12-31",
    fingerprint: str = "loopback-license-fingerprint",
    protocol_version: str = "1.20.0",
    supported_features: tuple[str, ...] = (
        "ProxyApi",
        "CopyTarget",
        "SqsQueueSplitting",
        "KafkaQueueSplitting",
        "LayerReconnect",
    ),
) -> JsonObj:
    """The `MirrordOperator` named `operator`, with the spec fields mirrord reads."""
    return {
        "apiVersion": f"{OPERATOR_GROUP}/{OPERATOR_VERSION}",
        "kind": "MirrordOperator",
        "metadata": _meta("operator", None),
        "spec": {
            "operator_version": operator_version,
            "default_namespace": default_namespace,
            "license": {
                "name": license_name,
                "organization": organization,
                "expire_at": expire_at,
                "fingerprint": fingerprint,
            },
            "protocol_version": protocol_version,
            "supported_features": list(supported_features),
        },
        # crd.rs MirrordOperatorStatus: `sessions` is required whenever `status` is there.
        "status": {"sessions": []},
    }


def sample_objects() -> list[JsonObj]:
    """The sample cluster's workloads and namespaces (the MirrordOperator is separate)."""
    return [
        namespace("default"),
        namespace("staging"),
        namespace("kube-system"),
        node(NODE),
        workload("Deployment", "web", "default", "web", "sidecar", replicas=2),
        workload("ReplicaSet", "web-7d4b9c", "default", "web", "sidecar", replicas=2),
        pod("web-7d4b9c-abcde", "default", "web", "web", "sidecar"),
        pod("web-7d4b9c-fghij", "default", "web", "web", "sidecar"),
        workload("StatefulSet", "db", "default", "postgres"),
        pod("db-0", "default", "db", "postgres"),
        service("web", "default", "web"),
        job("migrate", "default", "migrate"),
        cronjob("nightly-report", "default", "report"),
        rollout("checkout", "default", "checkout"),
        workload("Deployment", "api", "staging", "api"),
        pod("api-5f6c8d-xyz12", "staging", "api", "api"),
        service("api", "staging", "api"),
    ]
