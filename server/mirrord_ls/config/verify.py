"""mirrord's own rules beyond the schema: combinations it refuses, or warns about, at start-up.

The schema says what each field may hold; `LayerConfig::verify` (mirrord/config/src/lib.rs)
and the feature configs then reject combinations (`ConfigError::Conflict`, `InvalidValue`) or
add warnings. Each rule below cites the code that decides it and says mirrord's reason in
words, on the field that causes it. Severity: error when mirrord stops, warning when it runs
but not as written or warns at start-up (unstable fields: mirrord's own warning).

Also here, because the schema cannot say them: target strings as mirrord's parser reads them
(`config/targets.py`), and unknown fields in split-queue entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mirrord_ls.config.document import Node, Path, deepest, locate
from mirrord_ls.config.schema import Schema
from mirrord_ls.config.targets import Target, TargetError, target_from_config
from mirrord_ls.findings import Finding, Severity

# mirrord/config/src/feature/fs/advanced.rs
READONLY_FILE_BUFFER_WARN_LIMIT = 1024 * 1024
READONLY_FILE_BUFFER_HARD_LIMIT = 15 * 1024 * 1024
# mirrord/config/src/retry.rs (`#[config(default = ...)]`)
STARTUP_RETRY_MIN_MS = 500
STARTUP_RETRY_MAX_MS = 5000
# The five kinds of HTTP filter (lib.rs, `used_filters`).
HTTP_FILTERS = ("path_filter", "header_filter", "all_of", "any_of", "body_filter")
# Fields whose value mirrord wraps in `Unstable` (config/unstable.rs: "field {}.{} is marked as
# unstable. Please note API may change"): `#[config(unstable)]` on agent.rs `flush_connections`,
# feature/network/outgoing.rs `unix_streams`; feature/network/incoming.rs wraps
# `on_concurrent_steal` by hand. (Nested sections marked unstable do not warn: the derive,
# mirrord/config/derive/src/config/field.rs, returns early for `nested`.)
UNSTABLE = (
    ("agent", "flush_connections"),
    ("feature", "network", "outgoing", "unix_streams"),
    ("feature", "network", "incoming", "on_concurrent_steal"),
)


def _get(value: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass
class _Config:
    """The config's values with mirrord's defaults applied where a rule needs them."""

    data: dict[str, Any]

    @property
    def incoming(self) -> Any:
        network = _get(self.data, "feature", "network")
        if network is False:
            return False
        return _get(network, "incoming")

    @property
    def incoming_mode(self) -> str:
        """feature/network/incoming.rs: `IncomingMode`, `#[default] Mirror`; `false` is off."""
        incoming = self.incoming
        if incoming is False:
            return "off"
        if isinstance(incoming, str):
            return incoming
        mode = _get(incoming, "mode")
        return mode if isinstance(mode, str) else "mirror"

    @property
    def is_steal(self) -> bool:
        return self.incoming_mode == "steal"  # incoming.rs, `IncomingConfig::is_steal`

    @property
    def copy_target_enabled(self) -> bool:
        """feature/copy_target.rs: `Simple(bool)`, or `Advanced` with `enabled` default true."""
        copy = _get(self.data, "feature", "copy_target")
        if isinstance(copy, bool):
            return copy
        if isinstance(copy, dict):
            enabled = copy.get("enabled")
            return enabled if isinstance(enabled, bool) else True
        return False

    @property
    def ephemeral(self) -> bool:
        return _get(self.data, "agent", "ephemeral") is True

    @property
    def agent_namespace(self) -> bool:
        return _get(self.data, "agent", "namespace") is not None


@dataclass
class _Verifier:
    root: Node
    schema: Schema | None
    config: _Config
    findings: list[Finding] = field(default_factory=list)

    def span(self, path: Path, on_key: bool = True) -> tuple[int, int]:
        found, _ = deepest(self.root, path)
        if found is None:
            return self.root.start, self.root.start + 1
        if on_key and found.member is not None:
            return found.member.key_start, found.member.key_end
        return found.node.start, found.node.end

    def add(
        self,
        code: str,
        severity: Severity,
        path: Path,
        message: str,
        on_key: bool = True,
        **data: Any,
    ) -> None:
        start, end = self.span(path, on_key)
        self.findings.append(
            Finding(code, severity, start, end, message, data={"path": list(path), **data})
        )

    def conflict(self, severity: Severity, path: Path, message: str, on_key: bool = True) -> None:
        self.add("conflict", severity, path, message, on_key)

    def present(self, path: Path) -> bool:
        found = locate(self.root, path)
        return found is not None and found.node.kind != "null"

    # -- the rules ---------------------------------------------------------
    def run(self) -> None:
        target, target_path = self.target()
        self.label_target_rules(target)
        self.agent_rules()
        self.http_filter_rules()
        self.port_rules()
        self.delivery_rules()
        targetless = isinstance(target, Target) and target.kind == "targetless"
        self.targetless_rules(targetless, target_path)
        self.copy_target_rules(target, targetless, target_path)
        self.env_rules()
        self.fs_rules()
        self.startup_retry_rules()
        self.db_branch_rules()
        self.split_queue_rules()
        self.unstable_fields()

    def target(self) -> tuple[Target | None, Path]:
        found = locate(self.root, ("target",))
        if found is None:
            return None, ()
        target, path = target_from_config(found.node.to_python())
        if isinstance(target, TargetError):
            # target.rs `FromStr for Target`, target/label.rs `FromStr for LabelTarget`:
            # mirrord stops with `ConfigError::InvalidTarget`.
            self.add("invalid-value", "error", path, target.message, on_key=False)
            return None, path
        return target, path

    def label_target_rules(self, target: Target | None) -> None:
        if target is None or target.kind != "label":
            return
        data = self.config.data
        # lib.rs, LayerConfig::verify: the four label-target conflicts, in its order.
        if self.config.copy_target_enabled:
            self.conflict(
                "error",
                ("feature", "copy_target"),
                "mirrord does not support copy_target with label targets yet.",
            )
        if data.get("multi_cluster") is True:
            self.conflict(
                "error",
                ("multi_cluster",),
                "mirrord does not support label targets in multi-cluster sessions yet: set"
                " multi_cluster to false to use the primary cluster only.",
            )
        if _get(data, "feature", "split_queues"):
            self.conflict(
                "error",
                ("feature", "split_queues"),
                "mirrord does not support queue splitting with label targets yet.",
            )
        if _get(data, "feature", "db_branches"):
            self.conflict(
                "error",
                ("feature", "db_branches"),
                "mirrord does not support database branching with label targets yet.",
            )

    def agent_rules(self) -> None:
        # lib.rs, LayerConfig::verify: "Agent namespace is ignored when using an ephemeral
        # container for the agent." (a warning)
        if self.config.ephemeral and self.config.agent_namespace:
            self.conflict(
                "warning",
                ("agent", "namespace"),
                "mirrord ignores agent.namespace when the agent runs as an ephemeral container"
                " (agent.ephemeral): it runs in the target's pod.",
            )

    def http_filter_rules(self) -> None:
        base = ("feature", "network", "incoming", "http_filter")
        http_filter = _get(self.config.incoming, "http_filter")
        if not isinstance(http_filter, dict):
            return
        found = locate(self.root, base)
        written = [m.key for m in found.node.members] if found else []
        used = [n for n in written if n in HTTP_FILTERS and http_filter.get(n) is not None]
        used = list(dict.fromkeys(used))  # file order, each once
        # lib.rs, LayerConfig::verify: "Cannot use multiple types of HTTP filter at the same
        # time, use 'any_of' or 'all_of' to combine filters"
        if len(used) > 1:
            for name in used[1:]:
                self.conflict(
                    "error",
                    (*base, name),
                    f"mirrord uses one kind of HTTP filter at a time; {', '.join(used)} are"
                    " all set. Combine filters with any_of or all_of.",
                )
        # lib.rs: "Composite HTTP filter cannot be empty"
        for name in ("any_of", "all_of"):
            if http_filter.get(name) == []:
                self.conflict(
                    "error",
                    (*base, name),
                    f"An empty {name} filter: mirrord refuses a composite HTTP filter with no"
                    " filters in it.",
                    on_key=False,
                )

    def port_rules(self) -> None:
        base = ("feature", "network", "incoming")
        incoming = self.config.incoming
        if not isinstance(incoming, dict):
            return
        # lib.rs: "Cannot use both `incoming.ignore_ports` and `incoming.ports` at the same time"
        if incoming.get("ignore_ports") and incoming.get("ports") is not None:
            self.conflict(
                "error",
                (*base, "ports"),
                "mirrord refuses incoming.ports together with incoming.ignore_ports: use one.",
            )
        for name in ("port_mapping", "listen_ports"):
            pairs = incoming.get(name)
            if not isinstance(pairs, list):
                continue
            sources: set[Any] = set()
            targets: set[Any] = set()
            for i, pair in enumerate(pairs):
                if not (isinstance(pair, list) and len(pair) == 2):
                    continue
                local, remote = pair
                # incoming.rs, bi_map_from_config: "`{field}` contains duplicate source port"
                # and "... duplicate target port".
                if local in sources:
                    self.conflict(
                        "error",
                        (*base, name, i, 0),
                        f"{name} maps the local port {local} twice: mirrord refuses it.",
                        on_key=False,
                    )
                elif remote in targets:
                    self.conflict(
                        "error",
                        (*base, name, i, 1),
                        f"{name} maps to the port {remote} twice: mirrord refuses it.",
                        on_key=False,
                    )
                elif name == "port_mapping" and local == remote:
                    # lib.rs: "... contains a mapping of a local port to the same remote port"
                    self.conflict(
                        "warning",
                        (*base, name, i),
                        f"port_mapping maps port {local} to itself: it has no effect (a mapping"
                        " is needed only when the local port differs from the remote one).",
                        on_key=False,
                    )
                sources.add(local)
                targets.add(remote)

    def delivery_rules(self) -> None:
        base = ("feature", "network", "incoming")
        incoming = self.config.incoming
        if not isinstance(incoming, dict) or incoming.get("https_delivery") is None:
            return
        if incoming.get("tls_delivery") is not None:
            # lib.rs: "Cannot use both `feature.network.incoming.https_delivery` and
            # `feature.network.incoming.tls_delivery` at the same time"
            self.conflict(
                "error",
                (*base, "https_delivery"),
                "mirrord refuses https_delivery together with tls_delivery: keep tls_delivery.",
            )
        else:
            # lib.rs: "`feature.network.incoming.https_delivery` is deprecated, use
            # `feature.network.incoming.tls_delivery` instead."
            self.conflict(
                "warning",
                (*base, "https_delivery"),
                "https_delivery is deprecated: mirrord warns; rename it to tls_delivery.",
            )

    def targetless_rules(self, targetless: bool, target_path: Path) -> None:
        if not targetless:
            return
        # lib.rs, LayerConfig::verify, `if is_targetless`.
        if self.config.is_steal:
            self.conflict(
                "error",
                self._mode_path(),
                "Steal mode needs a target: mirrord refuses it on a targetless run. Use mirror"
                " mode, or name a target.",
                on_key=False,
            )
        if self.config.ephemeral:
            self.conflict(
                "error",
                ("agent", "ephemeral"),
                "An ephemeral agent runs inside the target's pod: mirrord refuses it on a"
                " targetless run. Turn agent.ephemeral off, or name a target.",
            )
        if self.config.agent_namespace:
            self.conflict(
                "warning",
                ("agent", "namespace"),
                "mirrord ignores agent.namespace on a targetless run: set target.namespace to"
                " choose the namespace.",
            )

    def _mode_path(self) -> Path:
        incoming = self.config.incoming
        base: Path = ("feature", "network", "incoming")
        return (*base, "mode") if isinstance(incoming, dict) else base

    def copy_target_rules(self, target: Target | None, targetless: bool, path: Path) -> None:
        if not self.config.copy_target_enabled:
            return
        where = ("feature", "copy_target")
        # lib.rs, LayerConfig::verify, `if self.feature.copy_target.enabled`.
        if self.config.data.get("operator") is False:
            self.conflict(
                "error",
                where,
                "copy_target needs the mirrord operator, and operator is false: mirrord refuses"
                " it.",
            )
        if targetless:
            self.conflict(
                "error",
                where,
                "copy_target needs a target to copy: mirrord refuses it on a targetless run.",
            )
        elif target is not None and target.kind == "service":
            self.conflict(
                "error",
                where,
                "mirrord does not support copy_target with service targets yet: target a"
                " workload the service covers instead.",
            )
        if not self.config.is_steal:
            self.conflict(
                "warning",
                where,
                "copy_target without steal mode: the copied pod does not run your app, so"
                " requests mirrored to it may get no response.",
            )

    def env_rules(self) -> None:
        env = _get(self.config.data, "feature", "env")
        # lib.rs: "cannot use both `include` and `exclude` filters for environment variables"
        if isinstance(env, dict) and env.get("include") is not None:
            if env.get("exclude") is not None:
                self.conflict(
                    "error",
                    ("feature", "env", "exclude"),
                    "mirrord refuses env.include together with env.exclude: use one of them.",
                )

    def fs_rules(self) -> None:
        path = ("feature", "fs", "readonly_file_buffer")
        value = _get(self.config.data, *path)
        if not isinstance(value, int) or isinstance(value, bool):
            return
        # lib.rs: "the value of feature.fs.readonly_file_buffer must be {} Megabytes or less."
        if value > READONLY_FILE_BUFFER_HARD_LIMIT:
            self.conflict(
                "error",
                path,
                f"readonly_file_buffer must be 15 MB (15728640) or less: mirrord refuses {value}.",
                on_key=False,
            )
        elif value > READONLY_FILE_BUFFER_WARN_LIMIT:
            # lib.rs: "... is more than {} Megabyte. Large values may increase the risk of
            # timeouts."
            self.conflict(
                "warning",
                path,
                "readonly_file_buffer is more than 1 MB: mirrord warns that large values may"
                " cause timeouts.",
                on_key=False,
            )

    def startup_retry_rules(self) -> None:
        retry = self.config.data.get("startup_retry")
        if not isinstance(retry, dict):
            return
        lo, hi = retry.get("min_ms"), retry.get("max_ms")
        lo = lo if isinstance(lo, int) and not isinstance(lo, bool) else STARTUP_RETRY_MIN_MS
        hi = hi if isinstance(hi, int) and not isinstance(hi, bool) else STARTUP_RETRY_MAX_MS
        # lib.rs: "the value of startup_retry.min_ms `{}` cannot be greater than the value of
        # startup_retry.max_ms `{}`."
        if lo > hi:
            self.conflict(
                "error",
                ("startup_retry", "min_ms" if "min_ms" in retry else "max_ms"),
                f"startup_retry.min_ms ({lo}) is greater than startup_retry.max_ms ({hi}):"
                " mirrord refuses it.",
                on_key=False,
            )
        elif hi == 0:
            # lib.rs: "the value of startup_retry.max_ms has to be greater than 0."
            self.conflict(
                "error",
                ("startup_retry", "max_ms"),
                "startup_retry.max_ms must be greater than 0.",
                on_key=False,
            )

    def db_branch_rules(self) -> None:
        branches = _get(self.config.data, "feature", "db_branches")
        if not isinstance(branches, list):
            return
        for i, branch in enumerate(branches):
            if not isinstance(branch, dict):
                continue
            here: Path = ("feature", "db_branches", i)
            kind = branch.get("type")
            # feature/database_branches.rs: `DatabaseBranchBaseConfig::connection` has no
            # default, so serde refuses a branch without it ("missing field `connection`").
            # (A redis branch may be local: `RedisBranchConfig` reads `location` first.)
            # Anchored where the schema's own "needs the field" lands, so one finding shows.
            if isinstance(kind, str) and kind != "redis" and "connection" not in branch:
                start, _ = self.span(here, on_key=False)
                self.findings.append(
                    Finding(
                        "missing-field",
                        "error",
                        start,
                        start + 1,
                        f"This {kind} branch has no connection: mirrord needs to know which"
                        " environment variables hold the database's address.",
                        data={"path": list(here)},
                    )
                )
            # DatabaseBranchBaseConfig::verify: "`feature.db_branches[].ttl_secs` and
            # `feature.db_branches[].ttl_mins` cannot both be set." and "... `image` and
            # `version` cannot both be set; the image reference includes the tag."
            if branch.get("ttl_secs") is not None and branch.get("ttl_mins") is not None:
                self.conflict(
                    "error",
                    (*here, "ttl_mins"),
                    "mirrord refuses ttl_secs together with ttl_mins: set one.",
                )
            if branch.get("image") is not None and branch.get("version") is not None:
                self.conflict(
                    "error",
                    (*here, "version"),
                    "mirrord refuses image together with version: the image reference already"
                    " carries the tag.",
                )
            migrations = branch.get("migrations")
            if isinstance(migrations, dict) and branch.get("name") is None:
                # SqlBranchMigrationsConfig::verify: "`feature.db_branches[].migrations`
                # requires `feature.db_branches[].name` to be set."
                self.conflict(
                    "error",
                    (*here, "migrations"),
                    "migrations need the branch's name to be set: mirrord refuses them without.",
                )

    def split_queue_rules(self) -> None:
        """Unknown fields in split-queue entries, which mirrord's serde denies.

        feature/split_queues.rs: `QueueSplit` and `QueueSplitMapValueOwned` flatten a
        `QueueFilter` (`#[serde(tag = "queue_type", deny_unknown_fields)]`), so every field
        that is not the entry's own (`queue_id`, `queue_mode`) must belong to the variant
        `queue_type` names (mirrord's test `rejects_unknown_fields_in_split_queues`). The
        published schema leaves these entries open; mirrord-ls follows mirrord.
        """
        if self.schema is None:
            return
        queues = locate(self.root, ("feature", "split_queues"))
        if queues is None:
            return
        entries: list[tuple[Path, Node]] = []
        base: Path = ("feature", "split_queues")
        if queues.node.kind == "object":
            entries = [((*base, m.key), m.value) for m in queues.node.members]
        elif queues.node.kind == "array":
            entries = [((*base, i), item) for i, item in enumerate(queues.node.items)]
        for path, entry in entries:
            if entry.kind != "object":
                continue
            allowed = self._queue_fields(path, entry)
            if allowed is None:
                continue
            for m in entry.members:
                if m.key not in allowed:
                    self.findings.append(
                        Finding(
                            "unknown-field",
                            "error",
                            m.key_start,
                            m.key_end,
                            f'Unknown field "{m.key}" in this queue split: mirrord rejects'
                            f" fields its queue type does not have ({', '.join(sorted(allowed))}).",
                            data={"path": [*path, m.key], "field": m.key},
                        )
                    )

    def _queue_fields(self, path: Path, entry: Node) -> set[str] | None:
        assert self.schema is not None
        queue_type = entry.member("queue_type")
        if queue_type is None or queue_type.value.kind != "string":
            return None  # the schema says the type is missing
        wanted = queue_type.value.value
        for node in self.schema.at(path):
            own = set((self.schema.resolve(node).get("properties") or {}).keys())
            for variant in self.schema.branches(node):
                props = variant.get("properties") or {}
                tag = self.schema.resolve(props.get("queue_type") or {})
                if tag.get("const") == wanted or wanted in (tag.get("enum") or ()):
                    return own | set(props)
        return None

    def unstable_fields(self) -> None:
        for path in UNSTABLE:
            if self.present(path):
                # config/unstable.rs: mirrord reports it through the context's warnings,
                # which the CLI shows as a start-up warning; mirrord-ls keeps that level.
                self.add(
                    "unstable",
                    "warning",
                    path,
                    f"{path[-1]} is an unstable setting: mirrord warns that it may change or go"
                    " away in a later release.",
                )


def verify(root: Node, schema: Schema | None) -> list[Finding]:
    """mirrord's own findings for a config tree (offsets in the tree's text)."""
    if root.kind != "object":
        return []
    verifier = _Verifier(root, schema, _Config(root.to_python()))
    verifier.run()
    return verifier.findings
