"""Typed facts the open-source agent rules read, parsed from Kubernetes API objects.

Each parser takes the JSON a read-only call returned (a Pod, a Namespace, a
Node, a list, a SelfSubjectAccessReview, a discovery document) and keeps the
fields mirrord looks at, nothing more. A read that failed is an
:class:`Unreadable` with the reason, so a rule can say "could not judge"
instead of guessing. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
AMBIENT_ANNOTATION = "ambient.istio.io/redirection"
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A read that gave no usable answer: forbidden, absent, or the cluster failed."""

    why: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class ProbePort:
    """One port a liveness/readiness probe uses (httpGet or grpc; tcp and exec are not)."""

    container: str
    probe: Literal["liveness", "readiness"]
    handler: Literal["httpGet", "grpc"]
    port: int


@dataclass(frozen=True, slots=True)
class ContainerStatus:
    name: str
    ready: bool
    container_id: str | None


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What mirrord's `RuntimeData::from_pod` and `check_mesh_vendor` read of a pod."""

    name: str
    namespace: str
    phase: str | None
    deleting: bool
    node_name: str | None
    pod_ips: tuple[str, ...] | None
    """`status.podIPs` (None when the field is absent, which mirrord refuses)."""
    container_statuses: tuple[ContainerStatus, ...] | None
    init_container_names: tuple[str, ...] | None
    """Names in `status.initContainerStatuses` (None when absent)."""
    containers: tuple[str, ...]
    """`spec.containers` names, in order."""
    probe_ports: tuple[ProbePort, ...]
    annotations: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    run_as_non_root: bool | None = None
    """Pod-level `securityContext.runAsNonRoot` (Pod Security, ephemeral agents)."""
    seccomp_profile: str | None = None
    """Pod-level `securityContext.seccompProfile.type` (Pod Security, ephemeral agents)."""

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)

    @property
    def display(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class NamespaceFacts:
    name: str
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


@dataclass(frozen=True, slots=True)
class NodeFacts:
    name: str
    allocatable_pods: int | None
    """`status.allocatable.pods` as mirrord parses it (`usize`); None when absent or not a
    plain number, which makes mirrord skip the check."""


@dataclass(frozen=True, slots=True)
class AccessAnswer:
    """One SelfSubjectAccessReview: the question and the answer (None: no answer)."""

    verb: str
    resource: str
    namespace: str
    group: str = ""
    subresource: str = ""
    allowed: bool | None = None


@dataclass(frozen=True, slots=True)
class TargetPods:
    """The pods mirrord will consider for a target, in the order the API lists them.

    A pod target: that one pod. A deployment or rollout: the pods its
    `spec.selector.matchLabels` select (mirrord ignores `matchExpressions`), or
    `problem` when the selector itself stops mirrord.
    """

    kind: str
    name: str
    namespace: str
    pods: tuple[PodFacts, ...]
    problem: str | None = None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in _obj(value).items() if isinstance(v, str)))


def _probe_ports(container: dict[str, Any]) -> list[ProbePort]:
    """mirrord/kube/src/api/runtime.rs, `RuntimeData::probe_ports`: liveness then readiness;
    httpGet ports (numbers, or names resolved against the container's ports) and grpc ports.
    Startup, tcpSocket and exec probes are ignored."""
    name = str(container.get("name", ""))
    named = {
        p.get("name"): p.get("containerPort")
        for p in container.get("ports") or []
        if isinstance(p, dict) and isinstance(p.get("name"), str)
    }
    out: list[ProbePort] = []
    for key, probe in (("liveness", "livenessProbe"), ("readiness", "readinessProbe")):
        spec = _obj(container.get(probe))
        http = spec.get("httpGet")
        if isinstance(http, dict):
            port = http.get("port")
            if isinstance(port, str):
                # IntOrString::String is a port name (even "8080"), looked up in the
                # container's ports; not found: skipped.
                port = named.get(port)
            if isinstance(port, int) and not isinstance(port, bool):
                out.append(ProbePort(name, key, "httpGet", port & 0xFFFF))  # type: ignore[arg-type]
        grpc = spec.get("grpc")
        if isinstance(grpc, dict):
            port = grpc.get("port")
            if isinstance(port, int) and not isinstance(port, bool) and 0 <= port <= 0xFFFF:
                out.append(ProbePort(name, key, "grpc", port))  # type: ignore[arg-type]
    return out


def pod_facts(doc: dict[str, Any]) -> PodFacts:
    """A Pod (as GET or an item of LIST returns it)."""
    meta, spec, status = _obj(doc.get("metadata")), _obj(doc.get("spec")), _obj(doc.get("status"))
    statuses = status.get("containerStatuses")
    inits = status.get("initContainerStatuses")
    pod_ips = status.get("podIPs")
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    security = _obj(spec.get("securityContext"))
    seccomp = _obj(security.get("seccompProfile")).get("type")
    return PodFacts(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "default")),
        phase=status.get("phase") if isinstance(status.get("phase"), str) else None,
        deleting=meta.get("deletionTimestamp") is not None,
        node_name=spec.get("nodeName") if isinstance(spec.get("nodeName"), str) else None,
        pod_ips=tuple(str(_obj(p).get("ip", "")) for p in pod_ips)
        if isinstance(pod_ips, list)
        else None,
        container_statuses=tuple(
            ContainerStatus(
                str(s.get("name", "")),
                s.get("ready") is True,
                s.get("containerID") if isinstance(s.get("containerID"), str) else None,
            )
            for s in statuses
            if isinstance(s, dict)
        )
        if isinstance(statuses, list)
        else None,
        init_container_names=tuple(str(_obj(s).get("name", "")) for s in inits)
        if isinstance(inits, list)
        else None,
        containers=tuple(str(c.get("name", "")) for c in containers),
        probe_ports=tuple(p for c in containers for p in _probe_ports(c)),
        annotations=_pairs(meta.get("annotations")),
        labels=_pairs(meta.get("labels")),
        run_as_non_root=security.get("runAsNonRoot")
        if isinstance(security.get("runAsNonRoot"), bool)
        else None,
        seccomp_profile=seccomp if isinstance(seccomp, str) else None,
    )


