"""The RBAC fix, handed to the admin ready to apply (the `mirrord-ls.roleBinding` command).

Asks the cluster who the user is (`SelfSubjectReview`, the name RBAC sees, which may differ
from the kubeconfig's user entry); a cluster before Kubernetes 1.28 answers 404 and a
locked-down one 403, so the name then comes from the 403 message, the operator check's 403,
or the kubeconfig's user entry, and the answer says which. It then writes a
ClusterRoleBinding of `mirrord-operator-user` to that one user into mirrord-ls's own cache
folder (never a user's file) for the editor to show.

The document is built as data and serialized by a YAML library, never by string templates,
and read back before it is written: its subjects must be exactly the one user. A user name
is whatever a cluster or kubeconfig says, so it may hold newlines, quotes, `#` or a whole
YAML fragment (`- kind: Group\\n  name: system:authenticated`); it can only ever be the
value of one `name`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any

import yaml

from mirrord_ls.cluster.api import TransportError
from mirrord_ls.cluster.credentials import CredentialError
from mirrord_ls.cluster.service import RBAC_DOCS
from mirrord_ls.config.schema import cache_dir

REVIEW_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
ROLE = "mirrord-operator-user"
RBAC_GROUP = "rbac.authorization.k8s.io"
FILE_NAME = "mirrord-operator-user-binding.yaml"
# kube-apiserver's authorization filter names the user in a 403: `User "alice" cannot ...`.
_USER_IN_403 = re.compile(r'User "([^"]{1,256})"')


class UnsafeBinding(ValueError):
    """The serialized document does not say exactly what was meant; it is not written."""


def binding_name(user: str) -> str:
    """A valid object name (DNS subdomain) for the binding, unique per user name."""
    safe = re.sub(r"[^a-z0-9.-]+", "-", user.lower()).strip("-.")[:40] or "user"
    digest = hashlib.sha256(user.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{ROLE}-{safe}-{digest}"


def binding_document(user: str, kind: str = "User") -> dict[str, Any]:
    """The ClusterRoleBinding, as data."""
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": binding_name(user)},
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": ROLE},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": kind, "name": user}],
    }


def binding_yaml(user: str, kind: str = "User") -> str:
    """The binding as YAML, with comments for the admin; checked by :func:`verify`."""
    # json.dumps escapes every line break and non-ASCII character: the comment stays one line.
    header = (
        f"# Binds mirrord's ClusterRole {ROLE} to {kind} {json.dumps(user)}.\n"
        "# Apply as a cluster admin: kubectl apply -f <this file>\n"
        f"# See {RBAC_DOCS}\n"
    )
    body = yaml.safe_dump(
        binding_document(user, kind), sort_keys=False, default_flow_style=False, width=1 << 16
    )
    text = header + body
    verify(text, user, kind)
    return text


def verify(text: str, user: str, kind: str = "User") -> None:
    """Raise :class:`UnsafeBinding` unless `text` is one document binding `ROLE` to exactly
    the one subject `kind`/`user`."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise UnsafeBinding(f"the binding does not read back as YAML: {exc}") from None
    if len(documents) != 1 or documents[0] != binding_document(user, kind):
        raise UnsafeBinding("the binding does not read back as written")
    subjects = documents[0]["subjects"]
    if subjects != [{"apiGroup": RBAC_GROUP, "kind": kind, "name": user}]:
        raise UnsafeBinding("the binding's subjects are not exactly the one user")


def _user_in_403(doc: Any) -> str | None:
    message = doc.get("message") if isinstance(doc, dict) else None
    if isinstance(message, str) and (found := _USER_IN_403.search(message)):
        return found.group(1)
    return None


async def whoami(service: Any, facts: Any) -> tuple[str, str]:
    """The user name as the cluster sees it, and where it came from (said in words)."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    why = ""
    try:
        conn = await service.connection(facts.resolved, facts.trust, dict(os.environ))
        response = await conn.request("POST", REVIEW_PATH, body=body, timeout=service.timeout)
        doc = response.json()
        if 200 <= response.status < 300 and isinstance(doc, dict):
            status = doc.get("status")
            info = status.get("userInfo") if isinstance(status, dict) else None
            name = info.get("username") if isinstance(info, dict) else None
            if isinstance(name, str) and name:
                return name, "the cluster (SelfSubjectReview)"
        if response.status == 403 and (named := _user_in_403(doc)):
            return named, "the cluster's 403 answer to SelfSubjectReview"
        if response.status == 404:
            why = " (this cluster has no SelfSubjectReview: Kubernetes before 1.28)"
        else:
            why = f" (SelfSubjectReview answered HTTP {response.status})"
    except TransportError as exc:
        why = f" (SelfSubjectReview failed: {exc.message})"
    except CredentialError as exc:
        why = f" (no credentials: {exc})"
    verdict = facts.verdict
    if verdict is not None and verdict.user:
        return verdict.user, f"the cluster's 403 answer to the operator check{why}"
    return (
        facts.user or "YOUR-USER",
        f"the kubeconfig's user entry{why}; the cluster may know you by another name,"
        " check it with your admin",
    )


async def role_binding_for(service: Any, facts: Any) -> dict[str, Any]:
    user, origin = await whoami(service, facts)
    try:
        text = binding_yaml(user)
    except UnsafeBinding as exc:
        return {"error": f"no RoleBinding was written: {exc}", "user": user, "userFrom": origin}
    where: str | None = None
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE_NAME
        fresh = path.with_name(f".{FILE_NAME}.{os.getpid()}")
        fresh.write_text(text, "utf-8")
        os.replace(fresh, path)  # never half a document on screen
        where = str(path)
    except OSError:
        where = None
    return {"yaml": text, "user": user, "userFrom": origin, "path": where, "docs": RBAC_DOCS}
