"""RBAC on the operator's API after discovery: the user certificate and the session.

mirrord asks the operator for a user certificate (`get_client_certificate`,
`mirrord/operator/src/client.rs`, through `auth/src/credential_store.rs` and
`credentials.rs`), then connects to the target through the operator
(`connect_in_new_session`, `target_connect_url`, `copy_target`). Each step is
an API call RBAC may refuse; a `SelfSubjectAccessReview` per step predicts it
without touching the operator. :func:`access_checks` lists the reviews the
rules need (for the fact store to ask, once, shared); :func:`access_rules`
judges their answers: `certificate-forbidden`, `session-forbidden`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mirrord_ls.cluster.preflight import RuleFinding
from mirrord_ls.cluster.preflight.operator_object import MirrordOperator
from mirrord_ls.cluster.preflight.settings import OperatorSettings

GROUP = "operator.metalbear.co"
RBAC_DOCS = "https://metalbear.com/mirrord/docs/managing-mirrord/roles/"


@dataclass(frozen=True, slots=True)
class AccessCheck:
    """One `SelfSubjectAccessReview` question (spec.resourceAttributes)."""

    verb: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    group: str = GROUP
    version: str = "v1"

    def review_body(self) -> dict[str, Any]:
        """The body to POST to `/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`."""
        attrs = {
            "group": self.group,
            "version": self.version,
            "resource": self.resource,
            "verb": self.verb,
        }
        for key in ("subresource", "namespace", "name"):
            if getattr(self, key):
                attrs[key] = getattr(self, key)
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attrs},
        }

    @property
    def permission(self) -> str:
        """e.g. `create mirrordoperators/certificate.operator.metalbear.co`."""
        sub = f"/{self.subresource}" if self.subresource else ""
        return f"{self.verb} {self.resource}{sub}.{self.group}"

    @property
    def scope(self) -> str:
        return f'in namespace "{self.namespace}"' if self.namespace else "cluster-wide"


def certificate_check(operator: MirrordOperator) -> AccessCheck:
    """credential_store.rs `get_or_init`: `Credentials::init_regular` (a create of a
    MirrordClusterOperatorUserCredential) when the operator has ExtendableUserCredentials,
    else `Credentials::init` (create of the `certificate` subresource of `operator`)."""
    if operator.supports("ExtendableUserCredentials"):
        return AccessCheck("create", "mirrordclusteroperatorusercredentials")
    return AccessCheck("create", "mirrordoperators", subresource="certificate", name="operator")


def copy_reason(operator: MirrordOperator, settings: OperatorSettings) -> str | None:
    """Why mirrord will copy the target, as far as the config decides it
    (client.rs `should_copy_target` / `should_copy_target_mc`); None: no copy. An empty
    deployment also gets copied, which only the workload tells (not judged here)."""
    if settings.copy_target:
        return "`copy_target` is on"
    if settings.target is not None and settings.target.kind in ("job", "cronjob"):
        return "a Job or CronJob target"
    if any(q.queue_type == "SQS" and q.message_filter for q in settings.split_queues):
        if not operator.supports("SqsQueueSplittingDirect"):
            return "SQS splitting"
    if any(q.queue_type == "Kafka" for q in settings.split_queues):
        if not operator.supports("KafkaQueueSplittingDirect"):
            return "Kafka splitting"
    return None


def connect_name(settings: OperatorSettings) -> str:
    """The `targets` name mirrord connects to (client.rs `target_connect_url`,
    `target_connect_url_from_config`): `<type>.<name>[.container.<c>]`, `label`, or
    `targetless`."""
    target = settings.target
    if target is None or target.kind == "targetless":
        return "targetless"
    if target.kind == "label":
        return "label"
    name = f"{target.kind}.{target.name}"
    return name + (f".container.{target.container}" if target.container else "")


def session_checks(
    operator: MirrordOperator, settings: OperatorSettings, namespace: str
) -> tuple[AccessCheck, ...]:
    """The requests that start the session, in the target's namespace.

    client.rs: `try_reuse_copy_target` lists copytargets, `copy_target` creates one, and
    `connect_target` opens `.../proxy/namespaces/{ns}/{plural}/{name}` when the operator
    has ProxyApi (RBAC verb `proxy`, Kubernetes' RequestInfo special verb) or GETs
    `.../namespaces/{ns}/{plural}/{name}` otherwise.
    """
    verb = "proxy" if operator.supports("ProxyApi") else "get"
    if copy_reason(operator, settings) is not None:
        return (
            AccessCheck("list", "copytargets", namespace=namespace),
            AccessCheck("create", "copytargets", namespace=namespace),
            AccessCheck(verb, "copytargets", namespace=namespace),
        )
    # The same name whether the target was resolved here or goes to a multi-cluster
    # primary unresolved (`target_connect_url_from_config`).
    return (AccessCheck(verb, "targets", namespace=namespace, name=connect_name(settings)),)


def access_checks(
    operator: MirrordOperator, settings: OperatorSettings, namespace: str
) -> tuple[AccessCheck, ...]:
    """Every review :func:`access_rules` reads, certificate first."""
    return (certificate_check(operator), *session_checks(operator, settings, namespace))


def _data(check: AccessCheck) -> dict[str, Any]:
    return {
        "missing": check.permission,
        "namespace": check.namespace or None,
        "resourceAttributes": check.review_body()["spec"]["resourceAttributes"],
        "bindingScope": "namespace" if check.namespace else "cluster",
        "docs": RBAC_DOCS,
    }


def access_rules(
    operator: MirrordOperator,
    settings: OperatorSettings,
    namespace: str,
    answers: Mapping[AccessCheck, bool | None],
) -> list[RuleFinding]:
    """`certificate-forbidden`, `session-forbidden` from the review answers (True: allowed,
    False: denied, None or absent: not known, so silent).

    Run only when the operator will be used. Reads: one SelfSubjectAccessReview per
    entry of :func:`access_checks` (1 for the certificate, 1 or 3 for the session).
    """
    found: list[RuleFinding] = []
    cert = certificate_check(operator)
    if answers.get(cert) is False:
        found.append(
            RuleFinding(
                "certificate-forbidden",
                "error",
                f"RBAC forbids you to `{cert.permission}` ({cert.scope}), which mirrord needs"
                " to get your user certificate from the operator: unless a certificate from an"
                ' earlier run is still valid, mirrord will stop with "Failed to prepare mirrord'
                ' operator client certificate" (and call it a bug). Fix: a cluster admin binds'
                f" ClusterRole `mirrord-operator-user` to you (see {RBAC_DOCS}).",
                mirrord_source="mirrord/operator/src/client.rs get_client_certificate;"
                " auth/src/credential_store.rs get_or_init",
                data=_data(cert),
            )
        )
    reason = copy_reason(operator, settings)
    for check in session_checks(operator, settings, namespace):
        if answers.get(check) is not False:
            continue
        # cli/src/error.rs `OperatorApiForbidden`: "mirrord operator rejected {operation}".
        operation = (
            "copying target"
            if check.verb in ("list", "create")
            else "creating a websocket connection"
        )
        if check.resource == "copytargets":
            step = {
                "list": "list existing copies of the target",
                "create": "copy the target",
            }.get(check.verb, "connect to the copied target")
            step += f" (mirrord copies it: {reason})"
            at = ("feature", "copy_target") if settings.copy_target else settings.target_at
        else:
            step, at = "start a session on the target", settings.target_at
        found.append(
            RuleFinding(
                "session-forbidden",
                "error",
                f"RBAC forbids you to `{check.permission}` {check.scope}, which mirrord needs"
                f' to {step}: mirrord will stop with "mirrord operator rejected {operation}: ...".'
                " Fix: a cluster admin binds"
                " ClusterRole `mirrord-operator-user` to you, in that namespace at least (see"
                f" {RBAC_DOCS}).",
                at=at,
                mirrord_source="mirrord/operator/src/client.rs connect_in_new_session,"
                " target_connect_url, copy_target, try_reuse_copy_target",
                data=_data(check),
            )
        )
    return found
