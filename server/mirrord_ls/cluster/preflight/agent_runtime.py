"""The target pod and container mirrord will pick, or why it will refuse the target.

A faithful copy of mirrord's rules (metalbear-co/mirrord 3.250.0,
`mirrord/kube/src/api/runtime.rs` and `container.rs`), as pure functions over
:class:`PodFacts`:

- `RuntimeData::from_pod`: the pod is Running, not in deletion, has a node, pod
  IPs and container statuses; the container is chosen (`choose_container`), is
  ready, and its container ID names a runtime mirrord knows.
- `RuntimeDataFromLabels::runtime_data` (deployments, rollouts): the first listed
  pod that passes; none listed or none passing stops mirrord.
- `check_mesh_vendor`: the mesh the agent will be told about.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirrord_ls.cluster.preflight.agent_facts import (
    AMBIENT_ANNOTATION,
    DEFAULT_CONTAINER_ANNOTATION,
    ContainerStatus,
    PodFacts,
    TargetPods,
)

TELEPRESENCE_CONTAINER = "traffic-agent"
# mirrord/kube/src/api/container.rs, SKIP_NAMES: sidecars mirrord never picks on its own.
SKIP_NAMES = frozenset(
    {
        "kuma-sidecar",
        "kuma-init",
        "istio-proxy",
        "istio-init",
        "linkerd-proxy",
        "linkerd-init",
        "vault-agent",
        "vault-agent-init",
        "queue-proxy",
        TELEPRESENCE_CONTAINER,
    }
)
RUNTIMES = ("docker", "containerd", "cri-o")  # runtime.rs, ContainerRuntime::from_str


@dataclass(frozen=True, slots=True)
class TargetRuntime:
    """What mirrord's `RuntimeData` holds for the rules: the pod, container and mesh."""

    pod: PodFacts
    container: str
    guessed: bool
    """mirrord picked the container among several (it warns)."""
    mesh: str | None
    """`MeshVendor` as mirrord prints it: istio-ambient, istio-cni, istio, linkerd, kuma."""

    @property
    def probe_ports(self) -> tuple[int, ...]:
        """runtime.rs `containers_probe_ports`: the probes of every container of the pod."""
        return tuple(p.port for p in self.pod.probe_ports)


@dataclass(frozen=True, slots=True)
class NotReady:
    """mirrord will stop: the error it prints, and per pod why it was passed over."""

    message: str
    pods: tuple[tuple[str, str], ...] = ()
    """(pod, reason) for each pod of a workload that was not target-ready."""


def choose_container(
    name: str | None, default: str | None, statuses: tuple[ContainerStatus, ...]
) -> tuple[ContainerStatus | None, bool]:
    """container.rs, `choose_container`: the named one only; else the
    `kubectl.kubernetes.io/default-container` one if present; else the first not in
    SKIP_NAMES (or the first at all). The bool: picked among several."""
    if name is not None:
        return next((s for s in statuses if s.name == name), None), False
    if default is not None:
        found = next((s for s in statuses if s.name == default), None)
        if found is not None:
            return found, False
    eligible = [s for s in statuses if s.name not in SKIP_NAMES]
    if eligible:
        return eligible[0], len(eligible) > 1
    return (statuses[0] if statuses else None), len(statuses) > 1


def mesh_vendor(pod: PodFacts) -> str | None:
    """container.rs, `check_mesh_vendor`. The sidecar branch needs both container and
    init-container statuses present (its `?` operators), as mirrord's does."""
    if pod.annotation(AMBIENT_ANNOTATION) == "enabled":
        return "istio-ambient"
    if pod.container_statuses is None or pod.init_container_names is None:
        return None
    names = {s.name for s in pod.container_statuses} | set(pod.init_container_names)
    if {"istio-proxy", "istio-validation"} <= names:
        return "istio-cni"
    if names & {"istio-proxy", "istio-init"}:
        return "istio"
    if names & {"linkerd-proxy", "linkerd-init"}:
        return "linkerd"
    if names & {"kuma-sidecar", "kuma-init"}:
        return "kuma"
    return None


def _invalid(pod: PodFacts, info: str) -> str:
    # mirrord/kube/src/error.rs, KubeApiError::invalid_state:
    # "{kind} `{namespace}/{name}` is in invalid state: {info}"
    return f"Pod `{pod.display}` is in invalid state: {info}"


def _missing(pod: PodFacts, field: str) -> str:
    return f"Pod `{pod.display}` is missing field `{field}`"


def runtime_from_pod(pod: PodFacts, container: str | None) -> TargetRuntime | str:
    """runtime.rs, `RuntimeData::from_pod`, step by step; a str is mirrord's reason."""
    if pod.phase is None:
        return _missing(pod, ".status.phase")
    if pod.phase != "Running":
        return _invalid(pod, "not in 'Running' phase")
    if pod.deleting:
        return _invalid(pod, "in deletion")
    if pod.node_name is None:
        return _missing(pod, ".spec.nodeName")
    if pod.pod_ips is None:
        return _missing(pod, ".status.podIPs")
    if pod.container_statuses is None:
        return _missing(pod, ".status.containerStatuses")
    chosen, guessed = choose_container(
        container, pod.annotation(DEFAULT_CONTAINER_ANNOTATION), pod.container_statuses
    )
    if chosen is None:
        if container is not None:
            return _invalid(pod, f"target container `{container}` not found")
        return _invalid(pod, "no viable target container found")
    if not chosen.ready:
        return _invalid(pod, f"target container `{chosen.name}` is not ready")
    if chosen.container_id is None:
        return _missing(pod, ".status.containerStatuses.[].containerID")
    runtime, sep, _id = chosen.container_id.partition("://")
    if not sep or runtime not in RUNTIMES:
        return (
            f"Pod `{pod.display}` has an invalid `.status.containerStatuses.[].containerID`:"
            f" failed to extract container runtime for `{chosen.name}`:"
            f" `{chosen.container_id}`"
        )
    return TargetRuntime(pod, chosen.name, guessed, mesh_vendor(pod))


_KIND_NAMES = {"deployment": "Deployment", "rollout": "Rollout", "pod": "Pod"}


def target_runtime(target: TargetPods, container: str | None) -> TargetRuntime | NotReady:
    """The pod and container mirrord will target, or why it will stop.

    Pod target: runtime/pod.rs (`from_pod` on that pod). Deployment / rollout:
    runtime.rs, `RuntimeDataFromLabels::runtime_data`: "no pods matching the labels
    were found", else the first pod `from_pod` accepts, else "no pod matching the
    labels is ready to be targeted".
    """
    kind = _KIND_NAMES.get(target.kind, target.kind)
    where = f"{kind} `{target.namespace}/{target.name}`"
    if target.problem is not None:
        return NotReady(f"{where} is in invalid state: {target.problem}")
    if target.kind == "pod":
        if not target.pods:
            return NotReady(f"{where} was not found")
        result = runtime_from_pod(target.pods[0], container)
        return result if isinstance(result, TargetRuntime) else NotReady(result)
    if not target.pods:
        return NotReady(f"{where} is in invalid state: no pods matching the labels were found")
    passed_over: list[tuple[str, str]] = []
    for pod in target.pods:
        result = runtime_from_pod(pod, container)
        if isinstance(result, TargetRuntime):
            return result
        passed_over.append((pod.name, result))
    return NotReady(
        f"{where} is in invalid state: no pod matching the labels is ready to be targeted",
        tuple(passed_over),
    )
