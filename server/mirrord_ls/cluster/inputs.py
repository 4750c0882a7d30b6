"""The typed seam between a config and the cluster: `ClusterInputs`.

Built once from an analysed config (`from_analysis`), frozen, and hashable:
it is what the cluster steps (resolve, facts, check units) read, and the key
that says whether a new text needs a new cluster walk. After this point the
cluster code never sees the config text again.

Values compare; spans do not. An edit that only moves text keeps the inputs
equal, and findings are anchored anew through `anchor()` from the spans of
the latest text (each a key path such as `("agent", "namespace")`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mirrord_ls.config.targets import Target, TargetError, target_from_config

if TYPE_CHECKING:
    from mirrord_ls.config.analyze import Analysis
    from mirrord_ls.config.document import Node

KeyPath = tuple[str | int, ...]
Span = tuple[int, int]
# The sections whose every value keeps its span (the checks anchor in them).
SPANNED_SECTIONS = (
    "operator",
    "kube_context",
    "kubeconfig",
    "target",
    "agent",
    "feature",
    "profile",
    "multi_cluster",
)
MAX_SPANS = 4096


class FrozenDict(Mapping[str, Any]):
    """An immutable, hashable JSON object (values frozen too)."""

    __slots__ = ("_items", "_map")

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._map = {k: freeze(v) for k, v in (items or {}).items()}
        self._items = tuple(sorted(self._map.items(), key=lambda kv: kv[0]))

    def __getitem__(self, key: str) -> Any:
        return self._map[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenDict):
            return self._items == other._items
        return isinstance(other, Mapping) and dict(self._map) == dict(other)

    def __repr__(self) -> str:
        return f"FrozenDict({dict(self._map)!r})"


def thaw(value: Any) -> Any:
    """The inverse of `freeze`: plain dicts and lists again (what the preflight rules read)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def freeze(value: Any) -> Any:
    """JSON-like value -> hashable (objects to FrozenDict, arrays to tuples)."""
    if isinstance(value, FrozenDict):
        return value
    if isinstance(value, dict):
        return FrozenDict(value)
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class ClusterInputs:
    """What the cluster checks need from one config; compared by value, not place."""

    operator: bool | None = None
    """`operator` when it is a boolean (mirrord: true = required, false = off, unset = try)."""
    kube_context: str | None = None
    kubeconfig: str | None = None
    accept_invalid_certificates: bool | None = None
    target: Target | TargetError | None = None
    """The parsed target (None: unset, not understood, or from a template that failed)."""
    target_path: KeyPath = ()
    """Where the target is named: `("target",)` or `("target", "path")`."""
    target_templated: bool = False
    """The target is template output, which may hold the environment (`get_env`)."""
    target_namespace: str | None = None
    """`target.namespace` as written (a targetless run with it still names a namespace)."""
    profile: str | None = None
    multi_cluster: bool | None = None
    target_value: Any = None
    """`target` as written (frozen), for the operator-path settings; None when unset or a
    broken template."""
    agent: FrozenDict = field(default_factory=FrozenDict)
    feature: FrozenDict = field(default_factory=FrozenDict)
    is_object: bool = True
    """False when the config is not an object at all: nothing to check."""
    spans: Mapping[KeyPath, Span] = field(default_factory=dict, compare=False, hash=False)
    """Value spans (file offsets as written) of the keys in SPANNED_SECTIONS."""
    first_line: Span = field(default=(0, 0), compare=False, hash=False)
    """Where a finding goes that has no key of its own in the file."""

    @property
    def cluster_key(self) -> tuple[Any, ...]:
        """The values that choose the cluster: a change means the old verdict is about
        another cluster."""
        return (self.operator, self.kube_context, self.kubeconfig, self.accept_invalid_certificates)

    def value(self, path: KeyPath) -> Any:
        """The (frozen) value at a key path under `agent` or `feature`, else None."""
        if not path or path[0] not in ("agent", "feature"):
            return None
        node: Any = self.agent if path[0] == "agent" else self.feature
        for part in path[1:]:
            if isinstance(node, Mapping) and isinstance(part, str):
                node = node.get(part)
            elif isinstance(node, tuple) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                return None
        return node

    def config_view(self) -> dict[str, Any]:
        """The config parts the operator-path rules read, as plain values
        (`preflight.settings.operator_settings` takes this)."""
        view: dict[str, Any] = {"agent": thaw(self.agent), "feature": thaw(self.feature)}
        for key in ("profile", "multi_cluster"):
            if getattr(self, key) is not None:
                view[key] = getattr(self, key)
        if self.target_value is not None:
            view["target"] = thaw(self.target_value)
        return view

    def span(self, path: KeyPath) -> Span | None:
        return self.spans.get(path)

    def anchor(self, *paths: KeyPath) -> Span:
        """The span of the first path written in the file; else the nearest written parent
        of the first path; else the first line."""
        for path in paths:
            found = self.spans.get(path)
            if found is not None:
                return found
        if paths:
            first = paths[0]
            for cut in range(len(first) - 1, 0, -1):
                found = self.spans.get(first[:cut])
                if found is not None:
                    return found
        return self.first_line


