"""The `profile` field: the mirrord profile mirrord fetches and applies before anything else.

`apply_profile_if_configured` (`mirrord/cli/src/profile.rs`) runs for every
run, with or without the operator: a name without `/` is a cluster-wide
`MirrordClusterProfile`, `ns/name` a `MirrordProfile` in `ns` (both
`profiles.mirrord.metalbear.co/v1alpha`, `mirrord/operator/src/crd/profile.rs`).
A 404 stops mirrord ("mirrord profile was not found in the cluster"), any other
error too ("failed to fetch the mirrord profile: ..."), and so do unknown
fields or values in the profile and a namespaced profile that disagrees with
`target.namespace`. Rules: `profile-not-found`, `profile-forbidden`,
`profile-invalid`. The fact: one GET of the profile (the same request mirrord
makes), cached and shared.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mirrord_ls.cluster.preflight import RuleFinding
from mirrord_ls.cluster.preflight.settings import IncomingMode, OperatorSettings

GROUP = "profiles.mirrord.metalbear.co"
VERSION = "v1alpha"
SOURCE = "mirrord/cli/src/profile.rs apply_profile_if_configured, fetch_profile, apply_profile"

# crd/profile.rs `FeatureChange` (kebab-case); anything else is `Unknown` -> UnknownVariant.
INCOMING_CHANGES: dict[str, IncomingMode] = {
    "incoming-mirror": "mirror",
    "incoming-steal": "steal",
    "incoming-off": "off",
}
OTHER_CHANGES = frozenset({"dns-remote", "dns-off", "outgoing-remote", "outgoing-off"})


@dataclass(frozen=True, slots=True)
class ProfileRef:
    name: str
    namespace: str | None = None
    """None: a cluster-wide MirrordClusterProfile."""

    @property
    def path(self) -> str:
        """The GET mirrord makes (and mirrord-ls makes in its place)."""
        if self.namespace is None:
            return f"/apis/{GROUP}/{VERSION}/mirrordclusterprofiles/{self.name}"
        return f"/apis/{GROUP}/{VERSION}/namespaces/{self.namespace}/mirrordprofiles/{self.name}"

    @property
    def resource(self) -> str:
        return "mirrordclusterprofiles" if self.namespace is None else "mirrordprofiles"

    def __str__(self) -> str:
        return self.name if self.namespace is None else f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ProfileAnswer:
    """What the profile GET got: an HTTP status and, for 2xx, the decoded JSON body; or
    `status` None when no HTTP answer came (the cluster verdict reports that)."""

    status: int | None
    body: Any = None


def profile_ref(settings: OperatorSettings) -> ProfileRef | None:
    """profile.rs `ProfileIdentifier::from_str`: `split_once('/')` (so `a/b/c` is profile
    `b/c` in namespace `a`, and `/p` names the empty namespace)."""
    if settings.profile is None:
        return None
    namespace, sep, name = settings.profile.partition("/")
    return ProfileRef(name, namespace) if sep else ProfileRef(settings.profile)


@dataclass(frozen=True, slots=True)
class _Read:
    problem: str | None
    """What mirrord says about the profile, when it refuses it."""
    changes: tuple[str, ...] = ()


def _read(profile: Any) -> _Read:
    """A profile body as serde (crd/profile.rs) and profile.rs `apply_profile` /
    `FeatureAdjustmentExt::apply_to` read it: `spec.featureAdjustments` is a required
    list of `{change}`; other fields land in `unknown_fields` and are refused."""
    spec = profile.get("spec") if isinstance(profile, dict) else None
    adjustments = spec.get("featureAdjustments") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or not isinstance(adjustments, list):
        return _Read('"failed to fetch the mirrord profile: ..." (no spec.featureAdjustments list)')
    for i, adj in enumerate(adjustments):
        if not isinstance(adj, dict) or not isinstance(adj.get("change"), str):
            return _Read(
                f'"failed to fetch the mirrord profile: ..." (spec.featureAdjustments[{i}]'
                " has no change)"
            )
    extra = [k for k in spec if k != "featureAdjustments"]
    if extra:
        return _Read(f'"mirrord profile contains an unknown field `{extra[0]}`"')
    changes = []
    for adj in adjustments:
        others = [k for k in adj if k != "change"]
        if others:
            return _Read(f'"mirrord profile contains an unknown field `{others[0]}`"')
        if adj["change"] not in INCOMING_CHANGES and adj["change"] not in OTHER_CHANGES:
            return _Read(f'"mirrord profile contains an unknown value" (change "{adj["change"]}")')
        changes.append(adj["change"])
    return _Read(None, tuple(changes))


def apply_profile(
    settings: OperatorSettings, ref: ProfileRef | None, answer: ProfileAnswer | None
) -> OperatorSettings:
    """The settings mirrord goes on with once the profile applied: a namespaced profile
    fills an unset `target.namespace`; incoming changes set the mode (profile.rs)."""
    if ref is None or answer is None or answer.status is None or not 200 <= answer.status < 300:
        return settings
    read = _read(answer.body)
    if read.problem is not None:
        return settings
    if ref.namespace is not None and settings.target_namespace is None:
        settings = dataclasses.replace(settings, target_namespace=ref.namespace)
    for change in read.changes:
        if change in INCOMING_CHANGES:
            incoming = dataclasses.replace(settings.incoming, mode=INCOMING_CHANGES[change])
            settings = dataclasses.replace(settings, incoming=incoming)
    return settings


def profile_rules(
    settings: OperatorSettings, ref: ProfileRef | None, answer: ProfileAnswer | None
) -> list[RuleFinding]:
    """`profile-not-found`, `profile-forbidden`, `profile-invalid`, whatever `operator` says.

    Reads: one GET of the profile (`ProfileRef.path`).
    """
    if ref is None or answer is None or answer.status is None:
        return []
    kind = (
        "cluster-wide profile (mirrordclusterprofiles)"
        if ref.namespace is None
        else f'profile in namespace "{ref.namespace}" (mirrordprofiles)'
    )
    at = ("profile",)
    if answer.status == 404:
        look = (
            "kubectl get mirrordclusterprofiles"
            if ref.namespace is None
            else f"kubectl get mirrordprofiles -n {ref.namespace}"
        )
        return [
            RuleFinding(
                "profile-not-found",
                "error",
                f'The mirrord {kind} "{ref.name}" does not exist in this cluster: mirrord will'
                ' stop with "mirrord profile was not found in the cluster". Fix: check the name'
                f" (`{look}`), or remove `profile`.",
                at=at,
                mirrord_source=SOURCE,
            )
        ]
    if answer.status == 403:
        permission = f"get {ref.resource}.{GROUP}"
        return [
            RuleFinding(
                "profile-forbidden",
                "error",
                f'RBAC forbids you to `{permission}`, so mirrord cannot read the {kind} "'
                f'{ref.name}": it will stop with "failed to fetch the mirrord profile: ...".'
                " Fix: a cluster admin binds ClusterRole `mirrord-operator-user` to you.",
                at=at,
                mirrord_source=SOURCE,
                data={
                    "missing": permission,
                    "namespace": ref.namespace,
                    "bindingScope": "cluster" if ref.namespace is None else "namespace",
                },
            )
        ]
    if not 200 <= answer.status < 300:
        return []  # a server failure: the cluster verdict and the operator checks say it
    problem = _read(answer.body).problem
    if (
        problem is None
        and ref.namespace is not None
        and settings.target_namespace is not None
        and settings.target_namespace != ref.namespace
    ):
        return [
            RuleFinding(
                "profile-invalid",
                "error",
                f'The profile "{ref}" lives in namespace "{ref.namespace}" but'
                f' `target.namespace` is "{settings.target_namespace}": mirrord will stop'
                ' with "mirrord profile must be cluster-wide or in the same namespace as'
                f' the target ({settings.target_namespace})". Fix: use a profile from'
                " that namespace or a cluster-wide one, or change `target.namespace`.",
                at=at,
                mirrord_source=SOURCE,
            )
        ]
    if problem is None:
        return []
    return [
        RuleFinding(
            "profile-invalid",
            "error",
            f'The mirrord {kind} "{ref.name}" is not one this mirrord can apply: mirrord will'
            f" stop with {problem}. Fix: upgrade mirrord, or ask the profile's author to fix"
            " it.",
            at=at,
            mirrord_source=SOURCE,
        )
    ]
