"""mirrord's `target` forms, parsed as mirrord parses them.

- `"targetless"`
- `"<type>/<name>[/container/<container>]"`, type one of pod, deployment
  (alias deploy), rollout, job, cronjob, statefulset, service, replicaset
- `"label/k=v[,k=v...][/container/<container>]"`
- an object `{"path": <one of the above, or {"deployment": name, ...}>, "namespace": ns}`

Pure: no cluster access. The cluster checks in `cluster/targets.py` use the result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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
# Object-form keys of `path` (mirrord's Target enum, as in its schema).
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
NEEDS_OPERATOR = frozenset({"job", "cronjob", "statefulset", "service", "replicaset", "label"})
FORMS = (
    '"targetless", "<type>/<name>", "<type>/<name>/container/<container>" (type: pod,'
    " deployment or deploy, rollout, job, cronjob, statefulset, service, replicaset), or"
    ' "label/<key>=<value>[,<key>=<value>]"'
)
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_LABEL = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?=[-A-Za-z0-9_.]*$")


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
    """Parse the string form."""
    if text == "targetless":
        return Target("targetless")
    parts = text.split("/")
    kind = KIND_ALIASES.get(parts[0])
    if kind is None:
        return TargetError(f'"{text}" is not a target mirrord understands. Targets are {FORMS}.')
    container: str | None = None
    if len(parts) == 4 and parts[2] == "container":
        container = parts[3]
        if not container:
            return TargetError(f'"{text}": the container name is missing. Targets are {FORMS}.')
    elif len(parts) != 2:
        return TargetError(f'"{text}" has the wrong shape. Targets are {FORMS}.')
    if kind == "label":
        labels = []
        for pair in parts[1].split(","):
            if not _LABEL.match(pair):
                return TargetError(
                    f'"{pair}" is not a label selector of the form key=value. Targets are {FORMS}.'
                )
            key, _, value = pair.partition("=")
            labels.append((key, value))
        return Target("label", labels=tuple(labels), container=container)
    name = parts[1]
    if not name:
        return TargetError(f'"{text}": the {kind} name is missing. Targets are {FORMS}.')
    if not _NAME.match(name):
        return TargetError(
            f'"{name}" is not a valid Kubernetes name (lower case letters, digits, "-" and ".").'
        )
    return Target(kind, name=name, container=container)


def target_from_config(value: Any) -> tuple[Target | TargetError | None, tuple[str, ...]]:
    """The target of a config's `target` value, and the path of the field that names it."""
    if value is None:
        return None, ()
    if isinstance(value, str):
        return parse_target_path(value), ("target",)
    if not isinstance(value, dict):
        return None, ()  # the schema check reports the type
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
    for key, kind in OBJECT_KINDS.items():
        if key in path:
            raw = path[key]
            container = path.get("container") if isinstance(path.get("container"), str) else None
            if kind == "label":
                if isinstance(raw, dict):
                    labels = tuple((str(k), str(v)) for k, v in raw.items())
                    return Target("label", labels=labels, container=container)
                return None
            if isinstance(raw, str) and raw:
                return Target(kind, name=raw, container=container)
            return None
    return None
