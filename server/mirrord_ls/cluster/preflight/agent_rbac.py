"""What RBAC must allow for mirrord to create its agent without the operator, and the fix.

The permissions, step by step, as mirrord's calls need them
(metalbear-co/mirrord 3.250.0):

Job agent, in the agent namespace (`container/job.rs`, `create_job_agent`):
  POST jobs (`job_api.create`); a watcher on pods by `job-name` label (LIST then
  WATCH pods); the agent's log (`util.rs`, `wait_for_agent_startup`: GET pods/log);
  then `kubernetes/portforwarder.rs` (`Api::portforward`: a GET upgrade on
  pods/{name}/portforward, RBAC verb `get`; `kubectl port-forward` POSTs, verb `create`).
Ephemeral agent, in the target pod's namespace (`container/ephemeral.rs`,
  `create_ephemeral_agent`): GET the pod, GET and PUT (`replace_subresource`,
  verb `update`) pods/ephemeralcontainers, a watcher on the pod (LIST, WATCH),
  the log, and the port-forward.

The fix is data (a Role and a RoleBinding to exactly one user), serialized with
PyYAML; never a string template.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from mirrord_ls.cluster.preflight.agent_facts import AccessAnswer
from mirrord_ls.cluster.preflight.agent_namespace import AgentPlan

RBAC_API = "rbac.authorization.k8s.io"
ROLE_NAME = "mirrord-agent"


@dataclass(frozen=True, slots=True)
class Permission:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""

    @property
    def display(self) -> str:
        res = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {res}" + (f" ({self.group})" if self.group else "")

    def matches(self, answer: AccessAnswer) -> bool:
        return (answer.verb, answer.resource, answer.group, answer.subresource) == (
            self.verb,
            self.resource,
            self.group,
            self.subresource,
        )


@dataclass(frozen=True, slots=True)
class PermissionSet:
    """The permissions one step of mirrord's agent start-up needs."""

    step: str
    """What mirrord does with them, for the message."""
    permissions: tuple[Permission, ...]
    mirrord_source: str


CREATE_JOB = PermissionSet(
    "create the agent Job",
    (Permission("create", "jobs", "batch"),),
    "mirrord/kube/src/api/container/job.rs, create_job_agent: job_api.create",
)
WATCH_PODS = PermissionSet(
    "watch the agent pod start",
    (Permission("list", "pods"), Permission("watch", "pods")),
    "mirrord/kube/src/api/container/job.rs, create_job_agent: watcher(pod_api, ...)",
)
WATCH_TARGET_POD = PermissionSet(
    "watch the agent container start",
    (Permission("list", "pods"), Permission("watch", "pods")),
    "mirrord/kube/src/api/container/ephemeral.rs, create_ephemeral_agent: watcher(pod_api, ...)",
)
READ_LOG = PermissionSet(
    "read the agent's log (it waits for `agent ready`)",
    (Permission("get", "pods", subresource="log"),),
    "mirrord/kube/src/api/container/util.rs, wait_for_agent_startup: log_stream",
)
PORT_FORWARD = PermissionSet(
    "port-forward to the agent",
    (Permission("get", "pods", subresource="portforward"),),
    "mirrord/kube/src/api/kubernetes/portforwarder.rs, create_portforward_streams:"
    " pod_api.portforward (a GET upgrade); on failure mirrord prints `Failed to connect to"
    " the created mirrord-agent: ...`",
)
ADD_EPHEMERAL = PermissionSet(
    "add the agent container to the target pod",
    (
        Permission("get", "pods"),
        Permission("get", "pods", subresource="ephemeralcontainers"),
        Permission("update", "pods", subresource="ephemeralcontainers"),
    ),
    "mirrord/kube/src/api/container/ephemeral.rs, create_ephemeral_agent: pod_api.get,"
    ' get_subresource / replace_subresource("ephemeralcontainers")',
)


def required_permissions(plan: AgentPlan) -> tuple[PermissionSet, ...]:
    """The permission sets, in the order mirrord needs them; () when no agent is created."""
    if plan.variant in ("job-targetless", "job-targeted"):
        return (CREATE_JOB, WATCH_PODS, READ_LOG, PORT_FORWARD)
    if plan.variant == "ephemeral":
        return (ADD_EPHEMERAL, WATCH_TARGET_POD, READ_LOG, PORT_FORWARD)
    return ()


def access_reviews(plan: AgentPlan) -> list[dict[str, Any]]:
    """The SelfSubjectAccessReview bodies to POST (one per distinct permission)."""
    if plan.namespace is None:
        return []
    seen: list[Permission] = []
    for pset in required_permissions(plan):
        seen += [p for p in pset.permissions if p not in seen]
    return [
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "namespace": plan.namespace.name,
                    "verb": p.verb,
                    "group": p.group,
                    "resource": p.resource,
                    "subresource": p.subresource,
                }
            },
        }
        for p in seen
    ]


def missing(
    pset: PermissionSet, namespace: str, answers: Iterable[AccessAnswer]
) -> tuple[Permission, ...] | None:
    """The permissions of a set the cluster denied; None when an answer is lacking."""
    answers = [a for a in answers if a.namespace == namespace]
    out = []
    for perm in pset.permissions:
        answer = next((a for a in answers if perm.matches(a)), None)
        if answer is None or answer.allowed is None:
            return None
        if not answer.allowed:
            out.append(perm)
    return tuple(out)


def role_rules(plan: AgentPlan) -> list[dict[str, Any]]:
    """The Role's rules: everything the plan needs, port-forward with `create` too (kubectl)."""
    by_key: dict[tuple[str, str], list[str]] = {}
    for pset in required_permissions(plan):
        for p in pset.permissions:
            res = f"{p.resource}/{p.subresource}" if p.subresource else p.resource
            verbs = by_key.setdefault((p.group, res), [])
            if p.verb not in verbs:
                verbs.append(p.verb)
            if p.subresource == "portforward" and "create" not in verbs:
                verbs.append("create")
    return [
        {"apiGroups": [group], "resources": [resource], "verbs": verbs}
        for (group, resource), verbs in by_key.items()
    ]


def _safe(name: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", name.lower()).strip("-.")[:40] or "user"


def role_fix(plan: AgentPlan, user: str) -> dict[str, Any]:
    """A Role with what mirrord needs in the agent namespace, bound to exactly `user`.

    Returns {"namespace", "user", "role", "roleBinding", "yaml"}: the objects as data
    and the YAML an admin applies (`kubectl apply -f`).
    """
    namespace = plan.namespace.name if plan.namespace is not None else "default"
    role = {
        "apiVersion": f"{RBAC_API}/v1",
        "kind": "Role",
        "metadata": {"name": ROLE_NAME, "namespace": namespace},
        "rules": role_rules(plan),
    }
    binding = {
        "apiVersion": f"{RBAC_API}/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{ROLE_NAME}-{_safe(user)}", "namespace": namespace},
        "roleRef": {"apiGroup": RBAC_API, "kind": "Role", "name": ROLE_NAME},
        "subjects": [{"apiGroup": RBAC_API, "kind": "User", "name": user}],
    }
    text = yaml.safe_dump_all([role, binding], sort_keys=False, default_flow_style=False)
    return {
        "namespace": namespace,
        "user": user,
        "role": role,
        "roleBinding": binding,
        "yaml": text,
    }
