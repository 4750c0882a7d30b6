"""A generic in-memory object store keyed by resource type, namespace and name.

Objects are plain JSON dicts, stored as given plus the metadata the API server
fills in (uid, resourceVersion, creationTimestamp). Reads hand out deep copies,
so a caller cannot change stored state by accident, and a lock keeps tests that
add objects while requests are served safe.
"""

from __future__ import annotations

import copy
import datetime
import itertools
import re
import threading
import uuid
from collections.abc import Iterable
from typing import Any

from mirrord_ls.loopback.resources import ResourceType

JsonObj = dict[str, Any]


class SelectorError(ValueError):
    """A label or field selector the server cannot parse (answered as 400)."""


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside `in (a,b)` parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


_SET_RE = re.compile(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$")
_EQ_RE = re.compile(r"^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$")
_KEY_RE = re.compile(r"^(!?)([\w./-]+)$")


def label_selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Label selector semantics: `a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`."""
    for term in _split_top(selector):
        if m := _SET_RE.match(term):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if op == "in" and labels.get(key) not in values:
                return False
            if op == "notin" and key in labels and labels[key] in values:
                return False
        elif m := _EQ_RE.match(term):
            key, op, value = m.groups()
            if op == "!=":
                if labels.get(key) == value:
                    return False
            elif labels.get(key) != value:
                return False
        elif m := _KEY_RE.match(term):
            negate, key = m.groups()
            if (key in labels) == bool(negate):
                return False
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return True


# Fields a kind may be selected by beyond metadata.name/namespace (kube-apiserver's
# registry: pkg/registry/core/{pod,namespace,node}/strategy.go, `*ToSelectableFields`).
SELECTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "Namespace": ("status.phase",),
    "Node": ("spec.unschedulable",),
}


def _field_value(obj: JsonObj, path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, bool):
        return "true" if node else "false"
    return "" if node is None else str(node)


def field_selector_matches(selector: str, obj: JsonObj, kind: str = "") -> bool:
    """Field selectors: metadata.name and metadata.namespace, plus the kind's own fields."""
    allowed = ("metadata.name", "metadata.namespace", *SELECTABLE_FIELDS.get(kind, ()))
    for term in _split_top(selector):
        m = _EQ_RE.match(term)
        if m is None or m.group(1) not in allowed:
            raise SelectorError(f"field label not supported: {term!r}")
        key, op, value = m.groups()
        if (_field_value(obj, key) == value) == (op == "!="):
            return False
    return True


class ObjectStore:
    """Objects per resource type; namespaced types are keyed by (namespace, name)."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self._lock = threading.Lock()
        self._types: dict[tuple[str, str], ResourceType] = {}
        for rt in types:
            self.register(rt)
        self._objects: dict[tuple[str, str], dict[tuple[str, str], JsonObj]] = {}
        self._versions = itertools.count(1000)

    def register(self, rt: ResourceType) -> None:
        """Make a (top-level) resource type storable; subresources are not stored."""
        if not rt.is_subresource:
            self._types[(rt.api_version, rt.kind)] = rt

    def type_for(self, api_version: str, kind: str) -> ResourceType:
        try:
            return self._types[(api_version, kind)]
        except KeyError:
            raise KeyError(f"no resource type for {api_version} {kind}") from None

    @property
    def resource_version(self) -> str:
        """The current resourceVersion, as lists report it."""
        with self._lock:
            return str(next(self._versions))

    def put(self, obj: JsonObj) -> JsonObj:
        """Add or replace an object (its apiVersion and kind pick the type); returns a copy."""
        rt = self.type_for(obj["apiVersion"], obj["kind"])
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            raise ValueError("object has no metadata.name")
        if rt.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault(
            "creationTimestamp",
            datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        with self._lock:
            meta["resourceVersion"] = str(next(self._versions))
            bucket = self._objects.setdefault((rt.group, rt.name), {})
            bucket[(meta.get("namespace", ""), name)] = stored
            return copy.deepcopy(stored)

    def put_all(self, objs: Iterable[JsonObj]) -> None:
        for obj in objs:
            self.put(obj)

    def get(self, rt: ResourceType, namespace: str, name: str) -> JsonObj | None:
        with self._lock:
            obj = self._objects.get((rt.group, rt.name), {}).get((namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def delete(self, rt: ResourceType, namespace: str, name: str) -> JsonObj | None:
        with self._lock:
            obj = self._objects.get((rt.group, rt.name), {}).pop((namespace, name), None)
            return obj

    def list(
        self,
        rt: ResourceType,
        namespace: str = "",
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> list[JsonObj]:
        """Objects of a type, in one namespace or ("") all, sorted like etcd keys."""
        with self._lock:
            bucket = self._objects.get((rt.group, rt.name), {})
            items = [
                copy.deepcopy(obj)
                for (ns, _name), obj in sorted(bucket.items())
                if not namespace or ns == namespace
            ]
        if label_selector:
            items = [
                o
                for o in items
                if label_selector_matches(label_selector, o["metadata"].get("labels") or {})
            ]
        if field_selector:
            items = [o for o in items if field_selector_matches(field_selector, o, rt.kind)]
        return items
