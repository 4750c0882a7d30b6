"""Operator discovery, decided as mirrord decides it, but never silently.

1. `operator: false` (after `MIRRORD_OPERATOR_ENABLE`): no request at all.
2. `GET .../mirrordoperators/operator`: 200 means installed and usable.
3. Only after an HTTP error answer: the "pinned kind" check, one
   `GET /apis/operator.metalbear.co/v1` looking for kind `MirrordOperator`.
   Listed means installed, so the first failure was real (a 403 is RBAC:
   a `SelfSubjectAccessReview` then names the missing permission); 404
   means not installed; anything else means mirrord cannot tell.
4. No HTTP answer (refused, DNS, timeout, TLS) is reported as such; a 401
   is a credential problem and never judged as RBAC.

429, 503 and 504 are retried twice with backoff, honouring `Retry-After`,
inside the check's deadline. Everything is judged by status codes.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from mirrord_ls.cluster.api import Response, TransportError

GROUP = "operator.metalbear.co"
VERSION = "v1"
OPERATOR_PATH = f"/apis/{GROUP}/{VERSION}/mirrordoperators/operator"
DISCOVERY_PATH = f"/apis/{GROUP}/{VERSION}"
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
RETRY_CODES = frozenset({429, 503, 504})
MAX_RETRIES = 2

VerdictKind = Literal[
    "installed",
    "forbidden",
    "not-installed",
    "check-failed",
    "unreachable",
    "tls-error",
    "auth-failed",
    "disabled",
]

Requester = Callable[..., Awaitable[Response]]


@dataclass(frozen=True)
class OperatorInfo:
    version: str | None = None
    default_namespace: str | None = None
    license_name: str | None = None
    license_organization: str | None = None
    license_expires: str | None = None
    protocol_version: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What the cluster says about the operator, for one cluster identity."""

    kind: VerdictKind
    detail: str
    """A sentence saying what happened (never a credential)."""
    status: int | None = None
    """The HTTP status of the operator GET, when there was one."""
    operator: OperatorInfo | None = None
    user: str | None = None
    """The user as the cluster named it, when it did."""
    missing: str | None = None
    """The missing permission, e.g. 'get mirrordoperators.operator.metalbear.co'."""
    requests: int = 0
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    transient: bool = False
    """A failure that may pass by itself (timeouts, 5xx): cached briefly."""
    listed: bool = False
    """The operator's kind is listed by its API group's discovery (it is installed)."""


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


async def _get_with_retries(
    request: Requester,
    method: str,
    path: str,
    deadline: _Deadline,
    counter: list[int],
    body: Any = None,
) -> Response:
    attempt = 0
    while True:
        left = deadline.left()
        if left <= 0:
            raise TransportError("timeout", "the check ran out of time")
        counter[0] += 1
        response = await request(method, path, body=body, timeout=left)
        if response.status not in RETRY_CODES or attempt >= MAX_RETRIES:
            return response
        attempt += 1
        # mirrord's policy: 0.5 s doubling up to 5 s, Retry-After when the server sets it.
        wait = response.retry_after()
        if wait is None:
            wait = min(5.0, 0.5 * (2 ** (attempt - 1))) * (0.8 + 0.4 * random.random())
        wait = min(wait, 5.0)
        if wait >= deadline.left():
            return response  # no time to retry: judge the answer we have
        await asyncio.sleep(wait)


def _operator_info(doc: Any) -> OperatorInfo | None:
    if not isinstance(doc, dict) or doc.get("kind") not in (None, "MirrordOperator"):
        return None
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return None
    raw_license = spec.get("license")
    lic: dict[str, Any] = raw_license if isinstance(raw_license, dict) else {}

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    return OperatorInfo(
        version=text(spec.get("operator_version")),
        default_namespace=text(spec.get("default_namespace")),
        license_name=text(lic.get("name")),
        license_organization=text(lic.get("organization")),
        license_expires=text(lic.get("expire_at")),
        protocol_version=text(spec.get("protocol_version")),
    )


def kind_listed(doc: Any) -> bool:
    """Does an APIResourceList name kind MirrordOperator (subresources skipped)?"""
    if not isinstance(doc, dict) or not isinstance(doc.get("resources"), list):
        return False
    for resource in doc["resources"]:
        if not isinstance(resource, dict):
            continue
        name = resource.get("name")
        if isinstance(name, str) and "/" in name:
            continue
        if resource.get("kind") == "MirrordOperator":
            return True
    return False


def _resource_list(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("resources"), list)


_USER = re.compile(r'User "([^"]{1,256})"')


def _user_from_status(response: Response) -> str | None:
    # Only to name the user in the message; the decision never reads bodies.
    doc = response.json()
    message = doc.get("message") if isinstance(doc, dict) else None
    if isinstance(message, str):
        m = _USER.search(message)
        if m:
            return m.group(1)
    return None


