"""Preflight, open-source path: the agent mirrord will create, and what will stop it.

Without the operator, mirrord creates its agent itself (a Job, or an ephemeral
container in the target pod) and port-forwards to it
(metalbear-co/mirrord 3.250.0, `mirrord/cli/src/connection.rs`,
`create_and_connect` → `mirrord/kube/src/api/kubernetes.rs`,
`KubernetesAPI::create_agent`). Each rule here predicts one of the ways that
goes wrong, from typed facts; rules are pure and run only when mirrord will not
use the operator (the caller says so: `uses_operator`).

| code                      | severity     | what mirrord does                                  |
|---------------------------|--------------|----------------------------------------------------|
| agent-forbidden           | error        | RBAC denies a step of creating/reaching the agent  |
| agent-namespace-not-found | error        | the Job agent's namespace does not exist           |
| agent-blocked-by-policy   | error / info | Pod Security admission refuses the agent           |
| target-not-ready          | error        | no target-ready pod (runtime.rs)                   |
| node-full                 | error        | the target's node has no room (check_out_of_pods)  |
| probe-steal               | warning      | steal without filter on a probe port               |
| agent-needs-privileged    | error        | Istio ambient without agent.privileged             |
| ephemeral-unsupported     | error        | no pods/ephemeralcontainers on the API server      |
| target-container-picked   | information  | mirrord picks one container of several             |
| service-mesh-detected     | information  | mirrord tells the agent about a mesh               |
| openshift-detected        | information  | mirrord warns about OpenShift's default policy     |
"""

from __future__ import annotations

from dataclasses import dataclass

from mirrord_ls.cluster.preflight import RuleFinding
from mirrord_ls.cluster.preflight.agent_facts import (
    ENFORCE_LABEL,
    AccessAnswer,
    NamespaceFacts,
    NodeFacts,
    TargetPods,
    Unreadable,
)
from mirrord_ls.cluster.preflight.agent_namespace import AgentPlan, agent_plan
from mirrord_ls.cluster.preflight.agent_rbac import missing, required_permissions, role_fix
from mirrord_ls.cluster.preflight.agent_runtime import NotReady, TargetRuntime, target_runtime
from mirrord_ls.cluster.preflight.agent_settings import AgentSettings
from mirrord_ls.cluster.preflight.pod_security import agent_pod, parse_level, violations

OPENSHIFT_GROUP = "route.openshift.io"
PORT_FORWARD_NOTE = (
    " (mirrord's port-forward is a GET upgrade: RBAC verb `get` on `pods/portforward`;"
    " `kubectl port-forward` needs `create`, so grant both.)"
)


def agent_forbidden(
    plan: AgentPlan, answers: tuple[AccessAnswer, ...], user: str | None = None
) -> list[RuleFinding]:
    """`agent-forbidden`: one error per step whose permissions RBAC denies in the agent
    namespace. An unanswered review judges nothing. With `user` (the name RBAC sees), the
    finding's data carries the Role and RoleBinding an admin applies."""
    if plan.namespace is None:
        return []
    ns = plan.namespace
    out = []
    for pset in required_permissions(plan):
        denied = missing(pset, ns.name, answers)
        if not denied:
            continue
        names = ", ".join(f"`{p.display}`" for p in denied)
        message = (
            f"RBAC denies you {names} in namespace {ns.name}, so mirrord cannot {pset.step}"
            f" and will stop. {ns.reason}"
        )
        if any(p.subresource == "portforward" for p in denied):
            message += PORT_FORWARD_NOTE
        data: dict[str, object] = {
            "namespace": ns.name,
            "step": pset.step,
            "missing": [
                {
                    "verb": p.verb,
                    "group": p.group,
                    "resource": p.resource,
                    "subresource": p.subresource,
                }
                for p in denied
            ],
        }
        if user:
            data.update(role_fix(plan, user))
        out.append(
            RuleFinding("agent-forbidden", "error", message, ns.at, pset.mirrord_source, data)
        )
    return out


