"""Kubeconfig resolution for mirrord-ls: which files, how they merge, which cluster they name.

This module decides, without any network I/O, which cluster and which credentials a mirrord
run would use:

* :func:`kubeconfig_paths`, :func:`effective_context`, :func:`accept_invalid_certificates` and
  :func:`operator_enabled` apply mirrord's precedence (environment beats the config file).
* :func:`load_kubeconfig_file` and :func:`load_merged` read kubeconfig files and merge them the
  way ``kubectl config view`` does (first file to define a name wins, first non-empty
  ``current-context`` wins, missing list entries are skipped). Problems come back as
  :class:`KubeconfigError` values carrying file, line and column; nothing here raises on bad
  input.
* :func:`resolve` turns a merged config and a context name into a :class:`ResolvedCluster`, or a
  :class:`ResolveError` a diagnostic can word.

Secrets (tokens, passwords, key and certificate data, exec env values) are kept in
:class:`Secret`/:class:`SecretBytes` wrappers or ``repr=False`` fields so that no ``repr``,
``str`` or error message can leak them into a log or a diagnostic.

No LSP types here: ``features/`` turns these values into diagnostics.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mirrord_ls.fs import FileReadError, MiB, read_regular

__all__ = [
    "AuthProviderConfig",
    "CertificateAuthority",
    "ClusterEntry",
    "ClusterHasNoServer",
    "ClusterIdentity",
    "ClusterNotFound",
    "ContextChoice",
    "ContextEntry",
    "ContextNotFound",
    "ContextOrigin",
    "ExecConfig",
    "ExecEnvVar",
    "InvalidEnvValue",
    "KubeconfigError",
    "KubeconfigErrorKind",
    "KubeconfigFile",
    "KubeconfigLoadFailed",
    "KubeconfigOrigin",
    "KubeconfigSource",
    "MergedKubeconfig",
    "NoCurrentContext",
    "ResolveError",
    "ResolvedCluster",
    "Secret",
    "SecretBytes",
    "Setting",
    "SettingOrigin",
    "UserEntry",
    "UserNotFound",
    "accept_invalid_certificates",
    "effective_context",
    "expand_path",
    "kubeconfig_paths",
    "load_kubeconfig_file",
    "load_merged",
    "operator_enabled",
    "parse_env_bool",
    "resolve",
]

MIRRORD_KUBECONFIG = "MIRRORD_KUBECONFIG"
MIRRORD_KUBE_CONTEXT = "MIRRORD_KUBE_CONTEXT"
MIRRORD_ACCEPT_INVALID_CERTIFICATES = "MIRRORD_ACCEPT_INVALID_CERTIFICATES"
MIRRORD_OPERATOR_ENABLE = "MIRRORD_OPERATOR_ENABLE"
KUBECONFIG = "KUBECONFIG"

DEFAULT_NAMESPACE = "default"
KUBECONFIG_LIMIT = 16 * MiB
"""The largest kubeconfig read (kubectl has no limit; real ones are kilobytes)."""
MATERIAL_LIMIT = 1 * MiB
"""The largest token, certificate, key or CA file read."""

_EXEC_API_WITH_DEFAULT_INTERACTIVE = (
    "client.authentication.k8s.io/v1beta1",
    "client.authentication.k8s.io/v1alpha1",
)

# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """A secret string (token, password). Its repr/str never show the value."""

    value: str = field(repr=False)

    def reveal(self) -> str:
        """The secret itself; call only where it goes on the wire."""
        return self.value

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    __str__ = __repr__


@dataclass(frozen=True)
class SecretBytes:
    """Secret bytes (client key or certificate data). Its repr/str never show the value."""

    value: bytes = field(repr=False)

    def reveal(self) -> bytes:
        """The bytes themselves; call only where they are needed for TLS."""
        return self.value

    def __repr__(self) -> str:
        return f"SecretBytes(<redacted {len(self.value)} bytes>)"

    __str__ = __repr__


# ---------------------------------------------------------------------------------------------
# Which files, which context, which flags
# ---------------------------------------------------------------------------------------------


class KubeconfigOrigin(enum.Enum):
    """Where the list of kubeconfig files came from."""

    MIRRORD_ENV = "MIRRORD_KUBECONFIG"
    CONFIG_FIELD = "kubeconfig"
    KUBECONFIG_ENV = "KUBECONFIG"
    DEFAULT = "~/.kube/config"


@dataclass(frozen=True)
class KubeconfigSource:
    """The kubeconfig files to read, in merge order, and why these."""

    origin: KubeconfigOrigin
    paths: tuple[Path, ...]
    raw: str | None = None
    """The value as written (env or config field) before expansion; ``None`` for the default."""
    undefined_vars: tuple[str, ...] = ()
    """``$VAR`` references in ``raw`` that were not set (left unexpanded, as a hint)."""
    relative: tuple[Path, ...] = ()
    """The ``paths`` that were written relative (after ``~``/``$VAR`` expansion) and so were
    anchored at a folder: whoever owns that folder chose the file."""

    @property
    def explicit(self) -> bool:
        """A single file named explicitly: its absence is an error, not an empty config."""
        return self.origin in (KubeconfigOrigin.MIRRORD_ENV, KubeconfigOrigin.CONFIG_FIELD)


_VAR_RE = re.compile(r"\$(?:\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


def expand_path(value: str, env: Mapping[str, str], home: Path) -> tuple[str, tuple[str, ...]]:
    """Expand a leading ``~`` and ``$VAR``/``${VAR}`` using ``env`` (not the process env).

    Unset variables are left as written, like ``os.path.expandvars``; their names are returned so
    a diagnostic can say "MY_VAR is not set" rather than "file not found".
    """
    undefined: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group("braced") if match.group("braced") is not None else match.group("plain")
        if name in env:
            return env[name]
        undefined.append(name)
        return match.group(0)

    expanded = _VAR_RE.sub(substitute, value)
    # Only "~" and "~/..." mean the home folder; "~user" is left alone (we cannot know homes).
    if expanded == "~":
        expanded = str(home)
    elif expanded.startswith("~/") or expanded.startswith("~" + os.sep):
        expanded = str(home / expanded[2:])
    return expanded, tuple(undefined)


def _absolute(path: str, base: Path) -> Path:
    # Like Go's filepath.Join/Abs: lexical cleaning, no symlink resolution.
    return Path(os.path.normpath(os.path.join(base, path)))


def _if_relative(written: str, path: Path) -> tuple[Path, ...]:
    return () if os.path.isabs(written) else (path,)


def kubeconfig_paths(
    config_value: str | None,
    config_dir: Path | None,
    env: Mapping[str, str],
    home: Path,
    *,
    cwd: Path | None = None,
) -> KubeconfigSource:
    """Which kubeconfig files mirrord reads, by its precedence.

    ``MIRRORD_KUBECONFIG`` > the config's ``kubeconfig`` field > ``KUBECONFIG`` >
    ``~/.kube/config``.
    ``config_dir`` anchors a relative ``kubeconfig`` field; ``cwd`` (default: the process's)
    anchors relative env values. Empty values count as unset.
    """
    base = cwd if cwd is not None else Path.cwd()
    mirrord_value = env.get(MIRRORD_KUBECONFIG, "")
    if mirrord_value:
        expanded, undefined = expand_path(mirrord_value, env, home)
        path = _absolute(expanded, base)
        return KubeconfigSource(
            KubeconfigOrigin.MIRRORD_ENV,
            (path,),
            mirrord_value,
            undefined,
            _if_relative(expanded, path),
        )
    if config_value:
        expanded, undefined = expand_path(config_value, env, home)
        anchor = config_dir if config_dir is not None else base
        path = _absolute(expanded, anchor)
        return KubeconfigSource(
            KubeconfigOrigin.CONFIG_FIELD,
            (path,),
            config_value,
            undefined,
            _if_relative(expanded, path),
        )
    kube_value = env.get(KUBECONFIG, "")
    if kube_value:
        # kubectl: split on the OS list separator, drop exact duplicates (first kept), skip
        # empty entries. A non-empty KUBECONFIG made only of separators names no file at all and
        # does NOT fall back to ~/.kube/config (checked against kubectl 1.32).
        seen: set[str] = set()
        paths: list[Path] = []
        relative: list[Path] = []
        for entry in kube_value.split(os.pathsep):
            if not entry or entry in seen:
                continue
            seen.add(entry)
            paths.append(_absolute(entry, base))
            relative.extend(_if_relative(entry, paths[-1]))
        return KubeconfigSource(
            KubeconfigOrigin.KUBECONFIG_ENV, tuple(paths), kube_value, relative=tuple(relative)
        )
    return KubeconfigSource(KubeconfigOrigin.DEFAULT, (home / ".kube" / "config",))


class ContextOrigin(enum.Enum):
    """Where the context name came from."""

    MIRRORD_ENV = "MIRRORD_KUBE_CONTEXT"
    CONFIG_FIELD = "kube_context"
    CURRENT_CONTEXT = "current-context"


@dataclass(frozen=True)
class ContextChoice:
    """The context to use; ``name is None`` means "the kubeconfig's current-context"."""

    name: str | None
    origin: ContextOrigin


def effective_context(env: Mapping[str, str], config_kube_context: str | None) -> ContextChoice:
    """``MIRRORD_KUBE_CONTEXT`` > the config's ``kube_context`` > the current-context."""
    from_env = env.get(MIRRORD_KUBE_CONTEXT, "")
    if from_env:
        return ContextChoice(from_env, ContextOrigin.MIRRORD_ENV)
    if config_kube_context:
        return ContextChoice(config_kube_context, ContextOrigin.CONFIG_FIELD)
    return ContextChoice(None, ContextOrigin.CURRENT_CONTEXT)


class SettingOrigin(enum.Enum):
    """Which layer decided a setting."""

    ENV = "env"
    CONFIG = "config"
    KUBECONFIG = "kubeconfig"
    DEFAULT = "default"


T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    """A setting's effective value and the layer that decided it."""

    value: T
    origin: SettingOrigin


@dataclass(frozen=True)
class InvalidEnvValue:
    """An environment variable holds a value mirrord would refuse."""

    variable: str
    value: str
    expected: str = '"true" or "false"'

    @property
    def message(self) -> str:
        return f"{self.variable}={self.value!r} is not valid: expected {self.expected}"


def parse_env_bool(variable: str, value: str) -> bool | InvalidEnvValue:
    """Parse a boolean env value the way mirrord does: ``true``/``false``, any case."""
    lowered = value.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return InvalidEnvValue(variable, value)


def accept_invalid_certificates(
    env: Mapping[str, str], config_value: bool | None, cluster_insecure: bool
) -> Setting[bool] | InvalidEnvValue:
    """``MIRRORD_ACCEPT_INVALID_CERTIFICATES`` > config field > the cluster's
    ``insecure-skip-tls-verify``."""
    raw = env.get(MIRRORD_ACCEPT_INVALID_CERTIFICATES)
    if raw is not None:
        parsed = parse_env_bool(MIRRORD_ACCEPT_INVALID_CERTIFICATES, raw)
        if isinstance(parsed, InvalidEnvValue):
            return parsed
        return Setting(parsed, SettingOrigin.ENV)
    if config_value is not None:
        return Setting(config_value, SettingOrigin.CONFIG)
    if cluster_insecure:
        return Setting(True, SettingOrigin.KUBECONFIG)
    return Setting(False, SettingOrigin.DEFAULT)


def operator_enabled(
    env: Mapping[str, str], config_operator: bool | None
) -> Setting[bool | None] | InvalidEnvValue:
    """``MIRRORD_OPERATOR_ENABLE`` > config ``operator``; ``None`` means "try, fall back"."""
    raw = env.get(MIRRORD_OPERATOR_ENABLE)
    if raw is not None:
        parsed = parse_env_bool(MIRRORD_OPERATOR_ENABLE, raw)
        if isinstance(parsed, InvalidEnvValue):
            return parsed
        return Setting(parsed, SettingOrigin.ENV)
    if config_operator is not None:
        return Setting(config_operator, SettingOrigin.CONFIG)
    return Setting(None, SettingOrigin.DEFAULT)


# ---------------------------------------------------------------------------------------------
# Kubeconfig model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterEntry:
    """A ``clusters[]`` entry; relative paths already resolved against ``origin``'s folder."""

    name: str
    origin: Path
    line: int | None = None
    server: str = ""
    certificate_authority: Path | None = None
    certificate_authority_data: bytes | None = field(default=None, repr=False)
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    disable_compression: bool = False


@dataclass(frozen=True)
class ExecEnvVar:
    """One ``exec.env`` entry; the value may be a secret, so it is not in the repr."""

    name: str
    value: str = field(repr=False)


@dataclass(frozen=True)
class ExecConfig:
    """A ``user.exec`` credential plugin; ``command`` is absolute if it held a path separator."""

    command: str
    api_version: str = ""
    args: tuple[str, ...] = ()
    env: tuple[ExecEnvVar, ...] = ()
    install_hint: str | None = None
    provide_cluster_info: bool = False
    interactive_mode: str | None = None


@dataclass(frozen=True)
class AuthProviderConfig:
    """A legacy ``user.auth-provider`` (gcp, oidc, azure); its config holds tokens."""

    name: str
    config: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)


