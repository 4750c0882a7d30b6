"""What a check finds, before it becomes an LSP diagnostic or a line of `check` output.

Config checks and cluster checks both produce :class:`Finding` objects with
offsets into the file as written; `lsp_convert.py` turns them into LSP
diagnostics and into `check --format json` entries. Cluster check units
return :class:`KeyedFinding` objects instead, placed by config key path (they
never see the text); `ClusterInputs.anchor` turns a key path into offsets.
No LSP types here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "information", "hint"]

# Every code mirrord-ls can publish, with its meaning (the README table is built from this).
CODES: dict[str, str] = {
    "syntax": "The file cannot be read as JSON, TOML or YAML; mirrord would refuse it.",
    "template": "A Tera template in the file cannot be rendered (mirrord renders before parsing).",
    "unknown-field": "A field mirrord does not know; mirrord rejects unknown fields anywhere.",
    "invalid-value": "A value of the wrong type, outside the allowed values, or malformed.",
    "missing-field": "A field the schema requires is absent.",
    "deprecated": "A field mirrord still reads but has deprecated.",
    "conflict": "Settings mirrord refuses, or warns about, in combination (beyond the schema).",
    "unstable": "A setting mirrord marks unstable: mirrord warns at start-up that it may change.",
    "kubeconfig-not-found": "The kubeconfig mirrord would use does not exist.",
    "kubeconfig-invalid": "The kubeconfig cannot be read or is malformed.",
    "context-not-found": "The kube context named does not exist in the kubeconfig.",
    "operator-forbidden": "The operator is installed, but RBAC forbids you to use it.",
    "operator-not-installed": "The mirrord operator is not installed in the cluster.",
    "operator-check-failed": "The operator's API answered with an error: mirrord cannot tell.",
    "cluster-unreachable": "The cluster's API server cannot be reached.",
    "cluster-tls-error": "The TLS connection to the API server failed.",
    "cluster-auth-failed": "The cluster rejected the credentials, or none could be obtained.",
    "target-not-found": "The target does not exist in its namespace (closest names given).",
    "target-container-not-found": "The target has no container of that name.",
    "target-requires-operator": "This target kind needs the operator, which mirrord will not use.",
    "target-forbidden": "You may not read the target's workload, so it cannot be checked.",
    "untrusted-credential-plugin": "A workspace kubeconfig names a program mirrord-ls won't run.",
    "untrusted-kubeconfig": "An untrusted workspace's kubeconfig: not read, no cluster asked.",
    "untrusted-template": "A templated target in an untrusted workspace: not sent to the cluster.",
    # Without the operator: the agent mirrord creates itself (cluster/preflight/agent.py).
    "agent-forbidden": "RBAC denies a step of creating or reaching the agent, in its namespace.",
    "agent-namespace-not-found": "The namespace the agent Job would be created in does not exist.",
    "agent-blocked-by-policy": "The namespace's Pod Security level forbids what the agent uses.",
    "target-not-ready": "No target pod is Running, not terminating, with its container ready.",
    "node-full": "The target's node runs as many pods as it may: no room for the agent Job.",
    "probe-steal": "Stealing without an HTTP filter takes the target's health-probe port.",
    "agent-needs-privileged": "The target is in an Istio ambient mesh; the agent needs privileged.",
    "ephemeral-unsupported": "agent.ephemeral, but the API server has no pods/ephemeralcontainers.",
    "target-container-picked": "The target has several containers; mirrord will pick this one.",
    "service-mesh-detected": "The target pod is in a service mesh (mirrord tells the agent).",
    "openshift-detected": "The cluster is OpenShift, whose default policy may refuse the agent.",
    "operator-invalid": "The MirrordOperator object is not one mirrord can read: it stops.",
    "license-expired": "The operator's licence expired: mirrord stops, or falls back to OSS.",
    "license-expiring": "The operator's trial licence ends within two days.",
    "certificate-forbidden": "RBAC forbids you to get a user certificate from the operator.",
    "session-forbidden": "RBAC forbids you to start a session (or copy) in the target's namespace.",
    "feature-unsupported": "The config needs an operator feature this operator does not offer.",
    "protocol-too-old": "An HTTP filter kind the operator's protocol version cannot carry.",
    "copy-target-filter": "copy_target with an HTTP filter: requests discarded or filter ignored.",
    "port-locked": "Another session steals a port this config steals on the same target.",
    "profile-not-found": "The mirrord profile named in `profile` does not exist.",
    "profile-forbidden": "RBAC forbids you to read the mirrord profile.",
    "profile-invalid": "The profile holds what this mirrord cannot apply, or another namespace.",
    "requires-operator": "copy_target, split_queues or db_branches without the operator.",
    "agent-config-ignored": "Agent settings mirrord ignores because the operator runs the agent.",
}


@dataclass(slots=True)
class Finding:
    code: str
    severity: Severity
    start: int
    end: int
    message: str
    source: str = "mirrord-ls"
    data: dict[str, Any] = field(default_factory=dict)


CLUSTER_SOURCE = "mirrord-ls (cluster)"

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class KeyedFinding:
    """A cluster finding placed by config key path, not by offset.

    `at` is where it belongs (e.g. `("agent", "namespace")`); when that key is not
    written, the first written path of `fallback`, else the nearest written parent
    of `at`, else the first line.
    """

    code: str
    severity: Severity
    message: str
    at: KeyPath
    fallback: tuple[KeyPath, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    source: str = CLUSTER_SOURCE

    def placed(self, span: tuple[int, int]) -> Finding:
        return Finding(
            self.code, self.severity, span[0], span[1], self.message, self.source, dict(self.data)
        )
