"""The `mirrord-ls.agentRole` command's builder: data in, one subject out, nothing unsafe."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mirrord_ls.features.agent_role import agent_role


def test_ephemeral_role_for_one_user_in_the_cache_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRRORD_LS_CACHE_DIR", str(tmp_path))
    result = agent_role("apps", "ephemeral", "jane@example.com")
    role, binding = yaml.safe_load_all(Path(result["path"]).read_text("utf-8"))
    assert Path(result["path"]).parent == tmp_path
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "jane@example.com"}
    ]
    resources = {r["resources"][0]: r["verbs"] for r in role["rules"]}
    # ephemeral.rs create_ephemeral_agent: get + replace_subresource (update)
    assert resources["pods/ephemeralcontainers"] == ["get", "update"]
    assert "jobs" not in resources


@pytest.mark.parametrize(
    ("namespace", "variant", "user"),
    [
        ("../etc", "job-targeted", "bob"),
        ("Apps", "job-targeted", "bob"),
        ("apps", "refused", "bob"),
        ("apps", "job-targeted", ""),
        ("apps", "job-targeted", "bob\nkind: ClusterRole"),
        (None, None, None),
    ],
)
def test_refuses_what_is_not_a_namespace_variant_or_user(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    namespace: object,
    variant: object,
    user: object,
) -> None:
    monkeypatch.setenv("MIRRORD_LS_CACHE_DIR", str(tmp_path))
    assert "error" in agent_role(namespace, variant, user)
    assert list(tmp_path.iterdir()) == []