@dataclass(frozen=True)
class UserEntry:
    """A ``users[]`` entry; file paths resolved against ``origin``'s folder."""

    name: str
    origin: Path
    line: int | None = None
    token: Secret | None = None
    token_file: Path | None = None
    client_certificate: Path | None = None
    client_certificate_data: SecretBytes | None = None
    client_key: Path | None = None
    client_key_data: SecretBytes | None = None
    username: str | None = None
    password: Secret | None = None
    exec: ExecConfig | None = None
    auth_provider: AuthProviderConfig | None = None
    impersonate: str | None = None
    impersonate_uid: str | None = None
    impersonate_groups: tuple[str, ...] = ()

    def referenced_files(self) -> tuple[Path, ...]:
        """Files this entry reads (token file, client certificate and key)."""
        return tuple(
            p for p in (self.token_file, self.client_certificate, self.client_key) if p is not None
        )


@dataclass(frozen=True)
class ContextEntry:
    """A ``contexts[]`` entry."""

    name: str
    origin: Path
    line: int | None = None
    cluster: str = ""
    user: str = ""
    namespace: str | None = None


class KubeconfigErrorKind(enum.Enum):
    NOT_FOUND = "not-found"
    UNREADABLE = "unreadable"
    INVALID_YAML = "invalid-yaml"
    INVALID_SHAPE = "invalid-shape"
    WARNING = "warning"