def agent_blocked_by_policy(
    plan: AgentPlan,
    settings: AgentSettings,
    namespace: NamespaceFacts | Unreadable | None,
    target: TargetRuntime | None = None,
) -> list[RuleFinding]:
    """`agent-blocked-by-policy`: the agent namespace's `pod-security.kubernetes.io/enforce`
    level forbids what mirrord's agent uses (error); the namespace unreadable: information."""
    if plan.namespace is None or namespace is None:
        return []
    ns = plan.namespace
    source = (
        "mirrord/kube/src/api/container/pod.rs, PodTargetedVariant::as_update (hostPID,"
        " hostPath /run and /var, capabilities, privileged); ephemeral.rs,"
        " EphemeralTargetedVariant::as_update; on refusal mirrord prints `Job Agent's Pod got"
        " deleted during initialization` or `Failed to create mirrord-agent: ...`"
    )
    if isinstance(namespace, Unreadable):
        if namespace.status == 404:
            return []  # `agent-namespace-not-found` (or, ephemeral, `target-not-found`) says it
        return [
            RuleFinding(
                "agent-blocked-by-policy",
                "information",
                f"mirrord-ls could not read namespace {ns.name} ({namespace.why}), so it cannot"
                " tell whether Pod Security admission will let mirrord's agent in.",
                ns.at,
                source,
            )
        ]
    label = namespace.label(ENFORCE_LABEL)
    level = parse_level(label)
    if level is None or level == "privileged":
        return []
    pod = agent_pod(
        plan.variant,
        privileged=settings.privileged,
        disabled_capabilities=settings.disabled_capabilities,
        seccomp_profile=settings.seccomp_profile,
        app_armor_profile=settings.app_armor_profile,
        target=target.pod if target is not None else None,
    )
    found = violations(level, pod)
    if not found:
        return []
    what = {
        "job-targetless": "the agent Job's pod",
        "job-targeted": "the agent Job's pod",
        "ephemeral": "the agent's ephemeral container",
    }[plan.variant]
    shown = level if label == level else f"{label!r}, which counts as {level}"
    message = (
        f"Namespace {ns.name} enforces Pod Security {shown} ({ENFORCE_LABEL}), and {what}"
        f" violates it: {'; '.join(found)}. The admission will refuse it and mirrord will"
        f" stop. {ns.reason}"
    )
    if plan.variant == "job-targeted":
        message += (
            " Set `agent.namespace` to a namespace that allows privileged pods, or ask an admin"
            " for an exemption."
        )
    elif plan.variant == "ephemeral" and level == "baseline" and not settings.privileged:
        message += (
            " Baseline allows an ephemeral agent only without those capabilities"
            " (`agent.disabled_capabilities`), which limits what mirrord can do."
        )
    return [
        RuleFinding(
            "agent-blocked-by-policy",
            "error",
            message,
            ns.at,
            source,
            {"namespace": ns.name, "level": level, "violations": found},
        )
    ]


def agent_namespace_not_found(
    plan: AgentPlan, namespace: NamespaceFacts | Unreadable | None
) -> list[RuleFinding]:
    """`agent-namespace-not-found`: the Job agent's namespace does not exist, so creating
    the Job answers 404 and mirrord stops. (An ephemeral agent's namespace is the target's:
    `target-not-found` covers it.)"""
    if plan.namespace is None or plan.variant == "ephemeral":
        return []
    if not isinstance(namespace, Unreadable) or namespace.status != 404:
        return []
    ns = plan.namespace
    return [
        RuleFinding(
            "agent-namespace-not-found",
            "error",
            f"Namespace {ns.name} does not exist, so mirrord cannot create its agent Job there"
            f" and will stop. {ns.reason}",
            ns.at,
            "mirrord/kube/src/api/container/job.rs, create_job_agent: job_api.create (404);"
            " mirrord prints `Failed to create mirrord-agent: ...`",
            {"namespace": ns.name},
        )
    ]


def target_not_ready(result: TargetRuntime | NotReady | None) -> list[RuleFinding]:
    """`target-not-ready`: mirrord's runtime-data rules refuse every candidate pod."""
    if not isinstance(result, NotReady):
        return []
    message = f"mirrord will stop: {result.message}."
    if result.pods:
        shown = "; ".join(f"{name}: {why.split(': ', 1)[-1]}" for name, why in result.pods[:5])
        more = f" (and {len(result.pods) - 5} more)" if len(result.pods) > 5 else ""
        message += f" Pods: {shown}{more}."
    return [
        RuleFinding(
            "target-not-ready",
            "error",
            message,
            ("target",),
            "mirrord/kube/src/api/runtime.rs, RuntimeData::from_pod / RuntimeDataFromLabels::"
            "runtime_data; mirrord prints `Failed to create mirrord-agent: Resource fetched from"
            " Kube API is invalid: ...`",
            {"pods": [list(p) for p in result.pods]},
        )
    ]


