"""The config settings the agent rules read, with mirrord's env-over-file precedence.

steals_port_without_filter mirrors mirrord/config/src/feature/network/incoming.rs,
IncomingConfig::steals_port_without_filter; the modes IncomingMode::from_str.
"""

from __future__ import annotations

import pytest

from mirrord_ls.cluster.preflight.agent_settings import (
    IncomingSettings,
    agent_settings,
    incoming_settings,
)


@pytest.mark.parametrize(
    ("config", "env", "mode"),
    [
        ({}, {}, "mirror"),
        ({"feature": {"network": {"incoming": "steal"}}}, {}, "steal"),
        ({"feature": {"network": {"incoming": {"mode": "off"}}}}, {}, "off"),
        ({"feature": {"network": {"incoming": False}}}, {}, "off"),  # disabled_config
        ({"feature": {"network": False}}, {}, "off"),
        ({"feature": {"network": {"incoming": True}}}, {}, "mirror"),
        ({}, {"MIRRORD_AGENT_TCP_STEAL_TRAFFIC": "true"}, "steal"),  # bool first: true = steal
        (
            {"feature": {"network": {"incoming": "steal"}}},
            {"MIRRORD_AGENT_TCP_STEAL_TRAFFIC": "false"},
            "off",
        ),
        (
            {"feature": {"network": {"incoming": False}}},
            {"MIRRORD_AGENT_TCP_STEAL_TRAFFIC": "steal"},
            "steal",
        ),
    ],
)
def test_incoming_mode(config, env, mode):
    assert incoming_settings(config, env).mode == mode


@pytest.mark.parametrize(
    ("incoming", "port", "stolen"),
    [
        (IncomingSettings(mode="mirror"), 80, False),
        (IncomingSettings(mode="steal"), 80, True),
        (IncomingSettings(mode="steal", ignore_ports=(80,)), 80, False),
        (IncomingSettings(mode="steal", ports=(81,)), 80, False),
        (IncomingSettings(mode="steal", ports=(80,)), 80, True),
        # a filter without http_filter.ports filters every port
        (IncomingSettings(mode="steal", http_filter_set=True), 80, False),
        # a filter with ports leaves the others unfiltered, whatever `ports` says
        (IncomingSettings(mode="steal", http_filter_set=True, http_filter_ports=(80,)), 80, False),
        (IncomingSettings(mode="steal", http_filter_set=True, http_filter_ports=(81,)), 80, True),
        (
            IncomingSettings(
                mode="steal", http_filter_set=True, http_filter_ports=(81,), ignore_ports=(80,)
            ),
            80,
            True,
        ),
    ],
)
def test_steals_port_without_filter(incoming, port, stolen):
    assert incoming.steals_port_without_filter(port) is stolen


def test_advanced_incoming_and_filter_forms():
    inc = incoming_settings(
        {
            "feature": {
                "network": {
                    "incoming": {
                        "mode": "steal",
                        "http_filter": {"path_filter": "/api", "ports": 8080},
                        "ignore_ports": [9999],
                        "ports": [8080, 9090],
                    }
                }
            }
        },
        {},
    )
    assert inc == IncomingSettings("steal", True, (8080,), (8080, 9090), (9999,))
    empty_filter = incoming_settings(
        {"feature": {"network": {"incoming": {"mode": "steal", "http_filter": {"ports": [1]}}}}},
        {},
    )
    assert empty_filter.http_filter_set is False  # HttpFilterConfig::is_filter_set: no filter
    env_filter = incoming_settings(
        {"feature": {"network": {"incoming": "steal"}}},
        {"MIRRORD_HTTP_HEADER_FILTER": "x: y", "MIRRORD_HTTP_FILTER_PORTS": "80,443"},
    )
    assert (env_filter.http_filter_set, env_filter.http_filter_ports) == (True, (80, 443))


def test_agent_settings_defaults_and_env():
    s = agent_settings({}, {})
    assert (s.target, s.ephemeral, s.privileged, s.check_out_of_pods) == (None, False, False, True)
    s = agent_settings(
        {
            "target": {"path": {"deployment": "web", "container": "app"}, "namespace": "a"},
            "agent": {
                "privileged": True,
                "check_out_of_pods": False,
                "disabled_capabilities": ["NET_ADMIN", 3],
                "security_context": {"seccomp_profile": {"type": "RuntimeDefault"}},
                "ephemeral": True,
            },
        },
        {"MIRRORD_TARGET_NAMESPACE": "b", "MIRRORD_EPHEMERAL_CONTAINER": "false"},
    )
    assert s.target is not None and (s.target.kind, s.target.name, s.target.container) == (
        "deployment",
        "web",
        "app",
    )
    assert s.target_namespace == "b"  # MIRRORD_TARGET_NAMESPACE beats target.namespace
    assert s.ephemeral is False  # MIRRORD_EPHEMERAL_CONTAINER beats agent.ephemeral
    assert (s.privileged, s.check_out_of_pods) == (True, False)
    assert s.disabled_capabilities == ("NET_ADMIN",)
    assert s.seccomp_profile == "RuntimeDefault"


@pytest.mark.parametrize(
    ("config", "env", "targetless", "invalid"),
    [
        ({"target": "targetless"}, {}, True, False),
        ({"target": "pod/x"}, {"MIRRORD_IMPERSONATED_TARGET": "targetless"}, True, False),
        ({}, {"MIRRORD_IMPERSONATED_TARGET": "pod/x"}, False, False),
        ({"target": "pod/"}, {}, True, True),
        ({"target": 7}, {}, True, False),
    ],
)
def test_target_forms(config, env, targetless, invalid):
    s = agent_settings(config, env)
    assert (s.targetless, s.target_invalid) == (targetless, invalid)
