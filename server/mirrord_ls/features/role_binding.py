"""The RBAC fix, handed to the admin ready to apply.

Asks the cluster who the user is (`SelfSubjectReview`, the name RBAC sees,
which may differ from the kubeconfig's user entry), then writes a
ClusterRoleBinding of `mirrord-operator-user` to that name into mirrord-ls's
own cache folder (never a user's file) for the editor to show.
"""

from __future__ import annotations

import os
import re
from typing import Any

from mirrord_ls.cluster.api import TransportError
from mirrord_ls.cluster.service import RBAC_DOCS
from mirrord_ls.config.schema import cache_dir

REVIEW_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def binding_yaml(user: str, kind: str = "User") -> str:
    safe = re.sub(r"[^a-z0-9.-]+", "-", user.lower()).strip("-.")[:50] or "user"
    return (
        f"# Binds mirrord's ClusterRole mirrord-operator-user to {kind} {user!r}.\n"
        f"# Apply as a cluster admin: kubectl apply -f <this file>\n"
        f"# See {RBAC_DOCS}\n"
        "apiVersion: rbac.authorization.k8s.io/v1\n"
        "kind: ClusterRoleBinding\n"
        "metadata:\n"
        f"  name: mirrord-operator-user-{safe}\n"
        "roleRef:\n"
        "  apiGroup: rbac.authorization.k8s.io\n"
        "  kind: ClusterRole\n"
        "  name: mirrord-operator-user\n"
        "subjects:\n"
        "  - apiGroup: rbac.authorization.k8s.io\n"
        f"    kind: {kind}\n"
        f'    name: "{user}"\n'
    )


async def whoami(service: Any, facts: Any) -> tuple[str, str]:
    """The user name as the cluster sees it, and where it came from."""
    conn = await service.connection(facts.resolved, facts.trust, dict(os.environ))
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    try:
        response = await conn.request("POST", REVIEW_PATH, body=body, timeout=service.timeout)
        doc = response.json()
        info = ((doc or {}).get("status") or {}).get("userInfo") or {}
        if 200 <= response.status < 300 and isinstance(info.get("username"), str):
            return info["username"], "the cluster (SelfSubjectReview)"
    except TransportError:
        pass
    verdict = facts.verdict
    if verdict is not None and verdict.user:
        return verdict.user, "the cluster's 403 answer"
    return facts.user or "YOUR-USER", "the kubeconfig's user entry (check it with your admin)"


async def role_binding_for(service: Any, facts: Any) -> dict[str, Any]:
    user, origin = await whoami(service, facts)
    text = binding_yaml(user)
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "mirrord-operator-user-binding.yaml"
        path.write_text(text, "utf-8")
        where: str | None = str(path)
    except OSError:
        where = None
    return {"yaml": text, "user": user, "userFrom": origin, "path": where, "docs": RBAC_DOCS}