def node_check_applies(plan: AgentPlan, settings: AgentSettings) -> bool:
    """container/targeted.rs: only a targeted Job agent, with `agent.check_out_of_pods`."""
    return plan.variant == "job-targeted" and settings.check_out_of_pods


def node_full(
    plan: AgentPlan,
    settings: AgentSettings,
    target: TargetRuntime | None,
    node: NodeFacts | Unreadable | None,
    running: int | Unreadable | None,
) -> list[RuleFinding]:
    """`node-full`: the target's node runs as many Running pods as it may hold. Silent when
    the node or the pod count cannot be read, as mirrord is (`NodeCheck::Error` is logged)."""
    if not node_check_applies(plan, settings) or target is None:
        return []
    if not isinstance(node, NodeFacts) or not isinstance(running, int):
        return []
    if node.allocatable_pods is None or node.allocatable_pods > running:
        return []
    return [
        RuleFinding(
            "node-full",
            "error",
            f"The target node `{node.name}` has no capacity for a new agent pod (currently"
            f" running {running} pods, allocatable {node.allocatable_pods}): mirrord will stop."
            " Set `agent.ephemeral: true` (an ephemeral container does not count against the"
            " node's pod limit), or free room on the node.",
            ("target",),
            "mirrord/kube/src/api/runtime.rs, check_node_inner (allowed <= pod_count);"
            " container/targeted.rs; cli/src/error.rs NodeOutOfPods: `The target node `{node}`"
            " has no capacity for a new agent pod (currently running {n} pods)`",
            {"node": node.name, "running": running, "allocatable": node.allocatable_pods},
        )
    ]


def probe_steal(settings: AgentSettings, target: TargetRuntime | None) -> list[RuleFinding]:
    """`probe-steal`: mirrord's own warning, predicted before the run."""
    if target is None:
        return []
    ports: list[int] = []
    for port in target.probe_ports:
        if settings.incoming.steals_port_without_filter(port) and port not in ports:
            ports.append(port)
    if not ports:
        return []
    probes = [p for p in target.pod.probe_ports if p.port in ports]
    detail = ", ".join(f"{p.probe} {p.handler} of {p.container} on {p.port}" for p in probes[:6])
    return [
        RuleFinding(
            "probe-steal",
            "warning",
            "Your mirrord config may steal HTTP/gRPC health checks configured on ports"
            f" [{', '.join(str(p) for p in ports)}], causing Kubernetes to terminate containers"
            f" on the targeted pod. Use an HTTP filter to prevent this. ({detail} in pod"
            f" {target.pod.display}.)",
            ("feature", "network", "incoming"),
            "mirrord/kube/src/api/kubernetes.rs, create_agent (containers_probe_ports,"
            " IncomingConfig::steals_port_without_filter)",
            {"ports": ports},
        )
    ]


def agent_needs_privileged(
    settings: AgentSettings, target: TargetRuntime | None
) -> list[RuleFinding]:
    """`agent-needs-privileged`: the target pod is in an Istio ambient mesh."""
    if target is None or target.mesh != "istio-ambient" or settings.privileged:
        return []
    return [
        RuleFinding(
            "agent-needs-privileged",
            "error",
            f"Pod {target.pod.display} is in an ambient Istio mesh"
            " (ambient.istio.io/redirection: enabled): mirrord says the agent will not be able"
            " to start unless `agent.privileged` is true.",
            ("agent", "privileged"),
            "mirrord/kube/src/api/kubernetes.rs, create_agent: `mirrord detected an ambient"
            " Istio service mesh but the agent is not configured to run in a privileged"
            " SecurityContext. Please set `agent.privileged = true`, otherwise the agent will not"
            " be able to start.`",
        )
    ]


def ephemeral_unsupported(
    plan: AgentPlan, core_resources: frozenset[str] | Unreadable | None
) -> list[RuleFinding]:
    """`ephemeral-unsupported`: `GET /api/v1` does not list pods/ephemeralcontainers."""
    if plan.variant != "ephemeral" or not isinstance(core_resources, frozenset):
        return []
    if "pods/ephemeralcontainers" in core_resources:
        return []
    return [
        RuleFinding(
            "ephemeral-unsupported",
            "error",
            "`agent.ephemeral` is true, but this API server does not serve"
            " pods/ephemeralcontainers (not listed by GET /api/v1): mirrord will stop when it"
            " adds its container to the target pod. Use a Job agent (`agent.ephemeral: false`).",
            ("agent", "ephemeral"),
            "mirrord/kube/src/api/container/ephemeral.rs, create_ephemeral_agent:"
            ' get_subresource("ephemeralcontainers")',
        )
    ]