def pods_of_list(doc: dict[str, Any]) -> tuple[PodFacts, ...]:
    """The pods of a PodList, in the order the API listed them."""
    return tuple(pod_facts(i) for i in doc.get("items") or [] if isinstance(i, dict))


def namespace_facts(doc: dict[str, Any]) -> NamespaceFacts:
    meta = _obj(doc.get("metadata"))
    return NamespaceFacts(str(meta.get("name", "")), _pairs(meta.get("labels")))


_USIZE = re.compile(r"^\+?[0-9]+$")  # Rust's `usize::from_str`


def node_facts(doc: dict[str, Any]) -> NodeFacts:
    """A Node; mirrord/kube/src/api/runtime.rs, `check_node_inner`, reads only
    `status.allocatable.pods` and parses it as a plain number."""
    meta, status = _obj(doc.get("metadata")), _obj(doc.get("status"))
    raw = _obj(status.get("allocatable")).get("pods")
    pods = int(raw) if isinstance(raw, str) and _USIZE.match(raw) else None
    return NodeFacts(str(meta.get("name", "")), pods)


def count_items(pages: Iterable[dict[str, Any]]) -> int:
    """How many objects a (paged) list returned: `check_node_inner` sums `items` over pages."""
    return sum(len(p.get("items") or []) for p in pages)


def access_answer(review: dict[str, Any]) -> AccessAnswer:
    """A SelfSubjectAccessReview as the API answered it (spec echoed, status filled)."""
    attrs = _obj(_obj(review.get("spec")).get("resourceAttributes"))
    status = _obj(review.get("status"))
    allowed = status.get("allowed")
    if status.get("denied") is True:
        allowed = False
    return AccessAnswer(
        verb=str(attrs.get("verb", "")),
        resource=str(attrs.get("resource", "")),
        namespace=str(attrs.get("namespace", "")),
        group=str(attrs.get("group", "")),
        subresource=str(attrs.get("subresource", "")),
        allowed=allowed if isinstance(allowed, bool) else None,
    )


def core_resources(doc: dict[str, Any]) -> frozenset[str]:
    """Resource names of `GET /api/v1` (an APIResourceList), subresources included."""
    return frozenset(
        str(r.get("name"))
        for r in doc.get("resources") or []
        if isinstance(r, dict) and isinstance(r.get("name"), str)
    )


def api_groups(doc: dict[str, Any]) -> frozenset[str]:
    """Group names of `GET /apis` (an APIGroupList, or the aggregated v2 discovery list)."""
    items = doc.get("groups") if isinstance(doc.get("groups"), list) else doc.get("items")
    names = set()
    for item in items or []:
        item = _obj(item)
        name = item.get("name") or _obj(item.get("metadata")).get("name")
        if isinstance(name, str):
            names.add(name)
    return frozenset(names)


def match_labels(workload: dict[str, Any]) -> dict[str, str] | None:
    """`spec.selector.matchLabels` of a Deployment (or the workload a Rollout refers to)."""
    labels = _obj(_obj(workload.get("spec")).get("selector")).get("matchLabels")
    if not isinstance(labels, dict):
        return None
    return {str(k): str(v) for k, v in labels.items()}


def workload_selector(
    kind: str, doc: dict[str, Any], referenced: dict[str, Any] | None = None
) -> dict[str, str] | str:
    """The labels mirrord lists a workload's pods by, or the reason it stops.

    Deployment: mirrord/kube/src/api/runtime/deployment.rs, `get_selector_match_labels`.
    Rollout: runtime/rollout.rs `get_pods` with kubernetes/rollout.rs `get_match_labels`:
    `spec.selector` wins; else the selector of the `spec.workloadRef` workload
    (`referenced`, read by the caller: a Deployment, ReplicaSet or StatefulSet).
    """
    spec = _obj(doc.get("spec"))
    if kind == "rollout" and not isinstance(spec.get("selector"), dict):
        ref = spec.get("workloadRef")
        if not isinstance(ref, dict):
            return "both `.spec.selector` and `.spec.workloadRef` fields are empty"
        if referenced is None:
            return (
                f"field `.spec.workloadRef` refers to an unknown resource"
                f" `{ref.get('apiVersion')}/{ref.get('kind')}`"
            )
        labels = match_labels(referenced)
        return labels if labels is not None else "missing field `.selector.matchLabels`"
    labels = match_labels(doc)
    return labels if labels is not None else "missing field `.spec.selector.matchLabels`"


def label_selector(labels: dict[str, str]) -> str:
    """The selector mirrord lists pods with: `k=v` joined by commas, keys sorted (BTreeMap)."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
