"""Would Pod Security admission let mirrord's agent in? The agent as data, judged by level.

`agent_pod(...)` writes down the security-relevant part of the pod (or the
ephemeral container) mirrord will create, as mirrord builds it
(metalbear-co/mirrord 3.250.0, `mirrord/kube/src/api/container/pod.rs`
`PodVariant::as_update` / `PodTargetedVariant::as_update`, `ephemeral.rs`
`EphemeralTargetedVariant::as_update`, `util.rs` `get_capabilities`), in the
Kubernetes pod shape. `violations(level, pod)` then applies the Pod Security
Standards' checks of that level (kubernetes.io/docs/concepts/security/
pod-security-standards; the checks of k8s.io/pod-security-admission/policy),
worded as the admission's error words them.

Only the checks the agent's fields can trip are implemented: host namespaces,
privileged, capabilities, hostPath / volume types, seccomp and AppArmor
profiles, privilege escalation, running as non-root. Exemptions an admin
configured in the AdmissionConfiguration are not visible through the API.
"""

from __future__ import annotations

from typing import Any, Literal

from mirrord_ls.cluster.preflight.agent_facts import PodFacts

Level = Literal["privileged", "baseline", "restricted"]
JsonObj = dict[str, Any]

AGENT_CONTAINER = "mirrord-agent"
# mirrord/config/src/agent.rs, LinuxCapability::all(), as `get_capabilities` orders them.
AGENT_CAPABILITIES = ("SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN")
# Pod Security Standards, baseline "Capabilities": what may be added.
BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
# Pod Security Standards, restricted "Volume Types".
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)


def parse_level(value: str | None) -> Level | None:
    """The enforce level a namespace label means; None = no label.

    k8s.io/pod-security-admission/api, `PolicyToEvaluate`: a label that does not
    parse is evaluated as `restricted`.
    """
    if value is None:
        return None
    if value in ("privileged", "baseline", "restricted"):
        return value  # type: ignore[return-value]
    return "restricted"


def capabilities(disabled: tuple[str, ...]) -> list[str]:
    """util.rs, `get_capabilities`: all three, minus `agent.disabled_capabilities`."""
    return [c for c in AGENT_CAPABILITIES if c not in disabled]


def agent_pod(
    variant: str,
    *,
    privileged: bool,
    disabled_capabilities: tuple[str, ...] = (),
    seccomp_profile: str | None = None,
    app_armor_profile: str | None = None,
    target: PodFacts | None = None,
) -> JsonObj:
    """The agent's pod spec (security fields only) for a plan variant.

    job-targetless: a plain container, pod securityContext from `agent.security_context`.
    job-targeted: hostPID, hostPath `/run` and `/var`, the container adds the
    capabilities and sets `privileged`. ephemeral: an ephemeral container in the
    target pod (the pod-level context is the target's) that adds the capabilities,
    sets `privileged`, and when privileged also runAsNonRoot=false, runAsUser=0.
    """
    if variant == "ephemeral":
        pod_ctx: JsonObj = {}
        if target is not None and target.run_as_non_root is not None:
            pod_ctx["runAsNonRoot"] = target.run_as_non_root
        if target is not None and target.seccomp_profile is not None:
            pod_ctx["seccompProfile"] = {"type": target.seccomp_profile}
        ctx: JsonObj = {
            "capabilities": {"add": capabilities(disabled_capabilities)},
            "privileged": privileged,
        }
        if privileged:
            ctx["runAsNonRoot"] = False
            ctx["runAsUser"] = 0
        return {
            "securityContext": pod_ctx,
            "containers": [],
            "ephemeralContainers": [{"name": AGENT_CONTAINER, "securityContext": ctx}],
        }
    pod_ctx = {}
    if seccomp_profile is not None:
        pod_ctx["seccompProfile"] = {"type": seccomp_profile}
    if app_armor_profile is not None:
        pod_ctx["appArmorProfile"] = {"type": app_armor_profile}
    if variant == "job-targetless":
        return {"securityContext": pod_ctx, "containers": [{"name": AGENT_CONTAINER}]}
    return {
        "securityContext": pod_ctx,
        "hostPID": True,
        "volumes": [
            {"name": "hostrun", "hostPath": {"path": "/run"}},
            {"name": "hostvar", "hostPath": {"path": "/var"}},
        ],
        "containers": [
            {
                "name": AGENT_CONTAINER,
                "securityContext": {
                    "privileged": privileged,
                    "capabilities": {"add": capabilities(disabled_capabilities)},
                },
            }
        ],
    }


def _containers(pod: JsonObj) -> list[JsonObj]:
    return [
        *(pod.get("initContainers") or []),
        *(pod.get("containers") or []),
        *(pod.get("ephemeralContainers") or []),
    ]


def _names(items: list[JsonObj]) -> str:
    return ", ".join(f'"{i.get("name", "")}"' for i in items)


