"""Which agent and which namespace, as mirrord decides it (each case cites the line that decides).

- mirrord/kube/src/api/kubernetes.rs, KubernetesAPI::create: targetless (or no target path)
  replaces `agent.namespace` with `target.namespace`.
- mirrord/kube/src/api/container/job.rs, create_job_agent: get_k8s_resource_api(client,
  agent.namespace) -> `agent.namespace`, else Api::default_namespaced (the context's).
- mirrord/kube/src/api/container/ephemeral.rs, create_ephemeral_agent: runtime_data.pod_namespace.
- mirrord/config/src/lib.rs, LayerConfig::verify: targetless + ephemeral is refused.
"""

from __future__ import annotations

import pytest

from mirrord_ls.cluster.preflight.agent_namespace import agent_plan
from mirrord_ls.cluster.preflight.agent_settings import agent_settings

CASES = [
    # (config, env, context namespace) -> (variant, namespace, at, words in the reason)
    pytest.param(
        {"target": "deployment/web"},
        {},
        "dev",
        ("job-targeted", "dev", (), "kube context's namespace (dev)"),
        id="job: the context's namespace (job.rs default_namespaced)",
    ),
    pytest.param(
        {"target": {"path": "deployment/web", "namespace": "staging"}},
        {},
        "dev",
        ("job-targeted", "dev", (), "not the target's namespace (staging)"),
        id="job: never the target's namespace",
    ),
    pytest.param(
        {"target": "pod/p", "agent": {"namespace": "agents"}},
        {},
        "dev",
        ("job-targeted", "agents", ("agent", "namespace"), "`agent.namespace` (agents)"),
        id="job: agent.namespace (job.rs get_k8s_resource_api)",
    ),
    pytest.param(
        {"target": "pod/p"},
        {"MIRRORD_AGENT_NAMESPACE": "from-env"},
        "dev",
        ("job-targeted", "from-env", ("agent", "namespace"), "(from-env)"),
        id="job: MIRRORD_AGENT_NAMESPACE beats the file",
    ),
    pytest.param(
        {"target": "pod/p"},
        {},
        None,
        ("job-targeted", "default", (), "(default)"),
        id="job: a context without namespace means default",
    ),
    pytest.param(
        {"agent": {"namespace": "agents"}},
        {},
        "dev",
        ("job-targetless", "dev", (), "`agent.namespace` (agents) is ignored in targetless"),
        id="targetless: agent.namespace ignored (KubernetesAPI::create)",
    ),
    pytest.param(
        {"target": {"path": "targetless", "namespace": "tl"}, "agent": {"namespace": "agents"}},
        {},
        "dev",
        ("job-targetless", "tl", ("target", "namespace"), "`target.namespace` (tl)"),
        id="targetless: target.namespace",
    ),
    pytest.param(
        {"target": {"namespace": "tl"}},
        {},
        "dev",
        ("job-targetless", "tl", ("target", "namespace"), "targetless"),
        id="no target path is targetless, target.namespace still counts",
    ),
    pytest.param(
        {"target": "pod/p", "agent": {"ephemeral": True, "namespace": "agents"}},
        {},
        "dev",
        ("ephemeral", "dev", ("agent", "ephemeral"), "`agent.namespace` (agents) is ignored"),
        id="ephemeral: the target's namespace (context's), agent.namespace ignored",
    ),
    pytest.param(
        {"target": {"path": "pod/p", "namespace": "staging"}},
        {"MIRRORD_EPHEMERAL_CONTAINER": "true"},
        "dev",
        ("ephemeral", "staging", ("agent", "ephemeral"), "`target.namespace` (staging)"),
        id="ephemeral: target.namespace (ephemeral.rs pod_namespace), from the env",
    ),
]


@pytest.mark.parametrize(("config", "env", "context_ns", "expected"), CASES)
def test_agent_plan(config, env, context_ns, expected):
    variant, namespace, at, words = expected
    plan = agent_plan(agent_settings(config, env), context_ns)
    assert plan.variant == variant
    assert plan.namespace is not None
    assert (plan.namespace.name, plan.namespace.at) == (namespace, at)
    assert words in plan.namespace.reason


def test_targetless_ephemeral_is_refused():
    # config/src/lib.rs, LayerConfig::verify: "Using an ephemeral container for the agent is
    # not compatible with a targetless agent".
    plan = agent_plan(agent_settings({"agent": {"ephemeral": True}}, {}), "dev")
    assert (plan.variant, plan.namespace) == ("refused", None)


@pytest.mark.parametrize(
    ("config", "context_ns", "target_ns"),
    [
        ({"target": "pod/p"}, "dev", "dev"),
        ({"target": {"path": "pod/p", "namespace": "x"}}, "dev", "x"),
        ({"target": "pod/p"}, None, "default"),
    ],
)
def test_target_namespace(config, context_ns, target_ns):
    # runtime.rs RuntimeDataProvider: get_k8s_resource_api(client, target.namespace)
    assert agent_plan(agent_settings(config, {}), context_ns).target_namespace == target_ns
