"""mirrord's `target` forms, parsed as mirrord parses them, without a cluster.

- `"targetless"`
- `"<type>/<name>[/container/<container>]"`, type one of pod, deployment (alias deploy),
  rollout, job, cronjob, statefulset, service, replicaset
- `"label/k=v[,k=v...][/container/<container>]"`
- an object naming the workload (`{"deployment": name, "container": c}`, ...), or
  `{"path": <one of the above>, "namespace": ns}`

The string rules follow `impl FromStr for Target` (mirrord/config/src/target.rs) and
`impl FromStr for LabelTarget` (mirrord/config/src/target/label.rs); the object rules follow
`TargetFileConfig` (untagged: a bare `Target`, else `{path, namespace}`) read through
`util::string_or_struct_option`. Pure: the cluster checks in `cluster/targets.py` use the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# target.rs, `FromStr for Target`: the first `/`-separated word picks the type.
KIND_ALIASES = {
    "pod": "pod",
    "deployment": "deployment",
    "deploy": "deployment",
    "rollout": "rollout",
    "job": "job",
    "cronjob": "cronjob",
    "statefulset": "statefulset",
    "service": "service",
    "replicaset": "replicaset",
    "label": "label",
}
# Object-form keys (each `*Target` struct's name field, as serde and the schema spell it).
OBJECT_KINDS = {
    "pod": "pod",
    "deployment": "deployment",
    "rollout": "rollout",
    "job": "job",
    "cron_job": "cronjob",
    "stateful_set": "statefulset",
    "service": "service",
    "replica_set": "replicaset",
    "labels": "label",
}
# target.rs, `Target::requires_operator`.
NEEDS_OPERATOR = frozenset({"job", "cronjob", "statefulset", "service", "replicaset", "label"})
FORMS = (
    '"targetless", "<type>/<name>", "<type>/<name>/container/<container>" (type: pod,'
    " deployment or deploy, rollout, job, cronjob, statefulset, service, replicaset), or"
    ' "label/<key>=<value>[,<key>=<value>...][/container/<container>]"'
)
# Kubernetes object names (RFC 1123 subdomains): mirrord's parser takes any text, but no
# cluster holds an object with another name, so the lookup mirrord makes next would fail.
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass(frozen=True)
class Target:
    kind: str  # pod, deployment, ..., label, or "targetless"
    name: str = ""
    container: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    namespace: str | None = None

    @property
    def needs_operator(self) -> bool:
        return self.kind in NEEDS_OPERATOR

    @property
    def display(self) -> str:
        if self.kind == "targetless":
            return "targetless"
        base = (
            "label/" + ",".join(f"{k}={v}" for k, v in self.labels)
            if self.kind == "label"
            else f"{self.kind}/{self.name}"
        )
        return base + (f"/container/{self.container}" if self.container else "")


@dataclass(frozen=True)
class TargetError:
    message: str


def parse_target_path(text: str) -> Target | TargetError:
    """Parse the string form, as `FromStr for Target` does."""
    if text == "targetless":
        return Target("targetless")
    parts = text.split("/")
    kind = KIND_ALIASES.get(parts[0])
    if kind is None:
        # target.rs: "Provided target: {target} is unsupported. Did you remember to add a
        # prefix, e.g. pod/{target}?" (the type is case-sensitive: `Deployment/x` too).
        hint = ""
        if parts[0].lower() in KIND_ALIASES:
            hint = f' Types are lower case: "{parts[0].lower()}".'
        elif len(parts) == 1:
            hint = f' Did you mean "pod/{text}" or "deployment/{text}"?'
        return TargetError(
            f'mirrord does not support the target "{text}".{hint} Targets are {FORMS}.'
        )
    if kind == "label":
        return parse_label_target(text)
    # `FromSplit` of each workload type (target/pod.rs, deployment.rs, ...): a name, then
    # either nothing or exactly `container/<name>`; anything after that is not read.
    if len(parts) < 2:
        return TargetError(f'"{text}": the {kind} name is missing. Targets are {FORMS}.')
    name = parts[1]
    container: str | None = None
    rest = parts[2:4]
    if rest and (len(rest) < 2 or rest[0] != "container"):
        return TargetError(
            f'mirrord cannot read the target "{text}": after the {kind} name only'
            f' "/container/<container>" may follow. Targets are {FORMS}.'
        )
    if rest:
        container = rest[1]
    if not name:
        return TargetError(
            f'"{text}": the {kind} name is empty; mirrord would look for a {kind} named "",'
            " which no cluster has."
        )
    if not _NAME.match(name):
        return TargetError(
            f'"{name}" is not a valid Kubernetes name (lower case letters, digits, "-" and'
            f' "."): no cluster has a {kind} of that name.'
        )
    if container == "":
        return TargetError(f'"{text}": the container name is empty.')
    return Target(kind, name=name, container=container)


def parse_label_target(text: str) -> Target | TargetError:
    """`FromStr for LabelTarget` (target/label.rs)."""
    invalid = TargetError(
        f'mirrord cannot read the label target "{text}": it must be'
        " `label/key=value[,key=value...][/container/name]`."
    )
    if not text.startswith("label/"):
        return invalid
    path = text[len("label/") :]
    selector, container = path, None
    # `rsplit_once("/container/")`: the last one splits; the container has no "/".
    cut = path.rfind("/container/")
    if cut != -1:
        selector, container = path[:cut], path[cut + len("/container/") :]
        if not container or "/" in container:
            return invalid
    labels: dict[str, str] = {}
    if selector:
        for requirement in selector.split(","):
            key, eq, value = requirement.partition("=")
            if not eq or not key:
                return invalid
            if key in labels:
                # label.rs: "Label target contains duplicate key `{key}`."
                return TargetError(f"The label target names the label `{key}` twice.")
            labels[key] = value
    if not labels:
        # LabelTarget::verify: "Label target must contain at least one label."
        return TargetError("A label target must name at least one label.")
    # A BTreeMap in mirrord: labels are kept sorted by key.
    return Target("label", labels=tuple(sorted(labels.items())), container=container)


def target_from_config(value: Any) -> tuple[Target | TargetError | None, tuple[str, ...]]:
    """The target of a config's `target` value, and the path of the field that names it."""
    if value is None:
        return None, ()
    if isinstance(value, str):
        return parse_target_path(value), ("target",)
    if not isinstance(value, dict):
        return None, ()  # the schema check reports the type
    if not ({"path", "namespace"} & value.keys()):
        # `TargetFileConfig::Simple`: the object is the target itself.
        return _object_path(value), ("target",)
    namespace = value.get("namespace") if isinstance(value.get("namespace"), str) else None
    path = value.get("path")
    if path is None:
        return None, ()
    parsed: Target | TargetError | None
    if isinstance(path, str):
        parsed = parse_target_path(path)
    elif isinstance(path, dict):
        parsed = _object_path(path)
    else:
        return None, ()
    if isinstance(parsed, Target):
        parsed = Target(
            parsed.kind, parsed.name, parsed.container, parsed.labels, namespace=namespace
        )
    return parsed, ("target", "path")


def _object_path(path: dict[str, Any]) -> Target | TargetError | None:
    """A `Target` written as an object; None when the schema check has the say."""
    for key, kind in OBJECT_KINDS.items():
        if key in path:
            raw = path[key]
            container = path.get("container") if isinstance(path.get("container"), str) else None
            if kind == "label":
                if isinstance(raw, dict):
                    if not raw:
                        return TargetError("A label target must name at least one label.")
                    labels = tuple(sorted((str(k), str(v)) for k, v in raw.items()))
                    return Target("label", labels=labels, container=container)
                return None
            if isinstance(raw, str) and raw:
                return Target(kind, name=raw, container=container)
            return None
    return None
