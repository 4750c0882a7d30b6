"""The `agent-forbidden` fix: the Role and RoleBinding an admin applies, ready to take.

The objects are data (`preflight.agent_rbac.role_fix`: what the agent needs in its
namespace, bound to exactly one user), rebuilt here from the finding's namespace,
agent variant and user, never from text a client sent, and written into
mirrord-ls's own cache folder (never a workspace file) for the editor to show.
"""

from __future__ import annotations

import re
from typing import Any

from mirrord_ls.cluster.preflight.agent_namespace import AgentNamespace, AgentPlan
from mirrord_ls.cluster.preflight.agent_rbac import role_fix
from mirrord_ls.config.schema import cache_dir

VARIANTS = ("job-targeted", "job-targetless", "ephemeral")
# A Kubernetes namespace name (RFC 1123 label).
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
MAX_USER = 253


def agent_role(namespace: Any, variant: Any, user: Any) -> dict[str, Any]:
    """{"yaml", "role", "roleBinding", "namespace", "user", "path"} or {"error"}."""
    if not isinstance(namespace, str) or not NAMESPACE.match(namespace):
        return {"error": "no valid namespace was given"}
    if variant not in VARIANTS:
        return {"error": "no valid agent variant was given"}
    if not isinstance(user, str) or not user or len(user) > MAX_USER or "\n" in user:
        return {"error": "no valid user was given"}
    plan = AgentPlan(variant, AgentNamespace(namespace, "", ()), namespace)
    fix = role_fix(plan, user)
    header = (
        f"# What mirrord's agent needs in namespace {namespace}, for user {user!r} only.\n"
        "# Apply as an admin of that namespace: kubectl apply -f <this file>\n"
    )
    text = header + fix["yaml"]
    folder = cache_dir()
    safe = re.sub(r"[^a-z0-9-]+", "-", user.lower()).strip("-")[:40] or "user"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"mirrord-agent-role-{namespace}-{safe}.yaml"
        path.write_text(text, "utf-8")
        where: str | None = str(path)
    except OSError:
        where = None
    return {**fix, "yaml": text, "path": where}
