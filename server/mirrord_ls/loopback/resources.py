"""The API resources the loopback server serves, as discovery describes them.

One catalog feeds discovery documents, URL routing and the object store, so
that what `/apis/G/V` lists is exactly what a request can reach. The operator's
resources are kept apart because the operator's state decides whether they
are served at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

OPERATOR_GROUP = "operator.metalbear.co"
OPERATOR_VERSION = "v1"
PROFILES_GROUP = "profiles.mirrord.metalbear.co"
PROFILES_VERSION = "v1alpha"

_READ = ("get", "list", "watch")
_CRUD = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One entry of an `APIResourceList`; a name with a `/` is a subresource."""

    group: str
    version: str
    name: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # Built-in list items carry no apiVersion/kind in JSON; CRD and aggregated ones do.
    builtin: bool = True

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def is_subresource(self) -> bool:
        return "/" in self.name

    @property
    def plural(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def subresource(self) -> str:
        return self.name.split("/", 1)[1] if self.is_subresource else ""


def _core(
    name: str,
    kind: str,
    namespaced: bool,
    verbs: tuple[str, ...],
    *,
    singular: str = "",
    short_names: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType(
        "",
        "v1",
        name,
        kind,
        namespaced,
        verbs,
        singular=singular,
        short_names=short_names,
        categories=categories,
    )


def _apps(name: str, kind: str, short: tuple[str, ...]) -> ResourceType:
    return ResourceType(
        "apps",
        "v1",
        name,
        kind,
        True,
        _CRUD,
        singular=kind.lower(),
        short_names=short,
        categories=("all",),
    )


BUILTIN_RESOURCES: tuple[ResourceType, ...] = (
    _core("namespaces", "Namespace", False, _CRUD, singular="namespace", short_names=("ns",)),
    _core(
        "pods",
        "Pod",
        True,
        _CRUD,
        singular="pod",
        short_names=("po",),
        categories=("all",),
    ),
    _core("nodes", "Node", False, _CRUD, singular="node", short_names=("no",)),
    _core("pods/log", "Pod", True, ("get",)),
    _core("pods/portforward", "PodPortForwardOptions", True, ("create", "get")),
    _core("pods/ephemeralcontainers", "Pod", True, ("get", "patch", "update")),
    _core("pods/status", "Pod", True, ("get", "patch", "update")),
    _core(
        "services",
        "Service",
        True,
        _CRUD,
        singular="service",
        short_names=("svc",),
        categories=("all",),
    ),
    _apps("deployments", "Deployment", ("deploy",)),
    ResourceType("apps", "v1", "deployments/scale", "Scale", True, ("get", "patch", "update")),
    _apps("statefulsets", "StatefulSet", ("sts",)),
    _apps("replicasets", "ReplicaSet", ("rs",)),
    ResourceType("batch", "v1", "jobs", "Job", True, _CRUD, singular="job", categories=("all",)),
    ResourceType(
        "batch",
        "v1",
        "cronjobs",
        "CronJob",
        True,
        _CRUD,
        singular="cronjob",
        short_names=("cj",),
        categories=("all",),
    ),
    ResourceType(
        "argoproj.io",
        "v1alpha1",
        "rollouts",
        "Rollout",
        True,
        _CRUD,
        singular="rollout",
        short_names=("ro",),
        builtin=False,
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        ("create",),
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
        False,
        ("create",),
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "localsubjectaccessreviews",
        "LocalSubjectAccessReview",
        True,
        ("create",),
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "subjectaccessreviews",
        "SubjectAccessReview",
        False,
        ("create",),
    ),
    ResourceType(
        "authentication.k8s.io",
        "v1",
        "selfsubjectreviews",
        "SelfSubjectReview",
        False,
        ("create",),
    ),
    ResourceType("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, ("create",)),
)


def _op(
    name: str, kind: str, namespaced: bool, verbs: tuple[str, ...], *, singular: str = ""
) -> ResourceType:
    return ResourceType(
        OPERATOR_GROUP, OPERATOR_VERSION, name, kind, namespaced, verbs, singular, builtin=False
    )


# What the operator's aggregated API lists at /apis/operator.metalbear.co/v1.
OPERATOR_RESOURCES: tuple[ResourceType, ...] = (
    _op("mirrordoperators", "MirrordOperator", False, ("get", "list"), singular="mirrordoperator"),
    _op("mirrordoperators/certificate", "MirrordOperator", False, ("create",)),
    _op(
        "mirrordclusteroperatorusercredentials",
        "MirrordClusterOperatorUserCredential",
        False,
        ("create",),
        singular="mirrordclusteroperatorusercredential",
    ),
    _op("targets", "Target", True, ("get", "list"), singular="target"),
    _op("targets/port-locks", "Target", True, ("get",)),
    _op("copytargets", "CopyTarget", True, ("create", "get", "list"), singular="copytarget"),
    _op("sessions", "Session", False, ("delete", "deletecollection", "get", "list")),
)

# The chart's CRD beside the aggregated API: installed with the operator, not proxied.
PROFILE_RESOURCES: tuple[ResourceType, ...] = (
    ResourceType(
        PROFILES_GROUP,
        PROFILES_VERSION,
        "mirrordclusterprofiles",
        "MirrordClusterProfile",
        False,
        _READ,
        singular="mirrordclusterprofile",
        builtin=False,
    ),
    ResourceType(
        PROFILES_GROUP,
        PROFILES_VERSION,
        "mirrordprofiles",
        "MirrordProfile",
        True,
        _READ,
        singular="mirrordprofile",
        builtin=False,
    ),
)


# OpenShift's route group: mirrord looks for it (`detect_openshift`); served on request.
OPENSHIFT_RESOURCES: tuple[ResourceType, ...] = (
    ResourceType(
        "route.openshift.io",
        "v1",
        "routes",
        "Route",
        True,
        _CRUD,
        singular="route",
        builtin=False,
    ),
)
EPHEMERAL_CONTAINERS = "pods/ephemeralcontainers"


def group_versions(resources: Iterable[ResourceType]) -> dict[str, list[str]]:
    """Group name → versions, in first-seen order (the order discovery lists them)."""
    out: dict[str, list[str]] = {}
    for rt in resources:
        versions = out.setdefault(rt.group, [])
        if rt.version not in versions:
            versions.append(rt.version)
    return out