def _http_failure(status: int) -> str:
    names = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        406: "Not Acceptable",
        429: "Too Many Requests",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    return f"HTTP {status}" + (f" {names[status]}" if status in names else "")


def _transport_verdict(error: TransportError, requests: int) -> Verdict:
    if error.kind == "tls":
        return Verdict("tls-error", error.message, requests=requests, transient=False)
    return Verdict("unreachable", error.message, requests=requests, transient=True)


async def decide(
    request: Requester,
    operator_setting: bool | None,
    *,
    timeout: float = 10.0,
    has_credentials: bool = True,
) -> Verdict:
    """Run the operator discovery against one cluster; never raises for cluster behaviour."""
    if operator_setting is False:
        return Verdict("disabled", "operator is false: mirrord will not use the operator.")
    deadline = _Deadline(timeout)
    counter = [0]
    try:
        first = await _get_with_retries(request, "GET", OPERATOR_PATH, deadline, counter)
    except TransportError as error:
        return _transport_verdict(error, counter[0])
    if 200 <= first.status < 300:
        info = _operator_info(first.json())
        if info is None:
            return Verdict(
                "check-failed",
                f"the operator's API answered {_http_failure(first.status)} but the body is"
                " not a MirrordOperator (a proxy in the way?)",
                status=first.status,
                requests=counter[0],
                transient=True,
            )
        return Verdict(
            "installed",
            "the operator is installed and you may use it.",
            first.status,
            info,
            requests=counter[0],
        )
    if first.status == 401:
        return Verdict(
            "auth-failed",
            "the cluster rejected the credentials (HTTP 401 Unauthorized)",
            status=401,
            requests=counter[0],
        )
    # An HTTP error answer: the pinned-kind check tells "not installed" from "not allowed".
    try:
        pinned = await _get_with_retries(request, "GET", DISCOVERY_PATH, deadline, counter)
    except TransportError as error:
        return Verdict(
            "check-failed",
            f"the operator's API answered {_http_failure(first.status)}, and the discovery"
            f" check then failed: {error.message}",
            status=first.status,
            requests=counter[0],
            transient=True,
        )
    listed = 200 <= pinned.status < 300 and kind_listed(pinned.json())
    if listed:
        if first.status == 403:
            user = _user_from_status(first)
            missing: str | None = f"get mirrordoperators.{GROUP}"
            try:
                review = await _get_with_retries(
                    request,
                    "POST",
                    SSAR_PATH,
                    deadline,
                    counter,
                    body={
                        "apiVersion": "authorization.k8s.io/v1",
                        "kind": "SelfSubjectAccessReview",
                        "spec": {
                            "resourceAttributes": {
                                "group": GROUP,
                                "version": VERSION,
                                "resource": "mirrordoperators",
                                "verb": "get",
                                "name": "operator",
                            }
                        },
                    },
                )
                doc = review.json()
                status = doc.get("status") if isinstance(doc, dict) else None
                if 200 <= review.status < 300 and isinstance(status, dict):
                    if status.get("allowed") is True:
                        missing = None  # allowed now: the 403 came from elsewhere
            except TransportError:
                pass
            return Verdict(
                "forbidden",
                "the operator is installed, but RBAC forbids you to use it (HTTP 403).",
                status=403,
                user=user,
                missing=missing,
                requests=counter[0],
            )
        return Verdict(
            "check-failed",
            f"the operator is installed, but its API answered {_http_failure(first.status)}",
            status=first.status,
            requests=counter[0],
            transient=first.status >= 500 or first.status == 429,
            listed=True,
        )
    if pinned.status == 404 or (200 <= pinned.status < 300 and _resource_list(pinned.json())):
        return Verdict(
            "not-installed",
            "the mirrord operator is not installed in this cluster.",
            status=first.status,
            requests=counter[0],
        )
    if pinned.status == 401:
        return Verdict(
            "auth-failed",
            "the cluster rejected the credentials (HTTP 401 Unauthorized)",
            status=401,
            requests=counter[0],
        )
    if pinned.status == 403 and not has_credentials:
        return Verdict(
            "auth-failed",
            "no credentials were sent, and the cluster refuses anonymous requests (HTTP 403)",
            status=403,
            requests=counter[0],
        )
    if 200 <= pinned.status < 300:
        # A proxy's page or garbage where an APIResourceList belongs: it says nothing.
        what = (
            f"the operator's API answered {_http_failure(first.status)}, and its discovery"
            f" answered {_http_failure(pinned.status)} with a body that is not an API resource"
            " list (a proxy in the way?)"
        )
    elif pinned.status == 503:
        what = "the operator's API service is unavailable (HTTP 503; are its pods running?)"
    else:
        what = (
            f"the operator's API answered {_http_failure(first.status)} and its discovery"
            f" answered {_http_failure(pinned.status)}"
        )
    return Verdict(
        "check-failed",
        what,
        status=first.status,
        requests=counter[0],
        transient=True,
    )
