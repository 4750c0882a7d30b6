"""Role-based access control with Kubernetes RBAC's matching rules.

Roles hold `PolicyRule`s; bindings give a role to users and groups, across the
cluster (ClusterRoleBinding) or in one namespace (RoleBinding). The matching
follows the RBAC authorizer: `*` wildcards, `*/sub` subresource wildcards,
`resourceNames` that only ever match named requests, and non-resource URLs
with a trailing `*`. Every authenticated user gets `system:discovery` and
`system:basic-user`, as a fresh cluster does.

Grants and revocations may happen while requests are served, so every
method takes the one lock.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mirrord_ls.loopback.resources import OPERATOR_GROUP, PROFILES_GROUP

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"


@dataclass(frozen=True)
class UserInfo:
    """Who a request runs as: what authentication produced."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""


@dataclass(frozen=True)
class PolicyRule:
    """One rule of a Role or ClusterRole. Either resource or non-resource, not both."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The rule as SelfSubjectRulesReview spells it (resource or non-resource form)."""
        if self.non_resource_urls:
            return {"verbs": list(self.verbs), "nonResourceURLs": list(self.non_resource_urls)}
        out: dict[str, Any] = {
            "verbs": list(self.verbs),
            "apiGroups": list(self.api_groups),
            "resources": list(self.resources),
        }
        if self.resource_names:
            out["resourceNames"] = list(self.resource_names)
        return out


def rule(
    verbs: Iterable[str],
    resources: Iterable[str] = (),
    *,
    groups: Iterable[str] = ("",),
    names: Iterable[str] = (),
) -> PolicyRule:
    """Shorthand for a resource rule: `rule(["get"], ["pods"])` (core group by default)."""
    return PolicyRule(
        verbs=tuple(verbs),
        api_groups=tuple(groups),
        resources=tuple(resources),
        resource_names=tuple(names),
    )


@dataclass(frozen=True)
class Attributes:
    """What a request asks for, as the authorizer sees it (Kubernetes' RequestInfo)."""

    verb: str
    resource_request: bool
    path: str = ""
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


@dataclass
class _Role:
    name: str
    namespace: str | None  # None: a ClusterRole
    rules: list[PolicyRule]


@dataclass
class _Binding:
    name: str
    namespace: str | None  # None: a ClusterRoleBinding
    role_kind: str  # "ClusterRole" or "Role"
    role_name: str
    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)

    def subject_for(self, user: UserInfo) -> str | None:
        """The subject the user matched by, worded as the RBAC allow reason words it."""
        if user.name in self.users:
            return f'User "{user.name}"'
        for group in user.groups:
            if group in self.groups:
                return f'Group "{group}"'
        return None


DISCOVERY_RULES = (
    PolicyRule(
        verbs=("get",),
        non_resource_urls=(
            "/api",
            "/api/*",
            "/apis",
            "/apis/*",
            "/healthz",
            "/livez",
            "/openapi",
            "/openapi/*",
            "/readyz",
            "/version",
            "/version/",
        ),
    ),
)

BASIC_USER_RULES = (
    rule(
        ["create"],
        ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
        groups=["authorization.k8s.io"],
    ),
    rule(["create"], ["selfsubjectreviews"], groups=["authentication.k8s.io"]),
)

# ClusterRole `mirrord-operator-user` of the operator's Helm chart (`mirrord-operator.rules`
# and `mirrord-operator.clusterRules` in its `_helpers.tpl`).
MIRRORD_OPERATOR_USER = "mirrord-operator-user"
MIRRORD_OPERATOR_USER_RULES = (
    rule(
        ["get", "list"], ["copytargets", "targets", "targets/port-locks"], groups=[OPERATOR_GROUP]
    ),
    rule(["create"], ["copytargets"], groups=[OPERATOR_GROUP]),
    rule(["proxy"], ["targets", "copytargets"], groups=[OPERATOR_GROUP]),
    rule(["deletecollection", "delete"], ["sessions"], groups=[OPERATOR_GROUP]),
    rule(["get", "list"], ["mirrordprofiles"], groups=[PROFILES_GROUP]),
    rule(["get", "list"], ["mirrordoperators"], groups=[OPERATOR_GROUP]),
    rule(["create"], ["mirrordoperators/certificate"], groups=[OPERATOR_GROUP]),
    rule(["get", "list"], ["mirrordclusterprofiles"], groups=[PROFILES_GROUP]),
    rule(["create"], ["mirrordclusteroperatorusercredentials"], groups=[OPERATOR_GROUP]),
)


def _has(values: Iterable[str], wanted: str) -> bool:
    return any(v == "*" or v == wanted for v in values)


