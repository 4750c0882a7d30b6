"""`Status` bodies worded and shaped the way kube-apiserver writes them.

Clients (mirrord, kubectl, the Python client, our own cluster code) read the
`reason`, `code` and `details` of these bodies, so their shape is part of what
the loopback server must get right, not decoration.
"""

from __future__ import annotations

from typing import Any

# The reason kube-apiserver puts in a Status for a given HTTP code.
REASONS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "AlreadyExists",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_body(
    code: int,
    message: str,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A failure `Status` object; `details` is left out when None, as the server does."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason if reason is not None else REASONS.get(code, ""),
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def qualified_resource(group: str, resource: str) -> str:
    """`mirrordoperators.operator.metalbear.co`, or just `pods` for the core group."""
    return f"{resource}.{group}" if group else resource


def resource_details(group: str, resource: str, name: str) -> dict[str, Any]:
    """StatusDetails as apierrors fills them: `kind` holds the plural resource, empties omitted."""
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = resource
    return details


def unauthorized() -> dict[str, Any]:
    """What the authentication filter answers for a token or certificate it rejects."""
    return status_body(401, "Unauthorized")


def forbidden_path(user: str, verb: str, path: str) -> dict[str, Any]:
    """403 for a non-resource URL such as `/apis` (details stay empty, like the real one)."""
    return status_body(403, f'forbidden: User "{user}" cannot {verb} path "{path}"', details={})


def forbidden_resource(
    user: str,
    verb: str,
    group: str,
    resource: str,
    subresource: str,
    name: str,
    namespace: str,
) -> dict[str, Any]:
    """403 for a resource request, word for word as kube-apiserver's authorization filter."""
    full = f"{resource}/{subresource}" if subresource else resource
    if namespace:
        scope = f'in the namespace "{namespace}"'
    else:
        scope = "at the cluster scope"
    why = f'User "{user}" cannot {verb} resource "{full}" in API group "{group}" {scope}'
    qualified = qualified_resource(group, resource)
    if name:
        message = f'{qualified} "{name}" is forbidden: {why}'
    else:
        message = f"{qualified} is forbidden: {why}"
    return status_body(403, message, details=resource_details(group, resource, name))


def not_found_object(group: str, resource: str, name: str) -> dict[str, Any]:
    """404 for a served resource whose object does not exist."""
    return status_body(
        404,
        f'{qualified_resource(group, resource)} "{name}" not found',
        details=resource_details(group, resource, name),
    )


def not_found_path() -> dict[str, Any]:
    """404 for a path nothing serves (an absent API group, say)."""
    return status_body(404, "the server could not find the requested resource", details={})


def method_not_allowed(verb: str, qualified: str) -> dict[str, Any]:
    return status_body(405, f"{verb} is not supported on resources of kind {qualified!r}")
