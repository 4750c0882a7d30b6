"""Pod Security admission against the agent mirrord builds (pod.rs, ephemeral.rs, util.rs)."""

from __future__ import annotations

import pytest

from mirrord_ls.cluster.preflight.agent_facts import pod_facts
from mirrord_ls.cluster.preflight.pod_security import agent_pod, parse_level, violations
from mirrord_ls.loopback.agent_samples import agent_pod as sample_pod
from mirrord_ls.loopback.agent_samples import container

ALL_CAPS = ("SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN")


@pytest.mark.parametrize(
    ("variant", "level", "options", "expected"),
    [
        # PodTargetedVariant::as_update: hostPID, hostPath /run and /var, capabilities
        (
            "job-targeted",
            "baseline",
            {},
            ["host namespaces", "non-default capabilities", "hostPath volumes"],
        ),
        (
            "job-targeted",
            "baseline",
            {"privileged": True, "disabled_capabilities": ALL_CAPS},
            ["host namespaces", "privileged", "hostPath volumes"],
        ),
        ("job-targeted", "privileged", {"privileged": True}, []),
        # PodVariant::as_update (targetless): nothing baseline forbids ...
        ("job-targetless", "baseline", {}, []),
        ("job-targetless", "baseline", {"seccomp_profile": "Unconfined"}, ["seccompProfile"]),
        ("job-targetless", "baseline", {"app_armor_profile": "Unconfined"}, ["appArmorProfile"]),
        # ... but restricted wants runAsNonRoot, allowPrivilegeEscalation=false, drop ALL, seccomp
        (
            "job-targetless",
            "restricted",
            {},
            [
                "allowPrivilegeEscalation",
                "unrestricted capabilities",
                "runAsNonRoot",
                "seccompProfile",
            ],
        ),
        (
            "job-targetless",
            "restricted",
            {"seccomp_profile": "RuntimeDefault"},
            ["allowPrivilegeEscalation", "unrestricted capabilities", "runAsNonRoot"],
        ),
        # EphemeralTargetedVariant::as_update: capabilities, privileged, root when privileged
        ("ephemeral", "baseline", {}, ["non-default capabilities"]),
        ("ephemeral", "baseline", {"disabled_capabilities": ALL_CAPS}, []),
        (
            "ephemeral",
            "baseline",
            {"privileged": True, "disabled_capabilities": ALL_CAPS},
            ["privileged"],
        ),
        (
            "ephemeral",
            "restricted",
            {"privileged": True},
            [
                "privileged",
                "allowPrivilegeEscalation",
                "unrestricted capabilities",
                "runAsNonRoot",
                "runAsUser=0",
                "seccompProfile",
            ],
        ),
    ],
)
def test_agent_against_levels(variant, level, options, expected):
    found = violations(level, agent_pod(variant, **{"privileged": False, **options}))
    assert [v.split(" (")[0].split(" !=")[0] for v in found] == expected


def test_ephemeral_inherits_the_target_pods_context():
    doc = sample_pod("p", "apps", container("app"))
    doc["spec"]["securityContext"] = {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    pod = agent_pod("ephemeral", privileged=False, target=pod_facts(doc))
    found = " ".join(violations("restricted", pod))
    assert "runAsNonRoot" not in found and "seccompProfile" not in found
    assert "allowPrivilegeEscalation" in found  # the agent's container never sets it


def test_wording_as_the_admission_words_it():
    found = violations("baseline", agent_pod("job-targeted", privileged=False))
    assert found == [
        "host namespaces (hostPID=true)",
        'non-default capabilities (container "mirrord-agent" must not include "NET_ADMIN",'
        ' "SYS_ADMIN", "SYS_PTRACE" in securityContext.capabilities.add)',
        'hostPath volumes (volumes "hostrun", "hostvar")',
    ]


@pytest.mark.parametrize(
    ("label", "level"),
    [
        (None, None),
        ("privileged", "privileged"),
        ("baseline", "baseline"),
        ("restricted", "restricted"),
        ("Baseline", "restricted"),
        ("", "restricted"),
    ],
)
def test_parse_level(label, level):
    # k8s.io/pod-security-admission/api PolicyToEvaluate: an unparsable level is restricted.
    assert parse_level(label) == level