@dataclass(frozen=True)
class KubeconfigError:
    """A problem with one kubeconfig file, worded for a person. Lines/columns are 1-based."""

    kind: KubeconfigErrorKind
    file: Path
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = str(self.file)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class KubeconfigFile:
    """One kubeconfig file as read. ``warnings`` are problems kubectl tolerates."""

    path: Path
    clusters: Mapping[str, ClusterEntry] = field(default_factory=dict, hash=False)
    users: Mapping[str, UserEntry] = field(default_factory=dict, hash=False)
    contexts: Mapping[str, ContextEntry] = field(default_factory=dict, hash=False)
    current_context: str | None = None
    warnings: tuple[KubeconfigError, ...] = ()


@dataclass(frozen=True)
class MergedKubeconfig:
    """Several kubeconfig files merged as kubectl does.

    ``errors`` non-empty means kubectl (and mirrord) would refuse this configuration; the maps
    still hold what the readable files say, so a diagnostic can be precise.
    """

    source_paths: tuple[Path, ...]
    """Every file that was asked for, in order (including missing ones)."""
    files: tuple[Path, ...] = ()
    """The files that were read (existed and parsed)."""
    missing: tuple[Path, ...] = ()
    """List entries skipped because they do not exist (kubectl skips them silently)."""
    clusters: Mapping[str, ClusterEntry] = field(default_factory=dict, hash=False)
    users: Mapping[str, UserEntry] = field(default_factory=dict, hash=False)
    contexts: Mapping[str, ContextEntry] = field(default_factory=dict, hash=False)
    current_context: str | None = None
    current_context_origin: Path | None = None
    errors: tuple[KubeconfigError, ...] = ()
    warnings: tuple[KubeconfigError, ...] = ()

    def watched_files(self) -> tuple[Path, ...]:
        """Files whose change may change the result: every kubeconfig asked for (missing ones
        too, since their appearance changes the merge) and the CA, certificate, key and token
        files the merged entries reference."""
        out: dict[Path, None] = dict.fromkeys(self.source_paths)
        for cluster in self.clusters.values():
            if cluster.certificate_authority is not None:
                out[cluster.certificate_authority] = None
        for user in self.users.values():
            out.update(dict.fromkeys(user.referenced_files()))
        return tuple(out)


