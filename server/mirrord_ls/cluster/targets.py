"""Does a config's target exist in the cluster? And what may be completed there?

Reads the workload the way mirrord would (GET by name in its namespace),
judged by status codes: 404 is "not found" (then the namespace is listed to
suggest the closest names), 403 is a permission problem and said as such.
Also lists workloads and namespaces for completion. Results are cached by
the caller (`ClusterService`), bounded.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from mirrord_ls.cluster.api import Response, TransportError
from mirrord_ls.config.targets import Target

# kind -> (API prefix, resource)
RESOURCES: dict[str, tuple[str, str]] = {
    "pod": ("/api/v1", "pods"),
    "deployment": ("/apis/apps/v1", "deployments"),
    "rollout": ("/apis/argoproj.io/v1alpha1", "rollouts"),
    "job": ("/apis/batch/v1", "jobs"),
    "cronjob": ("/apis/batch/v1", "cronjobs"),
    "statefulset": ("/apis/apps/v1", "statefulsets"),
    "service": ("/api/v1", "services"),
    "replicaset": ("/apis/apps/v1", "replicasets"),
}

LookupKind = Literal["found", "not-found", "container-not-found", "forbidden", "error"]


@dataclass(frozen=True)
class TargetLookup:
    kind: LookupKind
    detail: str = ""
    suggestions: tuple[str, ...] = ()
    containers: tuple[str, ...] = ()
    ready: str | None = None
    namespace: str = ""
    requests: int = 0


@dataclass(frozen=True)
class Listing:
    """Names in one namespace (or the namespaces), or why they could not be listed."""

    names: tuple[str, ...] = ()
    problem: str | None = None
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """For workloads: name -> container names."""


def _containers(kind: str, doc: dict[str, Any]) -> tuple[str, ...]:
    spec = doc.get("spec") or {}
    if kind == "pod":
        pod_spec = spec
    elif kind == "cronjob":
        pod_spec = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get(
            "spec"
        ) or {}
    else:
        pod_spec = (spec.get("template") or {}).get("spec") or {}
    out = []
    for c in pod_spec.get("containers") or []:
        if isinstance(c, dict) and isinstance(c.get("name"), str):
            out.append(c["name"])
    return tuple(out)


def _ready(kind: str, doc: dict[str, Any]) -> str | None:
    status = doc.get("status") or {}
    spec = doc.get("spec") or {}
    if kind == "pod":
        statuses = status.get("containerStatuses") or []
        ready = sum(1 for s in statuses if isinstance(s, dict) and s.get("ready"))
        return f"{ready}/{len(statuses)} containers ready, phase {status.get('phase', '?')}"
    if kind in ("deployment", "statefulset", "replicaset", "rollout"):
        return f"{status.get('readyReplicas', 0)}/{spec.get('replicas', '?')} replicas ready"
    return None


def _forbidden(verb: str, resource: str, namespace: str) -> str:
    return (
        f"you may not {verb} {resource} in namespace {namespace} (HTTP 403), so mirrord-ls"
        " cannot tell whether the target exists"
    )


async def list_names(request: Any, kind: str, namespace: str, timeout: float) -> Listing:
    if kind == "namespace":
        path = "/api/v1/namespaces"
        resource = "namespaces"
    else:
        prefix, resource = RESOURCES[kind]
        path = f"{prefix}/namespaces/{quote(namespace)}/{resource}"
    try:
        response: Response = await request("GET", path, timeout=timeout)
    except TransportError as exc:
        return Listing(problem=f"the cluster cannot be reached: {exc.message}")
    if response.status == 403:
        where = "" if kind == "namespace" else f" in namespace {namespace}"
        return Listing(problem=f"you may not list {resource}{where} (HTTP 403)")
    if response.status == 404 and kind == "rollout":
        return Listing(problem="Argo Rollouts is not installed in this cluster")
    if not 200 <= response.status < 300:
        return Listing(problem=f"listing {resource} answered HTTP {response.status}")
    doc = response.json()
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return Listing(problem=f"listing {resource} gave an answer that is not a list")
    names = []
    extra: dict[str, tuple[str, ...]] = {}
    for item in items:
        meta = item.get("metadata") if isinstance(item, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        if isinstance(name, str):
            names.append(name)
            if kind != "namespace":
                extra[name] = _containers(kind, item)
    return Listing(tuple(sorted(names)), extra=extra)


async def lookup_target(
    request: Any, target: Target, namespace: str, timeout: float
) -> TargetLookup:
    """Find the target's workload (or the pods its labels select)."""
    count = 1

    def answer(kind: LookupKind, detail: str, suggestions: tuple[str, ...] = ()) -> TargetLookup:
        return TargetLookup(kind, detail, suggestions, namespace=namespace, requests=count)

    if target.kind == "label":
        selector = ",".join(f"{k}={v}" for k, v in target.labels)
        path = f"/api/v1/namespaces/{quote(namespace)}/pods?labelSelector={quote(selector)}"
        verb, resource = "list", "pods"
    else:
        prefix, resource = RESOURCES[target.kind]
        path = f"{prefix}/namespaces/{quote(namespace)}/{resource}/{quote(target.name)}"
        verb = "get"
    try:
        response = await request("GET", path, timeout=timeout)
    except TransportError as exc:
        return answer("error", exc.message)
    if response.status == 403:
        return answer("forbidden", _forbidden(verb, resource, namespace))
    if target.kind != "label" and response.status == 404:
        listing = await list_names(request, target.kind, namespace, timeout)
        count += 1
        close = tuple(difflib.get_close_matches(target.name, listing.names, n=3, cutoff=0.5))
        what = f"{target.kind} {target.name} does not exist in namespace {namespace}"
        if target.kind == "rollout" and listing.problem and "Argo" in listing.problem:
            what = f"{listing.problem}, so rollout {target.name} cannot exist"
        return answer("not-found", what, close)
    doc = response.json()
    if not 200 <= response.status < 300 or not isinstance(doc, dict):
        return answer("error", f"reading the {resource} answered HTTP {response.status}")
    if target.kind == "label":
        items = doc.get("items")
        if not isinstance(items, list):
            return answer("error", "listing pods gave an answer that is not a list")
        if not items:
            return answer(
                "not-found", f'no pod in namespace {namespace} matches the labels "{selector}"'
            )
        selected = tuple(sorted({c for item in items for c in _containers("pod", item)}))
        return _check_container(target, selected, None, namespace, count)
    containers = _containers(target.kind, doc)
    return _check_container(target, containers, _ready(target.kind, doc), namespace, count)


def _check_container(
    target: Target,
    containers: tuple[str, ...],
    ready: str | None,
    namespace: str,
    count: int,
) -> TargetLookup:
    if target.container and containers and target.container not in containers:
        close = tuple(difflib.get_close_matches(target.container, containers, n=3, cutoff=0.4))
        return TargetLookup(
            "container-not-found",
            f"{target.display.rsplit('/container/', 1)[0]} has no container"
            f" {target.container}; its containers: {', '.join(containers)}",
            close or containers,
            containers,
            ready,
            namespace,
            count,
        )
    return TargetLookup("found", "", (), containers, ready, namespace, count)
