"""The read-only API calls behind the open-source agent facts, one function per fact.

Each reader takes `request(method, path, *, body=None, timeout=...)` (an
`ApiConnection.request`) and returns a typed fact, or :class:`Unreadable`
with the reason; none raises for cluster trouble. They are separate so a
cached, single-flight fact store can key and share each one (per cluster
identity and namespace); `gather_agent_facts` runs them all once, in
mirrord's order, for the `check` command and the tests.

Reads (the cold cost of one config):
  SSAR x5 (job) / x7 (ephemeral) in the agent namespace; GET the agent
  namespace (job agents; for ephemeral agents, the target's); the target: GET
  pod, or GET deployment/rollout (+ the rollout's workloadRef) + LIST pods by
  its labels; GET node + LIST Running pods on it (targeted Job agents with
  `check_out_of_pods`); GET /api/v1 (ephemeral); GET /apis (OpenShift).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

from mirrord_ls.cluster.api import Response, TransportError
from mirrord_ls.cluster.preflight.agent import AgentFacts, node_check_applies, picked_target
from mirrord_ls.cluster.preflight.agent_facts import (
    AccessAnswer,
    NamespaceFacts,
    NodeFacts,
    TargetPods,
    Unreadable,
    access_answer,
    api_groups,
    core_resources,
    label_selector,
    namespace_facts,
    node_facts,
    pod_facts,
    pods_of_list,
    workload_selector,
)
from mirrord_ls.cluster.preflight.agent_namespace import AgentPlan, agent_plan
from mirrord_ls.cluster.preflight.agent_rbac import access_reviews
from mirrord_ls.cluster.preflight.agent_runtime import TargetRuntime
from mirrord_ls.cluster.preflight.agent_settings import AgentSettings
from mirrord_ls.config.targets import Target

Request = Callable[..., Awaitable[Response]]
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
# Where a Rollout's `spec.workloadRef` may point (kubernetes/rollout/workload_ref.rs).
WORKLOAD_REFS = {
    ("apps/v1", "Deployment"): "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
    ("apps/v1", "ReplicaSet"): "/apis/apps/v1/namespaces/{ns}/replicasets/{name}",
    ("apps/v1", "StatefulSet"): "/apis/apps/v1/namespaces/{ns}/statefulsets/{name}",
}
MAX_PAGES = 50


async def _get(
    request: Request, path: str, timeout: float, what: str
) -> dict[str, Any] | Unreadable:
    try:
        response = await request("GET", path, timeout=timeout)
    except TransportError as exc:
        return Unreadable(f"the cluster did not answer reading {what}: {exc.message}")
    doc = response.json()
    if response.status == 403:
        return Unreadable(f"you may not read {what} (HTTP 403)", 403)
    if response.status == 404:
        return Unreadable(f"{what} does not exist (HTTP 404)", 404)
    if not 200 <= response.status < 300 or not isinstance(doc, dict):
        return Unreadable(f"reading {what} answered HTTP {response.status}", response.status)
    return doc


async def read_access(
    request: Request, plan: AgentPlan, timeout: float
) -> tuple[AccessAnswer, ...]:
    """The plan's SelfSubjectAccessReviews; an unanswered one comes back `allowed=None`."""
    out = []
    for body in access_reviews(plan):
        answer = access_answer(body)  # the question, unanswered
        try:
            response = await request("POST", SSAR_PATH, body=body, timeout=timeout)
            doc = response.json()
            if 200 <= response.status < 300 and isinstance(doc, dict):
                answer = access_answer(doc)
        except TransportError:
            pass
        out.append(answer)
    return tuple(out)


async def read_namespace(
    request: Request, name: str, timeout: float
) -> NamespaceFacts | Unreadable:
    doc = await _get(request, f"/api/v1/namespaces/{quote(name)}", timeout, f"namespace {name}")
    return doc if isinstance(doc, Unreadable) else namespace_facts(doc)


async def _list_pods(
    request: Request, namespace: str, query: dict[str, str], timeout: float
) -> list[dict[str, Any]] | Unreadable:
    """All pages of a pod list (`metadata.continue`), in the API's order."""
    base = f"/api/v1/namespaces/{quote(namespace)}/pods" if namespace else "/api/v1/pods"
    pages: list[dict[str, Any]] = []
    params = dict(query)
    for _ in range(MAX_PAGES):
        doc = await _get(request, f"{base}?{urlencode(params)}", timeout, "pods")
        if isinstance(doc, Unreadable):
            return doc
        pages.append(doc)
        token = (doc.get("metadata") or {}).get("continue")
        if not token:
            return pages
        params["continue"] = token
    return pages