def _resource_matches(rule_: PolicyRule, resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for r in rule_.resources:
        if r in ("*", combined):
            return True
        if subresource and r == f"*/{subresource}":
            return True
    return False


def _url_matches(rule_: PolicyRule, path: str) -> bool:
    for url in rule_.non_resource_urls:
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(rule_: PolicyRule, attrs: Attributes) -> bool:
    """True when this one rule covers the request."""
    if not _has(rule_.verbs, attrs.verb):
        return False
    if not attrs.resource_request:
        return _url_matches(rule_, attrs.path)
    if rule_.non_resource_urls:
        return False
    if not _has(rule_.api_groups, attrs.group):
        return False
    if not _resource_matches(rule_, attrs.resource, attrs.subresource):
        return False
    # Listing or creating has no name, so a resourceNames rule never covers it.
    return not rule_.resource_names or attrs.name in rule_.resource_names


class Rbac:
    """Roles and bindings of one cluster; safe to change while requests are served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._roles: dict[tuple[str | None, str], _Role] = {}
        self._bindings: dict[tuple[str | None, str], _Binding] = {}
        self._ids = itertools.count(1)
        self.add_cluster_role("system:discovery", DISCOVERY_RULES)
        self.add_cluster_role("system:basic-user", BASIC_USER_RULES)
        self.bind_cluster_role("system:discovery", groups=[AUTHENTICATED], name="system:discovery")
        self.bind_cluster_role(
            "system:basic-user", groups=[AUTHENTICATED], name="system:basic-user"
        )

    # -- roles -------------------------------------------------------------------

    def add_cluster_role(self, name: str, rules: Iterable[PolicyRule]) -> None:
        """Create or replace a ClusterRole."""
        with self._lock:
            self._roles[(None, name)] = _Role(name, None, list(rules))

    def add_role(self, namespace: str, name: str, rules: Iterable[PolicyRule]) -> None:
        """Create or replace a Role in one namespace."""
        with self._lock:
            self._roles[(namespace, name)] = _Role(name, namespace, list(rules))

    # -- bindings ----------------------------------------------------------------

    def bind_cluster_role(
        self,
        role: str,
        *,
        users: Iterable[str] = (),
        groups: Iterable[str] = (),
        namespace: str | None = None,
        name: str | None = None,
    ) -> str:
        """Bind a ClusterRole cluster-wide, or only in `namespace` (a RoleBinding to it).

        Returns the binding's name, which `unbind` takes.
        """
        return self._bind("ClusterRole", role, users, groups, namespace, name)

    def bind_role(
        self,
        namespace: str,
        role: str,
        *,
        users: Iterable[str] = (),
        groups: Iterable[str] = (),
        name: str | None = None,
    ) -> str:
        """Bind a namespaced Role (a RoleBinding in the role's namespace)."""
        return self._bind("Role", role, users, groups, namespace, name)

    def _bind(
        self,
        role_kind: str,
        role: str,
        users: Iterable[str],
        groups: Iterable[str],
        namespace: str | None,
        name: str | None,
    ) -> str:
        with self._lock:
            binding_name = name or f"{role}-binding-{next(self._ids)}"
            self._bindings[(namespace, binding_name)] = _Binding(
                binding_name, namespace, role_kind, role, set(users), set(groups)
            )
            return binding_name

    def unbind(self, name: str, namespace: str | None = None) -> bool:
        """Delete a binding; True if it existed."""
        with self._lock:
            return self._bindings.pop((namespace, name), None) is not None

    def grant(self, user: str, rules: Sequence[PolicyRule], *, namespace: str | None = None) -> str:
        """Give one user some rules through a fresh role and binding; returns the binding name."""
        with self._lock:
            role_name = f"grant-{next(self._ids)}"
        if namespace is None:
            self.add_cluster_role(role_name, rules)
            return self.bind_cluster_role(role_name, users=[user], name=role_name)
        self.add_role(namespace, role_name, rules)
        return self.bind_role(namespace, role_name, users=[user], name=role_name)

    def revoke_user(self, user: str) -> int:
        """Remove the user from every binding (groups keep theirs); returns how many changed."""
        with self._lock:
            changed = 0
            for binding in self._bindings.values():
                if user in binding.users:
                    binding.users.discard(user)
                    changed += 1
            return changed

    # -- decisions ---------------------------------------------------------------

    def _applicable(self, user: UserInfo, namespace: str) -> list[tuple[_Binding, _Role, str]]:
        """Bindings that name the user and apply in `namespace` ("" = cluster scope)."""
        out = []
        for binding in self._bindings.values():
            if binding.namespace is not None and binding.namespace != namespace:
                continue
            subject = binding.subject_for(user)
            if subject is None:
                continue
            role_ns = binding.namespace if binding.role_kind == "Role" else None
            role = self._roles.get((role_ns, binding.role_name))
            if role is not None:
                out.append((binding, role, subject))
        return out

    def authorize(self, user: UserInfo, attrs: Attributes) -> Decision:
        """Allow when any applicable rule covers the request; RBAC never denies outright."""
        namespace = attrs.namespace if attrs.resource_request else ""
        with self._lock:
            for binding, role, subject in self._applicable(user, namespace):
                if any(rule_allows(r, attrs) for r in role.rules):
                    return Decision(True, _allow_reason(binding, role, subject))
        return Decision(False, "")

    def rules_for(
        self, user: UserInfo, namespace: str
    ) -> tuple[list[PolicyRule], list[PolicyRule]]:
        """(resource rules, non-resource rules) the user holds in a namespace."""
        resource: list[PolicyRule] = []
        non_resource: list[PolicyRule] = []
        with self._lock:
            for _binding, role, _subject in self._applicable(user, namespace):
                for r in role.rules:
                    (non_resource if r.non_resource_urls else resource).append(r)
        return resource, non_resource


def _allow_reason(binding: _Binding, role: _Role, subject: str) -> str:
    if binding.namespace is None:
        where = f'ClusterRoleBinding "{binding.name}"'
    else:
        where = f'RoleBinding "{binding.name}/{binding.namespace}"'
    return f'RBAC: allowed by {where} of {binding.role_kind} "{role.name}" to {subject}'


def install_mirrord_operator_user(
    rbac: Rbac, *, users: Iterable[str] = (), groups: Iterable[str] = ()
) -> str:
    """Create the chart's `mirrord-operator-user` ClusterRole and bind it cluster-wide.

    The chart binds it to nobody; this is the admin's step. Returns the binding name.
    """
    rbac.add_cluster_role(MIRRORD_OPERATOR_USER, MIRRORD_OPERATOR_USER_RULES)
    return rbac.bind_cluster_role(MIRRORD_OPERATOR_USER, users=users, groups=groups)
