"""`mirrord-ls.roleBinding` over LSP against the loopback cluster (issue 16).

* A cluster before Kubernetes 1.28 answers SelfSubjectReview with 404, a locked-down one
  with 403: the command (which failed with -32603 `'str' object has no attribute 'get'`)
  answers with the user from the 403 message or the operator check, and says which.
* A user name full of YAML-significant characters, as the cluster reports it, yields a
  binding whose only subject is that user, in the answer and in the file written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from cluster.apihelpers import write_kubeconfig
from mirrord_ls.features.role_binding import REVIEW_PATH
from mirrord_ls.loopback import Fault, LoopbackApiServer
from mirrord_ls.loopback.rbac import BASIC_USER_RULES

from .support import recorded_session

GROUP = "- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n"
HOSTILE = 'mallory"\n' + GROUP + "  name: system:authenticated # '"


async def binding_for(tmp_path: Path, server: LoopbackApiServer, token: str) -> dict[str, Any]:
    """Open a config on `server` as the token's user, wait for its verdict, ask the command."""
    kubeconfig = write_kubeconfig(
        tmp_path / "kube" / "config", server.url, server.ca_pem, {"token": token}
    )
    config = tmp_path / "ws" / "app-mirrord.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"kube_context": "ctx-0"}))
    env = {"KUBECONFIG": str(kubeconfig)}
    async with recorded_session(config.parent, env=env) as rec:
        uri = rec.open(config)
        await rec.diagnostics(uri, lambda d: any(x.code == "operator-forbidden" for x in d))
        result = await rec.command("mirrord-ls.roleBinding", {"uri": uri})
        assert "-32603" not in rec.everything()
    assert isinstance(result, dict), result
    return result


def subjects(result: dict[str, Any]) -> list[dict[str, str]]:
    (doc,) = list(yaml.safe_load_all(result["yaml"]))
    found = doc["subjects"]
    assert isinstance(found, list)
    if result.get("path"):
        assert Path(result["path"]).read_text("utf-8") == result["yaml"]
    return found


async def test_a_cluster_without_selfsubjectreview(tmp_path: Path) -> None:
    with LoopbackApiServer() as server:
        bob = server.add_user("bob")
        assert bob.token
        server.inject(Fault.status_code(REVIEW_PATH, 404))
        result = await binding_for(tmp_path, server, bob.token)
    assert result["user"] == "bob"
    assert "operator check" in result["userFrom"] and "before 1.28" in result["userFrom"]
    assert subjects(result) == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}
    ]


async def test_a_cluster_that_forbids_selfsubjectreview(tmp_path: Path) -> None:
    with LoopbackApiServer() as server:
        bob = server.add_user("bob")
        assert bob.token
        locked = [r for r in BASIC_USER_RULES if "selfsubjectreviews" not in r.resources]
        server.rbac.add_cluster_role("system:basic-user", locked)
        result = await binding_for(tmp_path, server, bob.token)
    assert result["user"] == "bob"
    assert result["userFrom"] == "the cluster's 403 answer to SelfSubjectReview"


async def test_a_hostile_user_name_stays_one_subject(tmp_path: Path) -> None:
    with LoopbackApiServer() as server:
        server.add_token("mallory-token-Ff6", HOSTILE)  # not bound: operator-forbidden
        result = await binding_for(tmp_path, server, "mallory-token-Ff6")
    assert result["user"] == HOSTILE
    assert result["userFrom"] == "the cluster (SelfSubjectReview)"
    assert subjects(result) == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": HOSTILE}
    ]
