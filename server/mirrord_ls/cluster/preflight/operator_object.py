"""The MirrordOperator object, read with mirrord's deserialization rules.

mirrord gets `operator.metalbear.co/v1` `mirrordoperators/operator` and
deserializes it into `MirrordOperatorCrd` (`mirrord/operator/src/crd.rs`,
`MirrordOperatorSpec`, `MirrordOperatorStatus`, `Session`, `LockedPortCompat`;
`types.rs` `LicenseInfoOwned`; the root struct from kube-derive: `metadata`
and `spec` required, `status` optional, `apiVersion`/`kind` ignored). serde
fails the whole object on the first field of the wrong type, and
`OperatorApi::try_new` (`mirrord/operator/src/client.rs`) returns that error
whatever `operator` says: mirrord stops. :func:`parse_operator` answers with
either the typed object or every reason mirrord could not read it.

Checked as serde checks: required fields present and not null, strings are
strings, `u64`/`u16` are non-negative integers in range (never floats or
booleans), `Option`s may be null or absent, unknown fields are ignored.
Nested structures mirrord-ls does not read (queue-splitting sessions, copy
targets, multi-cluster entries) are only checked to be arrays, so an object
mirrord accepts is never called invalid.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from mirrord_ls.cluster.preflight.versions import Version, parse_naive_date, parse_version

# `OperatorFeatures` (crd.rs): the deprecated `features` list has no `#[serde(other)]`,
# so any name but ProxyApi fails deserialization.
LEGACY_FEATURES = frozenset({"ProxyApi"})


@dataclass(frozen=True, slots=True)
class License:
    name: str
    organization: str
    expire_at: datetime.date
    expire_text: str
    """`expire_at` as the object writes it."""
    fingerprint: str | None = None
    subscription_id: str | None = None

    @property
    def is_trial(self) -> bool:
        # client.rs `check_license_validity`: `license.name.contains("(Trial)")`.
        return "(Trial)" in self.name


@dataclass(frozen=True, slots=True)
class LockedPort:
    port: int
    kind: str
    filter: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    """One entry of `status.sessions` (crd.rs `Session`)."""

    duration_secs: int
    user: str
    """`<name>/<kubernetes user>@<hostname>` as the operator writes it."""
    target: str
    """As mirrord writes targets: `deployment/web`, `pod/x/container/c`, `targetless`."""
    id: str | None = None
    namespace: str | None = None
    locked_ports: tuple[LockedPort, ...] = ()
    key: str | None = None
    header_filter: str | None = None

    @property
    def is_preview(self) -> bool:
        # crd.rs PREVIEW_SESSION_USER: preview environments folded into the list.
        return self.user == "preview-env"


@dataclass(frozen=True, slots=True)
class MirrordOperator:
    """The parts of the operator object the preflight rules read."""

    operator_version: Version
    default_namespace: str
    license: License
    supported_features: frozenset[str]
    """Derived as `MirrordOperatorSpec::supported_features()` derives it."""
    protocol_version: str | None = None
    operator_namespace: str | None = None
    advertises_features: bool = True
    """False when `spec.supported_features` is absent (an operator older than the field)."""
    sessions: tuple[Session, ...] | None = None
    """None when the object has no `status`."""

    def supports(self, feature: str) -> bool:
        return feature in self.supported_features


@dataclass(frozen=True, slots=True)
class InvalidOperator:
    """An answer mirrord cannot deserialize: it stops with a `finding operator` error."""

    problems: tuple[str, ...]
    """One sentence per field, `spec.license.expire_at: ...` style."""


@dataclass
class _Reader:
    problems: list[str] = field(default_factory=list)

    def fail(self, path: str, what: str) -> None:
        self.problems.append(f"{path}: {what}" if path else what)

    def obj(self, parent: dict[str, Any], key: str, path: str, *, required: bool) -> Any:
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, "missing" if key not in parent else "null where an object belongs")
            return None
        if not isinstance(value, dict):
            self.fail(path, f"{_kind(value)} where an object belongs")
            return None
        return value

    def string(self, parent: dict[str, Any], key: str, path: str, *, required: bool) -> Any:
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, "missing" if key not in parent else "null where a string belongs")
            return None
        if not isinstance(value, str):
            self.fail(path, f"{_kind(value)} where a string belongs")
            return None
        return value

    def integer(
        self, parent: dict[str, Any], key: str, path: str, *, required: bool, maximum: int
    ) -> Any:
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, "missing" if key not in parent else "null where a number belongs")
            return None
        if not _uint(value, maximum):
            self.fail(path, f"{_show(value)} is not a whole number from 0 to {maximum}")
            return None
        return value

    def boolean(self, parent: dict[str, Any], key: str, path: str) -> Any:
        value = parent.get(key)
        if value is not None and not isinstance(value, bool):
            self.fail(path, f"{_kind(value)} where true or false belongs")
            return None
        return value

    def array(self, parent: dict[str, Any], key: str, path: str, *, required: bool) -> Any:
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, "missing" if key not in parent else "null where a list belongs")
            return None
        if not isinstance(value, list):
            self.fail(path, f"{_kind(value)} where a list belongs")
            return None
        return value


_U16, _U64 = 2**16 - 1, 2**64 - 1


def _uint(value: Any, maximum: int) -> bool:
    # serde_json hands u64/u16 only non-negative integers; 1.0 and true are type errors.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 40 else text[:37] + "..."


def _feature_name(r: _Reader, item: Any, path: str) -> str | None:
    """A serde unit-variant name: a string, or a one-key map whose value is null."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and len(item) == 1:
        ((name, value),) = item.items()
        if value is None:
            return str(name)
    r.fail(path, f"{_kind(item)} where a feature name belongs")
    return None


