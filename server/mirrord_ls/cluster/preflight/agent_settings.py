"""The config settings the open-source agent rules read, as mirrord resolves them.

`agent_settings(config, env)` reads the rendered config (a plain dict) and the
environment mirrord will run with, with mirrord's precedence: an environment
variable beats the file (mirrord-config's `FromEnv::new(..).or(file value)`).
Values of the wrong type are left at their defaults; the schema check reports
them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mirrord_ls.cluster.kubeconfig import parse_env_bool
from mirrord_ls.config.targets import Target, parse_target_path, target_from_config

IncomingMode = Literal["mirror", "steal", "off"]


@dataclass(frozen=True, slots=True)
class IncomingSettings:
    """`feature.network.incoming` as mirrord-config's `IncomingConfig` holds it."""

    mode: IncomingMode = "mirror"
    http_filter_set: bool = False
    """`HttpFilterConfig::is_filter_set`: any of the header/path/method/body/jq/all_of/any_of
    filters is set."""
    http_filter_ports: tuple[int, ...] | None = None
    ports: tuple[int, ...] | None = None
    ignore_ports: tuple[int, ...] = ()

    def steals_port_without_filter(self, port: int) -> bool:
        # mirrord/config/src/feature/network/incoming.rs,
        # IncomingConfig::steals_port_without_filter:
        # with a filter set, only ports outside a given `http_filter.ports` are stolen unfiltered
        # (no `ports` list: none are); without one, every port not ignored and in `ports` (if set).
        if self.mode != "steal":
            return False
        if self.http_filter_set:
            return self.http_filter_ports is not None and port not in self.http_filter_ports
        if port in self.ignore_ports:
            return False
        return self.ports is None or port in self.ports


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """What the open-source agent rules need from the config (after env overrides)."""

    target: Target | None = None
    """The target path; None when there is none or it is "targetless" (a targetless run)."""
    target_invalid: bool = False
    """The target is written but mirrord cannot parse it (the config check says so): the
    rules then judge nothing, rather than judge a targetless run that will not happen."""
    target_namespace: str | None = None
    """`target.namespace` (MIRRORD_TARGET_NAMESPACE)."""
    agent_namespace: str | None = None
    """`agent.namespace` (MIRRORD_AGENT_NAMESPACE)."""
    ephemeral: bool = False
    """`agent.ephemeral` (MIRRORD_EPHEMERAL_CONTAINER), default false."""
    privileged: bool = False
    """`agent.privileged`, default false."""
    check_out_of_pods: bool = True
    """`agent.check_out_of_pods`, default true."""
    disabled_capabilities: tuple[str, ...] = ()
    """`agent.disabled_capabilities`: removed from NET_ADMIN, SYS_PTRACE, SYS_ADMIN."""
    seccomp_profile: str | None = None
    """`agent.security_context.seccomp_profile.type` (pod level, job agents only)."""
    app_armor_profile: str | None = None
    """`agent.security_context.app_armor_profile.type` (pod level, job agents only)."""
    incoming: IncomingSettings = IncomingSettings()

    @property
    def targetless(self) -> bool:
        return self.target is None


def _get(config: Any, *path: str) -> Any:
    node = config
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _bool(env: Mapping[str, str], variable: str | None, value: Any, default: bool) -> bool:
    raw = env.get(variable) if variable else None
    if raw is not None:
        parsed = parse_env_bool(variable or "", raw)
        if isinstance(parsed, bool):
            return parsed
    return value if isinstance(value, bool) else default


def _str(env: Mapping[str, str], variable: str, value: Any) -> str | None:
    raw = env.get(variable)
    if raw is not None:
        return raw
    return value if isinstance(value, str) else None


def _ports(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)  # `VecOrSingle<u16>`
    if isinstance(value, list):
        return tuple(p for p in value if isinstance(p, int) and not isinstance(p, bool))
    return None


_FILTER_KEYS = (
    "header_filter",
    "path_filter",
    "method_filter",
    "body_filter",
    "header_filter_jq",
    "all_of",
    "any_of",
)
_FILTER_ENV = (
    "MIRRORD_HTTP_HEADER_FILTER",
    "MIRRORD_HTTP_PATH_FILTER",
    "MIRRORD_HTTP_METHOD_FILTER",
    "MIRRORD_HTTP_HEADER_FILTER_JQ",
)