# ---------------------------------------------------------------------------------------------
# Reading one file
# ---------------------------------------------------------------------------------------------


class _ShapeError(Exception):
    def __init__(self, message: str, node: Node | None) -> None:
        super().__init__(message)
        self.message = message
        self.node = node


_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_TAG_WORDS = {
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    _BOOL_TAG: "a boolean",
    _STR_TAG: "a string",
    _TIMESTAMP_TAG: "a timestamp",
    _NULL_TAG: "null",
}


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return _TAG_WORDS.get(node.tag, f"a value tagged {node.tag}")


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


_Entry = TypeVar("_Entry", ClusterEntry, UserEntry, ContextEntry)


class _Reader:
    """Walks a composed YAML node tree with kubectl's field types, keeping node positions.

    Working on nodes rather than constructed Python values lets every shape error carry a line
    and column, and lets us flag duplicate keys, which kubectl silently resolves (last one wins).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent
        self.warnings: list[KubeconfigError] = []
        self._constructor = yaml.SafeLoader("")

    def warn(self, message: str, node: Node) -> None:
        self.warnings.append(
            KubeconfigError(
                KubeconfigErrorKind.WARNING,
                self.path,
                message,
                _line(node),
                int(node.start_mark.column) + 1,
            )
        )

    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == _NULL_TAG

    def mapping(self, node: Node, where: str) -> dict[str, Node] | None:
        if self.is_null(node):
            return None
        if not isinstance(node, MappingNode):
            raise _ShapeError(f"{where} must be a mapping, not {_describe(node)}", node)
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = str(key_node.value) if isinstance(key_node, ScalarNode) else None
            if key is not None:
                if key in seen:
                    # kubectl accepts this and keeps the last value; almost surely a mistake.
                    self.warn(f"duplicate key {key!r} in {where}; the last one is used", key_node)
                seen.add(key)
        # Resolve "<<" merge keys (explicit keys override merged ones, as in YAML).
        try:
            self._constructor.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            raise _ShapeError(f"{where}: {exc.problem}", node) from None
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                out[str(key_node.value)] = value_node
        return out

    def sequence(self, node: Node, where: str) -> list[Node]:
        if self.is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            raise _ShapeError(f"{where} must be a list, not {_describe(node)}", node)
        return list(node.value)

    def string(self, node: Node | None, where: str) -> str | None:
        if node is None or self.is_null(node):
            return None
        # Timestamps stay strings for a string field (Go's YAML reader does not convert them).
        if isinstance(node, ScalarNode) and node.tag in (_STR_TAG, _TIMESTAMP_TAG):
            return str(node.value)
        raise _ShapeError(f"{where} must be a string, not {_describe(node)}", node)

    def boolean(self, node: Node | None, where: str) -> bool:
        if node is None or self.is_null(node):
            return False
        if isinstance(node, ScalarNode) and node.tag == _BOOL_TAG:
            return bool(self._constructor.construct_yaml_bool(node))
        raise _ShapeError(f"{where} must be true or false, not {_describe(node)}", node)

    def base64(self, node: Node | None, where: str) -> bytes | None:
        text = self.string(node, where)
        if text is None:
            return None
        # Go's base64.StdEncoding ignores CR/LF but otherwise is strict about the alphabet.
        cleaned = text.replace("\r", "").replace("\n", "")
        try:
            return base64.b64decode(cleaned, validate=True)
        except (binascii.Error, ValueError):
            raise _ShapeError(f"{where} is not valid base64", node) from None

    def string_list(self, node: Node | None, where: str) -> tuple[str, ...]:
        if node is None:
            return ()
        out: list[str] = []
        for i, item in enumerate(self.sequence(node, where)):
            value = self.string(item, f"{where}[{i}]")
            out.append(value or "")
        return tuple(out)

    def string_map(self, node: Node | None, where: str) -> dict[str, str]:
        if node is None:
            return {}
        fields = self.mapping(node, where) or {}
        return {k: self.string(v, f"{where}.{k}") or "" for k, v in fields.items()}

    def file_path(self, node: Node | None, where: str) -> Path | None:
        value = self.string(node, where)
        if not value:
            return None
        return _absolute(value, self.base)

    # -- entries ------------------------------------------------------------------------------

    def named(
        self, item: Node, section: str, index: int, body_key: str
    ) -> tuple[str, dict[str, Node], int]:
        where = f"{section}[{index}]"
        fields = self.mapping(item, where)
        if fields is None:
            raise _ShapeError(f"{where} must be a mapping with a name, not null", item)
        name = self.string(fields.get("name"), f"{where}.name")
        if not name:
            # kubectl accepts this (as the name ""), so it is only a warning; nothing sensible
            # can refer to it.
            self.warn(f"{where} has no name", item)
            name = ""
        body_node = fields.get(body_key)
        body = self.mapping(body_node, f"{where}.{body_key}") if body_node is not None else None
        return name, body or {}, _line(item)

    def cluster(self, item: Node, index: int) -> ClusterEntry:
        name, f, line = self.named(item, "clusters", index, "cluster")
        w = f"clusters[{index}].cluster"
        return ClusterEntry(
            name=name,
            origin=self.path,
            line=line,
            server=self.string(f.get("server"), f"{w}.server") or "",
            certificate_authority=self.file_path(
                f.get("certificate-authority"), f"{w}.certificate-authority"
            ),
            certificate_authority_data=self.base64(
                f.get("certificate-authority-data"), f"{w}.certificate-authority-data"
            ),
            insecure_skip_tls_verify=self.boolean(
                f.get("insecure-skip-tls-verify"), f"{w}.insecure-skip-tls-verify"
            ),
            tls_server_name=self.string(f.get("tls-server-name"), f"{w}.tls-server-name") or None,
            proxy_url=self.string(f.get("proxy-url"), f"{w}.proxy-url") or None,
            disable_compression=self.boolean(
                f.get("disable-compression"), f"{w}.disable-compression"
            ),
        )

    def exec_config(self, node: Node, where: str) -> ExecConfig | None:
        f = self.mapping(node, where)
        if f is None:
            return None
        command = self.string(f.get("command"), f"{where}.command") or ""
        # client-go resolves the command against the kubeconfig's folder only when it contains
        # a path separator; a bare name is looked up on PATH when the plugin runs.
        if command and (os.sep in command or (os.altsep is not None and os.altsep in command)):
            command = str(_absolute(command, self.base))
        env: list[ExecEnvVar] = []
        for i, env_node in enumerate(self.sequence(f.get("env") or _null(), f"{where}.env")):
            ef = self.mapping(env_node, f"{where}.env[{i}]") or {}
            env.append(
                ExecEnvVar(
                    self.string(ef.get("name"), f"{where}.env[{i}].name") or "",
                    self.string(ef.get("value"), f"{where}.env[{i}].value") or "",
                )
            )
        api_version = self.string(f.get("apiVersion"), f"{where}.apiVersion") or ""
        interactive = self.string(f.get("interactiveMode"), f"{where}.interactiveMode") or None
        # kubectl's defaulting (seen in `kubectl config view`): the beta/alpha APIs imply
        # IfAvailable; v1 has no default (client-go refuses to run such a plugin).
        if interactive is None and api_version in _EXEC_API_WITH_DEFAULT_INTERACTIVE:
            interactive = "IfAvailable"
        return ExecConfig(
            command=command,
            api_version=api_version,
            args=self.string_list(f.get("args"), f"{where}.args"),
            env=tuple(env),
            install_hint=self.string(f.get("installHint"), f"{where}.installHint") or None,
            provide_cluster_info=self.boolean(
                f.get("provideClusterInfo"), f"{where}.provideClusterInfo"
            ),
            interactive_mode=interactive,
        )

    def user(self, item: Node, index: int) -> UserEntry:
        name, f, line = self.named(item, "users", index, "user")
        w = f"users[{index}].user"
        token = self.string(f.get("token"), f"{w}.token")
        password = self.string(f.get("password"), f"{w}.password")
        cert_data = self.base64(f.get("client-certificate-data"), f"{w}.client-certificate-data")
        key_data = self.base64(f.get("client-key-data"), f"{w}.client-key-data")
        exec_node = f.get("exec")
        provider_node = f.get("auth-provider")
        provider: AuthProviderConfig | None = None
        if provider_node is not None:
            pf = self.mapping(provider_node, f"{w}.auth-provider")
            if pf is not None:
                provider = AuthProviderConfig(
                    self.string(pf.get("name"), f"{w}.auth-provider.name") or "",
                    self.string_map(pf.get("config"), f"{w}.auth-provider.config"),
                )
        return UserEntry(
            name=name,
            origin=self.path,
            line=line,
            token=Secret(token) if token else None,
            token_file=self.file_path(f.get("tokenFile"), f"{w}.tokenFile"),
            client_certificate=self.file_path(
                f.get("client-certificate"), f"{w}.client-certificate"
            ),
            client_certificate_data=SecretBytes(cert_data) if cert_data else None,
            client_key=self.file_path(f.get("client-key"), f"{w}.client-key"),
            client_key_data=SecretBytes(key_data) if key_data else None,
            username=self.string(f.get("username"), f"{w}.username") or None,
            password=Secret(password) if password else None,
            exec=self.exec_config(exec_node, f"{w}.exec") if exec_node is not None else None,
            auth_provider=provider,
            impersonate=self.string(f.get("as"), f"{w}.as") or None,
            impersonate_uid=self.string(f.get("as-uid"), f"{w}.as-uid") or None,
            impersonate_groups=self.string_list(f.get("as-groups"), f"{w}.as-groups"),
        )

    def context(self, item: Node, index: int) -> ContextEntry:
        name, f, line = self.named(item, "contexts", index, "context")
        w = f"contexts[{index}].context"
        return ContextEntry(
            name=name,
            origin=self.path,
            line=line,
            cluster=self.string(f.get("cluster"), f"{w}.cluster") or "",
            user=self.string(f.get("user"), f"{w}.user") or "",
            namespace=self.string(f.get("namespace"), f"{w}.namespace") or None,
        )

    def section(
        self, top: dict[str, Node], section: str, read: Callable[[Node, int], _Entry]
    ) -> dict[str, _Entry]:
        out: dict[str, _Entry] = {}
        node = top.get(section)
        if node is None:
            return out
        for i, item in enumerate(self.sequence(node, section)):
            entry = read(item, i)
            # kubectl refuses a name defined twice in one file (unlike across files).
            if entry.name in out:
                raise _ShapeError(
                    f"{section}: the name {entry.name!r} is defined twice in this file", item
                )
            out[entry.name] = entry
        return out

    def document(self, root: Node | None) -> KubeconfigFile:
        if root is None:
            return KubeconfigFile(self.path)
        top = self.mapping(root, "the kubeconfig")
        if top is None:
            return KubeconfigFile(self.path)
        api_version = self.string(top.get("apiVersion"), "apiVersion") or ""
        kind = self.string(top.get("kind"), "kind") or ""
        # kubectl accepts either field left out, but refuses any other version or kind.
        if api_version not in ("", "v1") or kind not in ("", "Config"):
            raise _ShapeError(
                f"not a kubeconfig: apiVersion {api_version!r}, kind {kind!r} "
                "(expected apiVersion v1, kind Config)",
                top.get("apiVersion") if api_version not in ("", "v1") else top.get("kind"),
            )
        clusters = self.section(top, "clusters", self.cluster)
        users = self.section(top, "users", self.user)
        contexts = self.section(top, "contexts", self.context)
        current = self.string(top.get("current-context"), "current-context") or None
        return KubeconfigFile(self.path, clusters, users, contexts, current, tuple(self.warnings))


def _null() -> Node:
    return ScalarNode(_NULL_TAG, "")


def load_kubeconfig_file(
    path: Path, *, text: str | None = None
) -> KubeconfigFile | KubeconfigError:
    """Read and check one kubeconfig file (``text`` given: parse it instead of reading ``path``).

    Relative paths inside are resolved against ``path``'s folder, so ``path`` should be
    absolute. Never raises for bad content; returns a :class:`KubeconfigError` instead.
    """
    if text is None:
        try:
            # Regular files only, size-capped: a FIFO or /dev/zero never hangs or fills memory.
            raw = read_regular(path, KUBECONFIG_LIMIT)
        except FileReadError as exc:
            if exc.reason == "file not found":
                return KubeconfigError(KubeconfigErrorKind.NOT_FOUND, path, "file not found")
            if "folder" in exc.reason:
                return KubeconfigError(
                    KubeconfigErrorKind.UNREADABLE, path, "is a folder, not a kubeconfig file"
                )
            return KubeconfigError(KubeconfigErrorKind.UNREADABLE, path, f"cannot read: {exc}")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return KubeconfigError(
                KubeconfigErrorKind.INVALID_YAML,
                path,
                f"not UTF-8 text (bad byte at offset {exc.start})",
            )
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        return KubeconfigError(
            KubeconfigErrorKind.INVALID_YAML,
            path,
            f"invalid YAML{context}: {problem}",
            int(mark.line) + 1 if mark is not None else None,
            int(mark.column) + 1 if mark is not None else None,
        )
    except yaml.YAMLError as exc:
        return KubeconfigError(KubeconfigErrorKind.INVALID_YAML, path, f"invalid YAML: {exc}")
    reader = _Reader(path)
    try:
        return reader.document(root)
    except _ShapeError as exc:
        node = exc.node
        return KubeconfigError(
            KubeconfigErrorKind.INVALID_SHAPE,
            path,
            exc.message,
            _line(node) if node is not None else None,
            int(node.start_mark.column) + 1 if node is not None else None,
        )


def load_merged(source: KubeconfigSource | Sequence[Path]) -> MergedKubeconfig:
    """Read the files of ``source`` and merge them the way kubectl does.

    First file to define a cluster/user/context name wins; first file with a non-empty
    ``current-context`` wins; missing files are skipped, unless ``source`` names a single file
    explicitly (``MIRRORD_KUBECONFIG`` or the config field), which is then a not-found error.
    """
    if isinstance(source, KubeconfigSource):
        paths, explicit = source.paths, source.explicit
    else:
        paths, explicit = tuple(source), False
    files: list[Path] = []
    missing: list[Path] = []
    errors: list[KubeconfigError] = []
    warnings: list[KubeconfigError] = []
    clusters: dict[str, ClusterEntry] = {}
    users: dict[str, UserEntry] = {}
    contexts: dict[str, ContextEntry] = {}
    current: str | None = None
    current_origin: Path | None = None
    for path in paths:
        loaded = load_kubeconfig_file(path)
        if isinstance(loaded, KubeconfigError):
            if loaded.kind is KubeconfigErrorKind.NOT_FOUND and not explicit:
                missing.append(path)
            else:
                errors.append(loaded)
            continue
        files.append(path)
        warnings.extend(loaded.warnings)
        for name, cluster in loaded.clusters.items():
            clusters.setdefault(name, cluster)
        for name, user in loaded.users.items():
            users.setdefault(name, user)
        for name, context in loaded.contexts.items():
            contexts.setdefault(name, context)
        if current is None and loaded.current_context:
            current, current_origin = loaded.current_context, path
    return MergedKubeconfig(
        source_paths=tuple(paths),
        files=tuple(files),
        missing=tuple(missing),
        clusters=clusters,
        users=users,
        contexts=contexts,
        current_context=current,
        current_context_origin=current_origin,
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


# ---------------------------------------------------------------------------------------------
# Resolution
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateAuthority:
    """The CA to trust: inline data (wins, as in client-go) or a file path."""

    data: bytes | None = field(default=None, repr=False)
    file: Path | None = None


@dataclass(frozen=True)
class ClusterIdentity:
    """A stable cache key: same identity, same answer from the cluster.

    ``trust`` fingerprints the CA and TLS settings; ``credential`` is a hash of the credential
    material (never the material), or of the exec plugin's command, args and env.
    """

    server: str
    trust: str
    credential: str
    context: str


@dataclass(frozen=True)
class ResolvedCluster:
    """Everything needed to talk to the cluster a context names."""

    context_name: str
    cluster_name: str
    server: str
    certificate_authority: CertificateAuthority | None
    insecure_skip_tls_verify: bool
    tls_server_name: str | None
    proxy_url: str | None
    namespace: str
    user_name: str
    credentials: UserEntry | None
    """The user entry (``None`` when the context names no user: anonymous requests)."""
    context_origin: Path
    cluster_origin: Path
    identity: ClusterIdentity
    disable_compression: bool = False


@dataclass(frozen=True)
class ResolveError:
    """Why a context could not be resolved; subclasses carry the details."""

    @property
    def message(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class KubeconfigLoadFailed(ResolveError):
    errors: tuple[KubeconfigError, ...]

    @property
    def message(self) -> str:
        return "; ".join(str(e) for e in self.errors)


@dataclass(frozen=True)
class NoCurrentContext(ResolveError):
    files: tuple[Path, ...]

    @property
    def message(self) -> str:
        if not self.files:
            return "no kubeconfig file was found, so there is no current context"
        return "no context chosen: the kubeconfig sets no current-context"


@dataclass(frozen=True)
class ContextNotFound(ResolveError):
    context: str
    available: tuple[str, ...]

    @property
    def message(self) -> str:
        if not self.available:
            return f"context {self.context!r} not found: the kubeconfig defines no contexts"
        names = ", ".join(repr(n) for n in self.available)
        return f"context {self.context!r} not found; available contexts: {names}"


@dataclass(frozen=True)
class ClusterNotFound(ResolveError):
    context: str
    cluster: str
    context_origin: Path

    @property
    def message(self) -> str:
        if not self.cluster:
            return f"context {self.context!r} names no cluster"
        return f"context {self.context!r} refers to cluster {self.cluster!r}, which is not defined"


@dataclass(frozen=True)
class UserNotFound(ResolveError):
    context: str
    user: str
    context_origin: Path

    @property
    def message(self) -> str:
        return f"context {self.context!r} refers to user {self.user!r}, which is not defined"


@dataclass(frozen=True)
class ClusterHasNoServer(ResolveError):
    cluster: str
    cluster_origin: Path

    @property
    def message(self) -> str:
        return f"cluster {self.cluster!r} has no server URL"


def _digest(parts: Iterable[object]) -> str:
    payload = json.dumps(list(parts), sort_keys=True, default=str).encode()
    return "sha256:" + hashlib.sha256(payload).hexdigest()[:32]


def _fingerprint_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _trust_fingerprint(cluster: ClusterEntry) -> str:
    ca: str | None = None
    if cluster.certificate_authority_data:
        ca = _fingerprint_bytes(cluster.certificate_authority_data)
    elif cluster.certificate_authority is not None:
        # Fingerprint the content so a replaced CA file yields a new key; an unreadable file
        # is keyed by its path (the request will fail and say why).
        try:
            ca = _fingerprint_bytes(read_regular(cluster.certificate_authority, MATERIAL_LIMIT))
        except OSError:
            ca = f"file:{cluster.certificate_authority}"
    return _digest(
        [ca, cluster.insecure_skip_tls_verify, cluster.tls_server_name, cluster.proxy_url]
    )


def _credential_fingerprint(user: UserEntry | None) -> str:
    if user is None:
        return "anonymous"
    ex = user.exec
    parts: list[object] = [
        user.token.reveal() if user.token else None,
        str(user.token_file) if user.token_file else None,
        str(user.client_certificate) if user.client_certificate else None,
        user.client_certificate_data.reveal().hex() if user.client_certificate_data else None,
        str(user.client_key) if user.client_key else None,
        user.client_key_data.reveal().hex() if user.client_key_data else None,
        user.username,
        user.password.reveal() if user.password else None,
        [ex.api_version, ex.command, list(ex.args), [[e.name, e.value] for e in ex.env]]
        if ex
        else None,
        [user.auth_provider.name, dict(user.auth_provider.config)] if user.auth_provider else None,
        [user.impersonate, user.impersonate_uid, list(user.impersonate_groups)],
    ]
    return _digest(parts)


def resolve(merged: MergedKubeconfig, context_name: str | None) -> ResolvedCluster | ResolveError:
    """Resolve ``context_name`` (``None``: the current-context) to a cluster and credentials.

    Refuses (:class:`KubeconfigLoadFailed`) when any file failed to load, as kubectl and mirrord
    would.
    """
    if merged.errors:
        return KubeconfigLoadFailed(merged.errors)
    name = context_name if context_name is not None else merged.current_context
    if not name:
        return NoCurrentContext(merged.files)
    context = merged.contexts.get(name)
    if context is None:
        return ContextNotFound(name, tuple(sorted(merged.contexts)))
    cluster = merged.clusters.get(context.cluster) if context.cluster else None
    if cluster is None:
        return ClusterNotFound(name, context.cluster, context.origin)
    user: UserEntry | None = None
    if context.user:
        user = merged.users.get(context.user)
        if user is None:
            return UserNotFound(name, context.user, context.origin)
    if not cluster.server:
        return ClusterHasNoServer(cluster.name, cluster.origin)
    ca: CertificateAuthority | None = None
    if cluster.certificate_authority_data:
        ca = CertificateAuthority(data=cluster.certificate_authority_data)
    elif cluster.certificate_authority is not None:
        ca = CertificateAuthority(file=cluster.certificate_authority)
    identity = ClusterIdentity(
        server=cluster.server,
        trust=_trust_fingerprint(cluster),
        credential=_credential_fingerprint(user),
        context=name,
    )
    return ResolvedCluster(
        context_name=name,
        cluster_name=cluster.name,
        server=cluster.server,
        certificate_authority=ca,
        insecure_skip_tls_verify=cluster.insecure_skip_tls_verify,
        tls_server_name=cluster.tls_server_name,
        proxy_url=cluster.proxy_url,
        namespace=context.namespace or DEFAULT_NAMESPACE,
        user_name=context.user,
        credentials=user,
        context_origin=context.origin,
        cluster_origin=cluster.origin,
        identity=identity,
        disable_compression=cluster.disable_compression,
    )
