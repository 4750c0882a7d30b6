"""Loopback clusters for the open-source agent checks: one kube context per case.

`start_agent_clusters(path)` starts two servers without the mirrord operator
(so mirrord takes the open-source path) holding `agent_samples`, and writes a
kubeconfig with one context per :class:`AgentScenario`. Each scenario names the
config to check with it and the findings the checks must reach (code,
severity), its control cases included (where the check must stay silent).

| server   | serves                                                             |
|----------|--------------------------------------------------------------------|
| `main`   | Kubernetes with pods/ephemeralcontainers                           |
| `legacy` | no pods/ephemeralcontainers in `/api/v1`, and OpenShift's routes   |

Users (RBAC): `dev` may read targets, namespaces and nodes and do everything
the agent needs, everywhere; `viewer` only reads; `kubectl-pf` has the agent's
permissions but port-forward only as `create` (kubectl's verb); `no-ns` may not
read namespaces; `no-nodes` may not read nodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from mirrord_ls.loopback.agent_samples import agent_sample_objects
from mirrord_ls.loopback.apiserver import LoopbackApiServer, OperatorState
from mirrord_ls.loopback.kubeconfig import KubeContext, write_kubeconfig
from mirrord_ls.loopback.rbac import PolicyRule, rule
from mirrord_ls.loopback.resources import OPENSHIFT_RESOURCES

READ_TARGETS: tuple[PolicyRule, ...] = (
    rule(["get", "list", "watch"], ["pods", "services"]),
    rule(["get", "list", "watch"], ["deployments", "statefulsets", "replicasets"], groups=["apps"]),
    rule(["get", "list", "watch"], ["jobs", "cronjobs"], groups=["batch"]),
    rule(["get", "list", "watch"], ["rollouts"], groups=["argoproj.io"]),
)
READ_NAMESPACES = (rule(["get", "list", "watch"], ["namespaces"]),)
READ_NODES = (rule(["get", "list", "watch"], ["nodes"]),)
AGENT_JOB = (
    rule(["create"], ["jobs"], groups=["batch"]),
    rule(["get", "list", "watch"], ["pods"]),
    rule(["get"], ["pods/log"]),
)
AGENT_EPHEMERAL = (rule(["get", "update"], ["pods/ephemeralcontainers"]),)
PORT_FORWARD = (rule(["get", "create"], ["pods/portforward"]),)
PORT_FORWARD_KUBECTL = (rule(["create"], ["pods/portforward"]),)

USERS: dict[str, tuple[PolicyRule, ...]] = {
    "dev": READ_TARGETS + READ_NAMESPACES + READ_NODES + AGENT_JOB + AGENT_EPHEMERAL + PORT_FORWARD,
    "viewer": READ_TARGETS + READ_NAMESPACES + READ_NODES,
    "kubectl-pf": READ_TARGETS
    + READ_NAMESPACES
    + READ_NODES
    + AGENT_JOB
    + AGENT_EPHEMERAL
    + PORT_FORWARD_KUBECTL,
    "no-ns": READ_TARGETS + READ_NODES + AGENT_JOB + AGENT_EPHEMERAL + PORT_FORWARD,
    "no-nodes": READ_TARGETS + READ_NAMESPACES + AGENT_JOB + AGENT_EPHEMERAL + PORT_FORWARD,
}


@dataclass(frozen=True)
class AgentScenario:
    context: str
    """The kube context (and the case's name)."""
    server: str
    user: str
    namespace: str
    """The context's namespace: where a Job agent goes unless `agent.namespace` says otherwise."""
    config: dict[str, Any]
    expected: tuple[tuple[str, str], ...]
    """(code, severity) of every finding the open-source agent checks must reach."""
    why: str
    """The mirrord source that decides it."""


def _t(path: str, ns: str = "apps", **more: Any) -> dict[str, Any]:
    return {"target": {"path": path, "namespace": ns}, **more}


_READY = _t("deployment/ready")
_ERR = "error"
_INFO = "information"

SCENARIOS: tuple[AgentScenario, ...] = (
    AgentScenario("agent-ok", "main", "dev", "agents", _READY, (), "control"),
    AgentScenario(
        "agent-forbidden",
        "main",
        "viewer",
        "agents",
        _READY,
        (("agent-forbidden", _ERR),) * 3,
        "job.rs create_job_agent (create jobs), util.rs wait_for_agent_startup (pods/log),"
        " portforwarder.rs (get pods/portforward); viewer may list and watch pods",
    ),
    AgentScenario(
        "agent-portforward-create-only",
        "main",
        "kubectl-pf",
        "agents",
        _READY,
        (("agent-forbidden", _ERR),),
        "portforwarder.rs: Api::portforward is a GET upgrade (verb get)",
    ),
    AgentScenario(
        "agent-namespace-missing",
        "main",
        "dev",
        "agents",
        _t("deployment/ready", agent={"namespace": "nowhere"}),
        (("agent-namespace-not-found", _ERR),),
        "container/job.rs create_job_agent: job_api.create",
    ),
    AgentScenario(
        "policy-baseline",
        "main",
        "dev",
        "psa-baseline",
        _READY,
        (("agent-blocked-by-policy", _ERR),),
        "kubernetes.rs get_k8s_resource_api: the Job goes to the context's namespace",
    ),
    AgentScenario(
        "policy-baseline-agent-namespace",
        "main",
        "dev",
        "psa-baseline",
        _t("deployment/ready", agent={"namespace": "agents"}),
        (),
        "control: agent.namespace moves the Job",
    ),
    AgentScenario(
        "policy-baseline-targetless",
        "main",
        "dev",
        "psa-baseline",
        {},
        (),
        "control: pod.rs PodVariant (no hostPID, hostPath or capabilities)",
    ),
    AgentScenario(
        "policy-restricted-targetless",
        "main",
        "dev",
        "psa-restricted",
        {},
        (("agent-blocked-by-policy", _ERR),),
        "pod.rs PodVariant: no runAsNonRoot, allowPrivilegeEscalation or drop ALL",
    ),
    AgentScenario(
        "policy-privileged",
        "main",
        "dev",
        "psa-privileged",
        _READY,
        (),
        "control: a privileged namespace admits the agent",
    ),
    AgentScenario(
        "policy-unreadable",
        "main",
        "no-ns",
        "psa-baseline",
        _READY,
        (("agent-blocked-by-policy", _INFO),),
        "could not judge: the namespace cannot be read",
    ),
    AgentScenario(
        "policy-ephemeral-baseline",
        "main",
        "dev",
        "agents",
        _t("pod/guarded", "psa-baseline", agent={"ephemeral": True}),
        (("agent-blocked-by-policy", _ERR),),
        "ephemeral.rs EphemeralTargetedVariant: capabilities added",
    ),
    AgentScenario(
        "policy-ephemeral-no-capabilities",
        "main",
        "dev",
        "agents",
        _t(
            "pod/guarded",
            "psa-baseline",
            agent={
                "ephemeral": True,
                "disabled_capabilities": ["SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN"],
            },
        ),
        (),
        "control: util.rs get_capabilities minus disabled_capabilities",
    ),
    AgentScenario(
        "target-not-ready-deployment",
        "main",
        "dev",
        "agents",
        _t("deployment/stuck"),
        (("target-not-ready", _ERR),),
        "runtime.rs RuntimeDataFromLabels: no pod matching the labels is ready",
    ),
    AgentScenario(
        "target-not-ready-empty",
        "main",
        "dev",
        "agents",
        _t("deployment/empty"),
        (("target-not-ready", _ERR),),
        "runtime.rs RuntimeDataFromLabels: no pods matching the labels were found",
    ),
    AgentScenario(
        "target-not-ready-pending",
        "main",
        "dev",
        "agents",
        _t("pod/pending"),
        (("target-not-ready", _ERR),),
        "runtime.rs from_pod: not in 'Running' phase",
    ),
    AgentScenario(
        "target-not-ready-terminating",
        "main",
        "dev",
        "agents",
        _t("pod/terminating"),
        (("target-not-ready", _ERR),),
        "runtime.rs from_pod: in deletion",
    ),
    AgentScenario(
        "target-ready-rollout",
        "main",
        "dev",
        "agents",
        _t("rollout/canary"),
        (),
        "control: rollout.rs get_match_labels through workloadRef",
    ),
    AgentScenario(
        "node-full",
        "main",
        "dev",
        "agents",
        _t("pod/crowded"),
        (("node-full", _ERR),),
        "runtime.rs check_node_inner: allowed <= pod_count",
    ),
    AgentScenario(
        "node-full-unchecked",
        "main",
        "dev",
        "agents",
        _t("pod/crowded", agent={"check_out_of_pods": False}),
        (),
        "control: targeted.rs checks only with check_out_of_pods",
    ),
    AgentScenario(
        "node-full-ephemeral",
        "main",
        "dev",
        "agents",
        _t("pod/crowded", agent={"ephemeral": True}),
        (),
        "control: ephemeral agents skip the node check",
    ),
    AgentScenario(
        "node-full-unreadable",
        "main",
        "no-nodes",
        "agents",
        _t("pod/crowded"),
        (),
        "control: NodeCheck::Error is only logged",
    ),
    AgentScenario(
        "probe-steal",
        "main",
        "dev",
        "agents",
        _t("pod/probed", feature={"network": {"incoming": "steal"}}),
        (("probe-steal", "warning"),),
        "kubernetes.rs create_agent: containers_probe_ports",
    ),
    AgentScenario(
        "probe-steal-filtered",
        "main",
        "dev",
        "agents",
        _t(
            "pod/probed",
            feature={
                "network": {
                    "incoming": {"mode": "steal", "http_filter": {"header_filter": "x-me: 1"}}
                }
            },
        ),
        (),
        "control: incoming.rs steals_port_without_filter (filter, no ports)",
    ),
    AgentScenario(
        "probe-steal-filter-ports",
        "main",
        "dev",
        "agents",
        _t(
            "pod/probed",
            feature={
                "network": {
                    "incoming": {
                        "mode": "steal",
                        "http_filter": {"header_filter": "x-me: 1", "ports": [8080]},
                    }
                }
            },
        ),
        (("probe-steal", "warning"),),
        "incoming.rs steals_port_without_filter: 9090 is outside http_filter.ports",
    ),
    AgentScenario(
        "probe-mirror",
        "main",
        "dev",
        "agents",
        _t("pod/probed"),
        (),
        "control: mirror mode steals nothing",
    ),
    AgentScenario(
        "istio-ambient",
        "main",
        "dev",
        "agents",
        _t("pod/ambient"),
        (("service-mesh-detected", _INFO), ("agent-needs-privileged", _ERR)),
        "kubernetes.rs create_agent: IstioAmbient without agent.privileged",
    ),
    AgentScenario(
        "istio-ambient-privileged",
        "main",
        "dev",
        "agents",
        _t("pod/ambient", agent={"privileged": True}),
        (("service-mesh-detected", _INFO),),
        "control: agent.privileged",
    ),
    AgentScenario(
        "container-picked",
        "main",
        "dev",
        "agents",
        _t("pod/multi"),
        (("target-container-picked", _INFO),),
        "container.rs choose_container: picked from many",
    ),
    AgentScenario(
        "container-default",
        "main",
        "dev",
        "agents",
        _t("pod/multi-default"),
        (),
        "control: kubectl.kubernetes.io/default-container",
    ),
    AgentScenario(
        "container-named",
        "main",
        "dev",
        "agents",
        _t("pod/multi/container/worker"),
        (),
        "control: a named container",
    ),
    AgentScenario(
        "service-mesh",
        "main",
        "dev",
        "agents",
        _t("pod/meshed"),
        (("service-mesh-detected", _INFO),),
        "container.rs check_mesh_vendor: istio-proxy sidecar",
    ),
    AgentScenario(
        "ephemeral-supported",
        "main",
        "dev",
        "agents",
        _t("pod/ready-1", agent={"ephemeral": True}),
        (),
        "control: /api/v1 lists pods/ephemeralcontainers",
    ),
    AgentScenario(
        "ephemeral-unsupported",
        "legacy",
        "dev",
        "agents",
        _t("pod/ready-1", agent={"ephemeral": True}),
        (("openshift-detected", _INFO), ("ephemeral-unsupported", _ERR)),
        'ephemeral.rs get_subresource("ephemeralcontainers")',
    ),
    AgentScenario(
        "openshift",
        "legacy",
        "dev",
        "agents",
        _READY,
        (("openshift-detected", _INFO),),
        "kubernetes.rs detect_openshift: route.openshift.io",
    ),
)


def agent_server(*, legacy: bool = False) -> LoopbackApiServer:
    """A server without the operator, holding the agent samples, with the users above."""
    server = LoopbackApiServer(
        operator_state=OperatorState.NOT_INSTALLED,
        sample_data=False,
        ephemeral_containers=not legacy,
        extra_resources=OPENSHIFT_RESOURCES if legacy else (),
    )
    server.store.put_all(agent_sample_objects())
    for name, rules in USERS.items():
        server.add_user(name)
        server.rbac.grant(name, rules)
    return server


@dataclass
class AgentClusters:
    """The running servers behind the agent kubeconfig; `stop()` (or `with`) ends them."""

    kubeconfig: Path
    scenarios: tuple[AgentScenario, ...]
    servers: dict[str, LoopbackApiServer]
    contexts: dict[str, KubeContext] = field(default_factory=dict)

    def server_for(self, context: str) -> LoopbackApiServer:
        scenario = next(s for s in self.scenarios if s.context == context)
        return self.servers[scenario.server]

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> AgentClusters:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_agent_clusters(
    kubeconfig: str | Path, scenarios: Iterable[AgentScenario] = SCENARIOS
) -> AgentClusters:
    """Start the servers and write one context per scenario (current: the first)."""
    chosen = tuple(scenarios)
    servers = {"main": agent_server(), "legacy": agent_server(legacy=True)}
    try:
        for server in servers.values():
            server.start()
        contexts = [
            servers[s.server].context(
                servers[s.server].user(s.user), name=s.context, namespace=s.namespace
            )
            for s in chosen
        ]
        path = write_kubeconfig(kubeconfig, contexts, current=chosen[0].context)
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return AgentClusters(path, chosen, servers, {c.name: c for c in contexts})