def _mode(value: Any) -> IncomingMode | None:
    if value in ("mirror", "steal", "off"):
        return value
    return None


def _env_mode(raw: str) -> IncomingMode | None:
    # IncomingMode::from_str: a bool first (true = steal, false = off), then the names.
    if raw == "true":
        return "steal"
    if raw == "false":
        return "off"
    return _mode(raw)


def incoming_settings(config: Any, env: Mapping[str, str]) -> IncomingSettings:
    """`feature.network.incoming`: a mode string, a toggle (bool) or the advanced object."""
    network = _get(config, "feature", "network")
    incoming = network.get("incoming") if isinstance(network, dict) else None
    env_mode = (
        _env_mode(env["MIRRORD_AGENT_TCP_STEAL_TRAFFIC"])
        if ("MIRRORD_AGENT_TCP_STEAL_TRAFFIC" in env)
        else None
    )
    # `ToggleableConfig::Enabled(false)` (of network or incoming) is IncomingConfig's
    # disabled_config: mode off unless the environment says otherwise.
    if network is False or incoming is False:
        return IncomingSettings(mode=env_mode or "off")
    env_filter = any(v in env for v in _FILTER_ENV)
    env_filter_ports = _ports(
        [int(p) for p in env["MIRRORD_HTTP_FILTER_PORTS"].split(",") if p.strip().isdigit()]
        if "MIRRORD_HTTP_FILTER_PORTS" in env
        else None
    )
    if not isinstance(incoming, dict):
        # Simple form: the mode, and the filter only from the environment.
        return IncomingSettings(
            mode=env_mode or _mode(incoming) or "mirror",
            http_filter_set=env_filter,
            http_filter_ports=env_filter_ports,
        )
    http_filter = incoming.get("http_filter")
    file_filter = isinstance(http_filter, dict) and any(
        http_filter.get(k) is not None for k in _FILTER_KEYS
    )
    file_ports = _ports(http_filter.get("ports")) if isinstance(http_filter, dict) else None
    return IncomingSettings(
        mode=env_mode or _mode(incoming.get("mode")) or "mirror",
        http_filter_set=env_filter or file_filter,
        http_filter_ports=env_filter_ports if env_filter_ports is not None else file_ports,
        ports=_ports(incoming.get("ports")),
        ignore_ports=_ports(incoming.get("ignore_ports")) or (),
    )


def agent_settings(config: Any, env: Mapping[str, str]) -> AgentSettings:
    """The settings from a rendered config (dict) and mirrord's environment."""
    target_value = _get(config, "target")
    env_target = env.get("MIRRORD_IMPERSONATED_TARGET")
    parsed: Any
    if env_target is not None:
        parsed = parse_target_path(env_target)
    else:
        parsed, _path = target_from_config(target_value)
    target = parsed if isinstance(parsed, Target) and parsed.kind != "targetless" else None
    target_ns = _str(
        env,
        "MIRRORD_TARGET_NAMESPACE",
        target_value.get("namespace") if isinstance(target_value, dict) else None,
    )
    agent = _get(config, "agent")
    agent = agent if isinstance(agent, dict) else {}
    disabled = agent.get("disabled_capabilities")
    security = (
        agent.get("security_context") if isinstance(agent.get("security_context"), dict) else {}
    )
    seccomp = security.get("seccomp_profile") if isinstance(security, dict) else None
    apparmor = security.get("app_armor_profile") if isinstance(security, dict) else None
    return AgentSettings(
        target=target,
        target_invalid=parsed is not None and not isinstance(parsed, Target),
        target_namespace=target_ns,
        agent_namespace=_str(env, "MIRRORD_AGENT_NAMESPACE", agent.get("namespace")),
        ephemeral=_bool(env, "MIRRORD_EPHEMERAL_CONTAINER", agent.get("ephemeral"), False),
        privileged=_bool(env, None, agent.get("privileged"), False),
        check_out_of_pods=_bool(env, None, agent.get("check_out_of_pods"), True),
        disabled_capabilities=tuple(d for d in disabled if isinstance(d, str))
        if isinstance(disabled, list)
        else (),
        seccomp_profile=seccomp.get("type") if isinstance(seccomp, dict) else None,
        app_armor_profile=apparmor.get("type") if isinstance(apparmor, dict) else None,
        incoming=incoming_settings(config, env),
    )