async def read_target(
    request: Request, target: Target, namespace: str, timeout: float
) -> TargetPods | Unreadable:
    """The pods mirrord considers for a pod, deployment or rollout target."""
    ns = quote(namespace)
    if target.kind == "pod":
        doc = await _get(
            request,
            f"/api/v1/namespaces/{ns}/pods/{quote(target.name)}",
            timeout,
            f"pod {target.name}",
        )
        if isinstance(doc, Unreadable):
            return doc
        return TargetPods("pod", target.name, namespace, (pod_facts(doc),))
    paths = {
        "deployment": f"/apis/apps/v1/namespaces/{ns}/deployments/{quote(target.name)}",
        "rollout": f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts/{quote(target.name)}",
    }
    if target.kind not in paths:
        return Unreadable(f"a {target.kind} target is resolved by the operator, not here")
    doc = await _get(request, paths[target.kind], timeout, f"{target.kind} {target.name}")
    if isinstance(doc, Unreadable):
        return doc
    referenced = None
    ref = (doc.get("spec") or {}).get("workloadRef")
    if (
        target.kind == "rollout"
        and isinstance(ref, dict)
        and "selector" not in (doc.get("spec") or {})
    ):
        template = WORKLOAD_REFS.get((str(ref.get("apiVersion")), str(ref.get("kind"))))
        if template is not None:
            got = await _get(
                request,
                template.format(ns=ns, name=quote(str(ref.get("name", "")))),
                timeout,
                f"{ref.get('kind')} {ref.get('name')}",
            )
            if isinstance(got, Unreadable):
                return got
            referenced = got
    selector = workload_selector(target.kind, doc, referenced)
    if isinstance(selector, str):
        return TargetPods(target.kind, target.name, namespace, (), problem=selector)
    pages = await _list_pods(
        request, namespace, {"labelSelector": label_selector(selector)}, timeout
    )
    if isinstance(pages, Unreadable):
        return pages
    pods = tuple(p for page in pages for p in pods_of_list(page))
    return TargetPods(target.kind, target.name, namespace, pods)


async def read_node(request: Request, name: str, timeout: float) -> NodeFacts | Unreadable:
    doc = await _get(request, f"/api/v1/nodes/{quote(name)}", timeout, f"node {name}")
    return doc if isinstance(doc, Unreadable) else node_facts(doc)


async def count_running_pods(request: Request, node: str, timeout: float) -> int | Unreadable:
    """runtime.rs, `check_node_inner`: LIST pods in all namespaces with
    `status.phase=Running,spec.nodeName={node}`, every page."""
    selector = f"status.phase=Running,spec.nodeName={node}"
    pages = await _list_pods(request, "", {"fieldSelector": selector}, timeout)
    if isinstance(pages, Unreadable):
        return pages
    return sum(len(p.get("items") or []) for p in pages)


async def read_core_resources(request: Request, timeout: float) -> frozenset[str] | Unreadable:
    doc = await _get(request, "/api/v1", timeout, "the core API's resource list")
    return doc if isinstance(doc, Unreadable) else core_resources(doc)


async def read_api_groups(request: Request, timeout: float) -> frozenset[str] | Unreadable:
    doc = await _get(request, "/apis", timeout, "the API groups")
    return doc if isinstance(doc, Unreadable) else api_groups(doc)


async def _target_and_node(
    request: Request, settings: AgentSettings, plan: AgentPlan, timeout: float
) -> tuple[TargetPods | Unreadable | None, NodeFacts | Unreadable | None, int | Unreadable | None]:
    """The target's pods, then (targeted Job agents) the picked pod's node and its pods."""
    if settings.target is None:
        return None, None, None
    target = await read_target(request, settings.target, plan.target_namespace, timeout)
    picked = picked_target(settings, target)
    if not isinstance(picked, TargetRuntime) or not picked.pod.node_name:
        return target, None, None
    if not node_check_applies(plan, settings):
        return target, None, None
    node = await read_node(request, picked.pod.node_name, timeout)
    if not isinstance(node, NodeFacts):
        return target, node, None
    return target, node, await count_running_pods(request, picked.pod.node_name, timeout)


async def _none() -> None:
    return None


async def gather_agent_facts(
    request: Request,
    settings: AgentSettings,
    context_namespace: str | None,
    *,
    timeout: float = 10.0,
    user: str | None = None,
) -> AgentFacts:
    """Every fact the rules need for one config, read once. Independent reads go
    together; the node waits for the target pod that names it."""
    plan = agent_plan(settings, context_namespace)
    if plan.namespace is None:
        return AgentFacts(user=user)
    (target, node, running), access, namespace, groups, core = await asyncio.gather(
        _target_and_node(request, settings, plan, timeout),
        read_access(request, plan, timeout),
        read_namespace(request, plan.namespace.name, timeout),
        read_api_groups(request, timeout),
        read_core_resources(request, timeout) if plan.variant == "ephemeral" else _none(),
    )
    return AgentFacts(
        access=access,
        namespace=namespace,
        target=target,
        node=node,
        running_on_node=running,
        core_resources=core,
        api_groups=groups,
        user=user,
    )