def agent_notes(
    target: TargetRuntime | None, groups: frozenset[str] | Unreadable | None
) -> list[RuleFinding]:
    """Information mirrord prints on the way: the container it picked, the mesh, OpenShift."""
    out = []
    if target is not None and target.guessed:
        out.append(
            RuleFinding(
                "target-container-picked",
                "information",
                f'Target has multiple containers, mirrord picked "{target.container}". To'
                " target a different one, include it in the target path.",
                ("target",),
                "mirrord/kube/src/api/kubernetes.rs, create_agent (guessed_container);"
                " container.rs choose_container",
                {"container": target.container, "pod": target.pod.display},
            )
        )
    if target is not None and target.mesh is not None:
        out.append(
            RuleFinding(
                "service-mesh-detected",
                "information",
                f"service mesh detected: {target.mesh} (pod {target.pod.display}).",
                ("target",),
                "mirrord/kube/src/api/kubernetes.rs, create_agent; container.rs check_mesh_vendor",
                {"mesh": target.mesh},
            )
        )
    if isinstance(groups, frozenset) and OPENSHIFT_GROUP in groups:
        out.append(
            RuleFinding(
                "openshift-detected",
                "information",
                "mirrord has detected it's running on OpenShift. Due to the default PSP of"
                " OpenShift, mirrord may not be able to create the agent.",
                (),
                "mirrord/kube/src/api/kubernetes.rs, KubernetesAPI::detect_openshift",
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """The facts the rules read; None = not read (the rule that needs it stays silent)."""

    access: tuple[AccessAnswer, ...] = ()
    """SelfSubjectAccessReview answers in the agent namespace (`access_reviews(plan)`)."""
    namespace: NamespaceFacts | Unreadable | None = None
    """GET /api/v1/namespaces/{agent namespace}."""
    target: TargetPods | Unreadable | None = None
    """The target's pods (GET pod; or GET deployment/rollout + LIST pods by its labels)."""
    node: NodeFacts | Unreadable | None = None
    """GET /api/v1/nodes/{the picked pod's node} (when `node_check_applies`)."""
    running_on_node: int | Unreadable | None = None
    """LIST /api/v1/pods?fieldSelector=status.phase=Running,spec.nodeName={node}: the count."""
    core_resources: frozenset[str] | Unreadable | None = None
    """GET /api/v1 resource names (when the plan is ephemeral)."""
    api_groups: frozenset[str] | Unreadable | None = None
    """GET /apis group names (OpenShift)."""
    user: str | None = None
    """The user name RBAC sees (SelfSubjectReview), for the Role fix."""


def picked_target(
    settings: AgentSettings, target: TargetPods | Unreadable | None
) -> TargetRuntime | NotReady | None:
    """The pod and container mirrord will target (None: targetless, or not readable)."""
    if settings.target is None or not isinstance(target, TargetPods):
        return None
    return target_runtime(target, settings.target.container)


def oss_agent_findings(
    settings: AgentSettings,
    context_namespace: str | None,
    facts: AgentFacts,
    *,
    uses_operator: bool,
) -> list[RuleFinding]:
    """Every open-source agent rule, in the order mirrord meets them; [] with the operator."""
    if uses_operator or settings.target_invalid:
        return []
    if settings.target is not None and settings.target.needs_operator:
        return []  # mirrord stops earlier: `target-requires-operator` says so
    plan = agent_plan(settings, context_namespace)
    if plan.namespace is None:
        return []  # LayerConfig::verify refuses the config: the config check says so
    result = picked_target(settings, facts.target)
    runtime = result if isinstance(result, TargetRuntime) else None
    return [
        *agent_notes(runtime, facts.api_groups),
        *target_not_ready(result),
        *agent_needs_privileged(settings, runtime),
        *probe_steal(settings, runtime),
        *ephemeral_unsupported(plan, facts.core_resources),
        *node_full(plan, settings, runtime, facts.node, facts.running_on_node),
        *agent_namespace_not_found(plan, facts.namespace),
        *agent_forbidden(plan, facts.access, facts.user),
        *agent_blocked_by_policy(plan, settings, facts.namespace, runtime),
    ]