def _quoted(values: list[str]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _which(items: list[JsonObj], noun: str) -> str:
    return f"{noun}{'s' if len(items) > 1 else ''} {_names(items)}"


def _ctx(c: JsonObj) -> JsonObj:
    return c.get("securityContext") or {}


def _caps(c: JsonObj, which: str) -> list[str]:
    return list((_ctx(c).get("capabilities") or {}).get(which) or [])


def _seccomp(ctx: JsonObj) -> str | None:
    return (ctx.get("seccompProfile") or {}).get("type")


def _baseline_only(pod: JsonObj, containers: list[JsonObj]) -> list[str]:
    """The baseline checks that restricted replaces with stricter ones."""
    out = []
    bad = [c for c in containers if any(a not in BASELINE_CAPABILITIES for a in _caps(c, "add"))]
    if bad:
        added = sorted({a for c in bad for a in _caps(c, "add") if a not in BASELINE_CAPABILITIES})
        out.append(
            f"non-default capabilities ({_which(bad, 'container')} must not include"
            f" {_quoted(added)} in securityContext.capabilities.add)"
        )
    host_paths = [v for v in pod.get("volumes") or [] if "hostPath" in v]
    if host_paths:
        out.append(f"hostPath volumes ({_which(host_paths, 'volume')})")
    if _seccomp(pod.get("securityContext") or {}) == "Unconfined":
        out.append(
            'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'
        )
    bad = [c for c in containers if _seccomp(_ctx(c)) == "Unconfined"]
    if bad:
        out.append(
            f"seccompProfile ({_which(bad, 'container')} must not set"
            ' securityContext.seccompProfile.type to "Unconfined")'
        )
    return out


def _restricted_only(pod: JsonObj, containers: list[JsonObj]) -> list[str]:
    out = []
    pod_ctx: JsonObj = pod.get("securityContext") or {}
    restricted = [
        v for v in pod.get("volumes") or [] if not any(k in RESTRICTED_VOLUMES for k in v)
    ]
    if restricted:
        kinds = sorted({k for v in restricted for k in v if k != "name"})
        out.append(
            f"restricted volume types ({_which(restricted, 'volume')} use restricted"
            f" volume type{'s' if len(kinds) > 1 else ''} {_quoted(kinds)})"
        )
    bad = [c for c in containers if _ctx(c).get("allowPrivilegeEscalation") is not False]
    if bad:
        out.append(
            f"allowPrivilegeEscalation != false ({_which(bad, 'container')} must set"
            " securityContext.allowPrivilegeEscalation=false)"
        )
    parts = []
    no_drop = [c for c in containers if "ALL" not in _caps(c, "drop")]
    if no_drop:
        parts.append(
            f'{_which(no_drop, "container")} must set securityContext.capabilities.drop=["ALL"]'
        )
    adds = [c for c in containers if any(a != "NET_BIND_SERVICE" for a in _caps(c, "add"))]
    if adds:
        added = sorted({a for c in adds for a in _caps(c, "add") if a != "NET_BIND_SERVICE"})
        parts.append(
            f"{_which(adds, 'container')} must not include {_quoted(added)} in"
            " securityContext.capabilities.add"
        )
    if parts:
        out.append(f"unrestricted capabilities ({'; '.join(parts)})")
    pod_non_root = pod_ctx.get("runAsNonRoot")
    explicit_root = [c for c in containers if _ctx(c).get("runAsNonRoot") is False]
    unset = [c for c in containers if _ctx(c).get("runAsNonRoot") is None]
    if pod_non_root is False or explicit_root or (pod_non_root is not True and unset):
        who = explicit_root or unset
        out.append(
            f"runAsNonRoot != true (pod or {_which(who, 'container')} must set"
            " securityContext.runAsNonRoot=true)"
        )
    root = [c for c in containers if _ctx(c).get("runAsUser") == 0]
    if root:
        out.append(f"runAsUser=0 ({_which(root, 'container')} must not set runAsUser=0)")
    allowed = ("RuntimeDefault", "Localhost")
    if _seccomp(pod_ctx) not in allowed:
        unset = [c for c in containers if _seccomp(_ctx(c)) not in allowed]
        if unset:
            out.append(
                f"seccompProfile (pod or {_which(unset, 'container')} must set"
                ' securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
            )
    return out


def violations(level: Level, pod: JsonObj) -> list[str]:
    """The Pod Security checks `pod` fails at `level`, worded as the admission words them.

    Restricted includes baseline, except where it replaces a check with a stricter one
    (capabilities, volume types, seccomp), as the admission's check registry does.
    """
    if level == "privileged":
        return []
    containers = _containers(pod)
    out: list[str] = []
    host = [f"{f}=true" for f in ("hostNetwork", "hostPID", "hostIPC") if pod.get(f) is True]
    if host:
        out.append(f"host namespaces ({', '.join(host)})")
    bad = [c for c in containers if _ctx(c).get("privileged") is True]
    if bad:
        out.append(
            f"privileged ({_which(bad, 'container')} must not set securityContext.privileged=true)"
        )
    if ((pod.get("securityContext") or {}).get("appArmorProfile") or {}).get("type") == (
        "Unconfined"
    ):
        out.append('appArmorProfile (pod must not set appArmorProfile.type to "Unconfined")')
    if level == "baseline":
        return out + _baseline_only(pod, containers)
    return out + _restricted_only(pod, containers)
