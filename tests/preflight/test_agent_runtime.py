"""mirrord's runtime-data rules: the target pod and container it picks, or why it stops.

Each case names the step of mirrord/kube/src/api/runtime.rs (RuntimeData::from_pod,
RuntimeDataFromLabels::runtime_data) or container.rs (choose_container, check_mesh_vendor).
"""

from __future__ import annotations

import dataclasses

import pytest

from mirrord_ls.cluster.preflight.agent_facts import ContainerStatus, TargetPods, pod_facts
from mirrord_ls.cluster.preflight.agent_runtime import (
    NotReady,
    TargetRuntime,
    choose_container,
    mesh_vendor,
    runtime_from_pod,
    target_runtime,
)
from mirrord_ls.loopback.agent_samples import agent_pod, container

READY = pod_facts(agent_pod("p", "apps", container("app")))


def _with(**changes):
    return dataclasses.replace(READY, **changes)


@pytest.mark.parametrize(
    ("pod", "container_name", "reason"),
    [
        (_with(phase=None), None, "missing field `.status.phase`"),
        (_with(phase="Pending"), None, "not in 'Running' phase"),
        (_with(deleting=True), None, "in deletion"),
        (_with(node_name=None), None, "missing field `.spec.nodeName`"),
        (_with(pod_ips=None), None, "missing field `.status.podIPs`"),
        (_with(container_statuses=None), None, "missing field `.status.containerStatuses`"),
        (READY, "other", "target container `other` not found"),
        (_with(container_statuses=()), None, "no viable target container found"),
        (
            _with(container_statuses=(ContainerStatus("app", False, "containerd://1"),)),
            None,
            "target container `app` is not ready",
        ),
        (
            _with(container_statuses=(ContainerStatus("app", True, None),)),
            None,
            "containerID`",
        ),
        (
            _with(container_statuses=(ContainerStatus("app", True, "rkt://abc"),)),
            None,
            "failed to extract container runtime",
        ),
    ],
)
def test_from_pod_refuses(pod, container_name, reason):
    result = runtime_from_pod(pod, container_name)
    assert isinstance(result, str) and reason in result
    assert "apps/p" in result


@pytest.mark.parametrize("runtime", ["docker", "containerd", "cri-o"])
def test_from_pod_accepts_known_runtimes(runtime):
    pod = _with(container_statuses=(ContainerStatus("app", True, f"{runtime}://abc"),))
    result = runtime_from_pod(pod, None)
    assert isinstance(result, TargetRuntime) and result.container == "app"


@pytest.mark.parametrize(
    ("names", "named", "default", "picked", "guessed"),
    [
        (["a"], None, None, "a", False),
        (["a", "b"], None, None, "a", True),  # first of several: mirrord warns
        (["istio-proxy", "a"], None, None, "a", False),  # SKIP_NAMES are passed over
        (["istio-proxy", "a", "b"], None, None, "a", True),
        (["istio-proxy", "linkerd-proxy"], None, None, "istio-proxy", True),  # only skipped ones
        (["a", "b"], None, "b", "b", False),  # kubectl.kubernetes.io/default-container
        (["a", "b"], None, "zz", "a", True),  # an absent default is advisory
        (["a", "b"], "b", None, "b", False),
        (["a", "b"], "zz", None, None, False),
    ],
)
def test_choose_container(names, named, default, picked, guessed):
    statuses = tuple(ContainerStatus(n, True, "docker://x") for n in names)
    chosen, was_guessed = choose_container(named, default, statuses)
    assert (chosen.name if chosen else None, was_guessed) == (picked, guessed)


@pytest.mark.parametrize(
    ("containers", "inits", "annotations", "mesh"),
    [
        (("app",), (), {"ambient.istio.io/redirection": "enabled"}, "istio-ambient"),
        (("app",), (), {"ambient.istio.io/redirection": "disabled"}, None),
        (("app", "istio-proxy"), ("istio-validation",), {}, "istio-cni"),
        (("app", "istio-proxy"), ("istio-init",), {}, "istio"),
        (("app", "linkerd-proxy"), ("linkerd-init",), {}, "linkerd"),
        (("app", "kuma-sidecar"), ("kuma-init",), {}, "kuma"),
        # check_mesh_vendor's `?` on initContainerStatuses: no init containers, no sidecar mesh
        (("app", "istio-proxy"), (), {}, None),
    ],
)
def test_mesh_vendor(containers, inits, annotations, mesh):
    doc = agent_pod(
        "p",
        "apps",
        *(container(c) for c in containers),
        init_containers=inits,
        annotations=annotations,
    )
    assert mesh_vendor(pod_facts(doc)) == mesh


def _pods(*docs):
    return tuple(pod_facts(d) for d in docs)


def test_workload_picks_the_first_ready_pod_in_list_order():
    pods = _pods(
        agent_pod("a", "apps", container("app"), phase="Pending"),
        agent_pod("b", "apps", container("app")),
        agent_pod("c", "apps", container("app")),
    )
    result = target_runtime(TargetPods("deployment", "web", "apps", pods), None)
    assert isinstance(result, TargetRuntime) and result.pod.name == "b"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            TargetPods("deployment", "web", "apps", ()),
            "Deployment `apps/web` is in invalid state: no pods matching the labels were found",
        ),
        (
            TargetPods(
                "rollout",
                "ro",
                "apps",
                _pods(agent_pod("a", "apps", container("app"), deleting=True)),
            ),
            "Rollout `apps/ro` is in invalid state: no pod matching the labels is ready",
        ),
        (
            TargetPods(
                "rollout",
                "ro",
                "apps",
                (),
                problem="both `.spec.selector` and `.spec.workloadRef` fields are empty",
            ),
            "fields are empty",
        ),
        (
            TargetPods(
                "pod", "p", "apps", _pods(agent_pod("p", "apps", container("app"), ready=False))
            ),
            "target container `app` is not ready",
        ),
    ],
)
def test_target_not_ready(target, message):
    result = target_runtime(target, None)
    assert isinstance(result, NotReady) and message in result.message


def test_probe_ports_cover_every_container():
    # runtime.rs: containers_probe_ports flat_maps over all containers, not only the target's.
    doc = agent_pod(
        "p",
        "apps",
        container("app"),
        container("side", livenessProbe={"httpGet": {"port": 15020}}),
    )
    result = runtime_from_pod(pod_facts(doc), "app")
    assert isinstance(result, TargetRuntime) and result.probe_ports == (15020,)
