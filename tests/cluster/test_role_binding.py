"""The RoleBinding for the admin is data serialized by a YAML library, for exactly one user.

A user name comes from a cluster or a kubeconfig, so anything: the old string template let
`- kind: Group\\n  name: system:authenticated` add a subject that grants the role to every
authenticated user. Each hostile name below must stay the value of the one subject.
"""

from __future__ import annotations

import pytest
import yaml

from mirrord_ls.features.role_binding import (
    RBAC_GROUP,
    ROLE,
    UnsafeBinding,
    binding_name,
    binding_yaml,
    verify,
)

HOSTILE = [
    "alice",
    "alice@example.com",
    "system:serviceaccount:team:deployer",
    (
        'evil"\n  - apiGroup: rbac.authorization.k8s.io\n    kind: Group\n'
        "    name: system:authenticated"
    ),
    "evil\n- kind: Group\n  name: system:authenticated",
    "quote\"s and 'single' ones",
    "hash # not a comment",
    "line\r\nbreaks\rand\x85next\u2028line",
    "- apiGroup: x",
    "&anchor *alias !!python/object",
    "{flow: map, with: [list]}",
    "null",
    "true",
    "0777",
    "...\n---\nkind: ClusterRoleBinding",
    "ユーザー",
    " leading and trailing ",
]


@pytest.mark.parametrize("user", HOSTILE)
def test_the_one_subject_is_the_user(user: str) -> None:
    text = binding_yaml(user)
    (doc,) = list(yaml.safe_load_all(text))
    assert doc["subjects"] == [{"apiGroup": RBAC_GROUP, "kind": "User", "name": user}]
    assert doc["roleRef"] == {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": ROLE}
    assert doc["metadata"]["name"] == binding_name(user)
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert len(comments) == 3 and text.startswith(comments[0])


@pytest.mark.parametrize("user", HOSTILE)
def test_the_name_is_a_valid_object_name(user: str) -> None:
    name = binding_name(user)
    assert len(name) <= 253
    assert all(c.isascii() and (c.isalnum() or c in "-.") for c in name)
    assert name == name.lower() and name[0].isalnum() and name[-1].isalnum()


def test_the_old_template_would_be_refused() -> None:
    """What string templating produced for a hostile name: the check catches it."""
    group = "  - apiGroup: rbac.authorization.k8s.io\n    kind: Group\n"
    user = 'x"\n' + group + '    name: "system:authenticated'
    templated = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata:\n  name: mirrord-operator-user-x\n"
        "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n"
        "  name: mirrord-operator-user\n"
        "subjects:\n  - apiGroup: rbac.authorization.k8s.io\n    kind: User\n"
        f'    name: "{user}"\n'
    )
    subjects = yaml.safe_load(templated)["subjects"]
    assert {"apiGroup": RBAC_GROUP, "kind": "Group", "name": "system:authenticated"} in subjects
    with pytest.raises(UnsafeBinding):
        verify(templated, user)