def _supported_features(r: _Reader, spec: dict[str, Any]) -> tuple[frozenset[str], bool]:
    """crd.rs `MirrordOperatorSpec::supported_features`: the new list when present; else the
    deprecated `features` plus CopyTarget when `copy_target_enabled`; else nothing."""
    legacy: list[str] = []
    raw_legacy = r.array(spec, "features", "spec.features", required=False)
    for i, item in enumerate(raw_legacy or ()):
        name = _feature_name(r, item, f"spec.features[{i}]")
        if name is None:
            continue
        if name not in LEGACY_FEATURES:
            # No `#[serde(other)]` on OperatorFeatures: "DON'T ADD VARIANTS" (crd.rs).
            r.fail(f"spec.features[{i}]", f'"{name}" is not a feature this list may hold')
            continue
        legacy.append(name)
    copy_target_enabled = r.boolean(spec, "copy_target_enabled", "spec.copy_target_enabled")
    raw_new = r.array(spec, "supported_features", "spec.supported_features", required=False)
    if raw_new is not None:
        names = [
            _feature_name(r, item, f"spec.supported_features[{i}]")
            for i, item in enumerate(raw_new)
        ]
        # Unknown names deserialize to NewOperatorFeature::Unknown (`#[serde(other)]`).
        return frozenset(n for n in names if n is not None), True
    if raw_legacy is not None:
        derived = set(legacy)
        if copy_target_enabled is True:
            derived.add("CopyTarget")
        return frozenset(derived), False
    return frozenset(), False


def _license(r: _Reader, spec: dict[str, Any]) -> License | None:
    lic = r.obj(spec, "license", "spec.license", required=True)
    if lic is None:
        return None
    name = r.string(lic, "name", "spec.license.name", required=True)
    organization = r.string(lic, "organization", "spec.license.organization", required=True)
    expire_text = r.string(lic, "expire_at", "spec.license.expire_at", required=True)
    fingerprint = r.string(lic, "fingerprint", "spec.license.fingerprint", required=False)
    subscription = r.string(lic, "subscription_id", "spec.license.subscription_id", required=False)
    expire_at = None
    if expire_text is not None:
        expire_at = parse_naive_date(expire_text)
        if expire_at is None:
            r.fail("spec.license.expire_at", f"{_show(expire_text)} is not a date (YYYY-MM-DD)")
    if name is None or organization is None or expire_at is None:
        return None
    return License(name, organization, expire_at, expire_text, fingerprint, subscription)


def _locked_port(r: _Reader, item: Any, path: str) -> LockedPort | None:
    # crd.rs `LockedPortCompat` (untagged): {port, kind, filter?} or [port, kind, filter].
    if isinstance(item, dict):
        port = r.integer(item, "port", f"{path}.port", required=True, maximum=_U16)
        kind = r.string(item, "kind", f"{path}.kind", required=True)
        flt = r.string(item, "filter", f"{path}.filter", required=False)
        return LockedPort(port, kind, flt) if port is not None and kind is not None else None
    if (
        isinstance(item, list)
        and len(item) == 3
        and _uint(item[0], _U16)
        and isinstance(item[1], str)
        and (item[2] is None or isinstance(item[2], str))
    ):
        return LockedPort(item[0], item[1], item[2])
    r.fail(path, "neither {port, kind, filter} nor [port, kind, filter]")
    return None