def _last_members(node: Node) -> list[tuple[str, Node]]:
    # Duplicate keys: mirrord's readers keep the last one, and so does `locate`.
    last: dict[str, Node] = {}
    for member in node.members:
        last.pop(member.key, None)
        last[member.key] = member.value
    return list(last.items())


def _collect_spans(analysis: Analysis, root: Node) -> dict[KeyPath, Span]:
    spans: dict[KeyPath, Span] = {}
    stack: list[tuple[KeyPath, Node]] = [
        ((key,), value) for key, value in _last_members(root) if key in SPANNED_SECTIONS
    ]
    stack.reverse()
    while stack and len(spans) < MAX_SPANS:
        path, node = stack.pop()
        spans[path] = analysis.source_span(node.start, node.end)
        if node.kind == "object":
            for key, value in reversed(_last_members(node)):
                stack.append(((*path, key), value))
        elif node.kind == "array":
            for i in range(len(node.items) - 1, -1, -1):
                stack.append(((*path, i), node.items[i]))
    return spans


def _templated(analysis: Analysis, path: KeyPath) -> bool:
    from mirrord_ls.cluster.trust import templated_value  # off the start path

    return templated_value(analysis, path)


def from_analysis(analysis: Analysis) -> ClusterInputs:
    """The cluster inputs of an analysed config (the one place that reads its fields)."""
    text = analysis.text
    first_line_end = text.find("\n")
    first_line = (0, max(len(text) if first_line_end == -1 else first_line_end, 0))
    root = analysis.root
    if root is None or root.kind != "object":
        return ClusterInputs(is_object=False, first_line=first_line)

    def typed(key: str, kind: type) -> Any:
        value = analysis.value((key,))
        return value if isinstance(value, kind) else None

    target_value = analysis.value(("target",))
    target, target_path = target_from_config(target_value)
    if target_path and analysis.broken_template_in(target_path):
        target = None  # the template finding says it; its stand-in value is no target
        target_value = None
    agent = analysis.value(("agent",))
    feature = analysis.value(("feature",))
    target_ns = analysis.value(("target", "namespace"))
    return ClusterInputs(
        operator=typed("operator", bool),
        kube_context=typed("kube_context", str),
        kubeconfig=typed("kubeconfig", str),
        accept_invalid_certificates=typed("accept_invalid_certificates", bool),
        target=target,
        target_path=target_path,
        target_templated=_templated(analysis, ("target",)),
        target_namespace=target_ns if isinstance(target_ns, str) else None,
        profile=typed("profile", str),
        multi_cluster=typed("multi_cluster", bool),
        target_value=freeze(target_value),
        agent=FrozenDict(agent) if isinstance(agent, dict) else FrozenDict(),
        feature=FrozenDict(feature) if isinstance(feature, dict) else FrozenDict(),
        spans=_collect_spans(analysis, root),
        first_line=first_line,
    )


def checked_target(inputs: ClusterInputs) -> Target | None:
    """The target the cluster is asked about (none for targetless or a malformed one)."""
    target = inputs.target
    if isinstance(target, Target) and target.kind != "targetless":
        return target
    return None