def _session(r: _Reader, item: Any, path: str) -> Session | None:
    if not isinstance(item, dict):
        r.fail(path, f"{_kind(item)} where a session object belongs")
        return None
    before = len(r.problems)
    duration = r.integer(
        item, "duration_secs", f"{path}.duration_secs", required=True, maximum=_U64
    )
    user = r.string(item, "user", f"{path}.user", required=True)
    target = r.string(item, "target", f"{path}.target", required=True)
    sid = r.string(item, "id", f"{path}.id", required=False)
    namespace = r.string(item, "namespace", f"{path}.namespace", required=False)
    key = r.string(item, "key", f"{path}.key", required=False)
    r.string(item, "user_id", f"{path}.user_id", required=False)
    for name in ("sqs", "rmq", "kafka"):
        r.array(item, name, f"{path}.{name}", required=False)
    ports: list[LockedPort] = []
    for i, raw in enumerate(
        r.array(item, "locked_ports", f"{path}.locked_ports", required=False) or ()
    ):
        port = _locked_port(r, raw, f"{path}.locked_ports[{i}]")
        if port is not None:
            ports.append(port)
    header_filter = None
    http_filter = r.obj(item, "http_filter", f"{path}.http_filter", required=False)
    if http_filter is not None:
        header_filter = r.string(
            http_filter, "headerFilter", f"{path}.http_filter.headerFilter", required=False
        )
    if len(r.problems) > before:
        return None
    return Session(duration, user, target, sid, namespace, tuple(ports), key, header_filter)


def _status(r: _Reader, doc: dict[str, Any]) -> tuple[Session, ...] | None:
    status = r.obj(doc, "status", "status", required=False)
    if status is None:
        return None
    # crd.rs `MirrordOperatorStatus`: `sessions: Vec<Session>` has no serde default.
    raw_sessions = r.array(status, "sessions", "status.sessions", required=True)
    sessions = [_session(r, s, f"status.sessions[{i}]") for i, s in enumerate(raw_sessions or ())]
    stats = r.obj(status, "statistics", "status.statistics", required=False)
    if stats is not None:
        r.integer(stats, "dau", "status.statistics.dau", required=True, maximum=_U64)
        r.integer(stats, "mau", "status.statistics.mau", required=True, maximum=_U64)
        for name in ("active_ci_sessions_count", "active_preview_sessions_count"):
            r.integer(stats, name, f"status.statistics.{name}", required=False, maximum=_U64)
    for name in ("copy_targets", "connected_clusters", "multi_cluster_sessions"):
        r.array(status, name, f"status.{name}", required=False)
    if "preview_sessions" in status and not isinstance(status["preview_sessions"], list):
        # `#[serde(default)] Vec`: absent is fine, null or another type is not.
        r.fail(
            "status.preview_sessions", f"{_kind(status['preview_sessions'])} where a list belongs"
        )
    return tuple(s for s in sessions if s is not None)


def parse_operator(doc: Any) -> MirrordOperator | InvalidOperator:
    """Read a `GET .../mirrordoperators/operator` body (already JSON-decoded; None when the
    body was not JSON) as mirrord would."""
    if not isinstance(doc, dict):
        what = (
            "the answer is not JSON"
            if doc is None
            else f"the answer is {_kind(doc)}, not an object"
        )
        return InvalidOperator((what,))
    r = _Reader()
    r.obj(doc, "metadata", "metadata", required=True)
    spec = r.obj(doc, "spec", "spec", required=True)
    if spec is None:
        _status(r, doc)
        return InvalidOperator(tuple(r.problems))
    version_text = r.string(spec, "operator_version", "spec.operator_version", required=True)
    version = None
    if version_text is not None:
        version = parse_version(version_text)
        if version is None:
            r.fail(
                "spec.operator_version", f"{_show(version_text)} is not a semantic version (X.Y.Z)"
            )
    default_ns = r.string(spec, "default_namespace", "spec.default_namespace", required=True)
    protocol = r.string(spec, "protocol_version", "spec.protocol_version", required=False)
    operator_ns = r.string(spec, "operator_namespace", "spec.operator_namespace", required=False)
    features, advertised = _supported_features(r, spec)
    lic = _license(r, spec)
    sessions = _status(r, doc)
    if r.problems or version is None or default_ns is None or lic is None:
        return InvalidOperator(tuple(r.problems))
    return MirrordOperator(
        operator_version=version,
        default_namespace=default_ns,
        license=lic,
        supported_features=features,
        protocol_version=protocol,
        operator_namespace=operator_ns,
        advertises_features=advertised,
        sessions=sessions,
    )
