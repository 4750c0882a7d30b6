"""Real kubectl against the loopback server: the judge of "shaped like kube-apiserver"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mirrord_ls.loopback import LoopbackApiServer, OperatorState, rule

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


BOTH_DISCOVERIES = pytest.mark.parametrize(
    "cluster", [True, False], indirect=True, ids=["aggregated-discovery", "legacy-discovery"]
)


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> Iterator[LoopbackApiServer]:
    """alice and carol (client cert) may use the operator, bob may not; param: aggregated."""
    with LoopbackApiServer(aggregated_discovery=getattr(request, "param", True)) as srv:
        srv.add_user("alice")
        srv.add_user("bob")
        srv.add_user("carol", ["mirrord-users"], token=False, client_cert=True)
        srv.allow_mirrord_operator_user(users=["alice"], groups=["mirrord-users"])
        srv.rbac.grant("alice", [rule(["get", "list"], ["deployments"], groups=["apps"])])
        yield srv


@pytest.fixture
def kubectl(cluster: LoopbackApiServer, tmp_path: Path) -> Kubectl:
    """Run kubectl with a HOME, cache and kubeconfig inside tmp_path, nothing outside."""
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig", current="loopback-alice")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(kubeconfig),
        "KUBECACHEDIR": str(tmp_path / "kube-cache"),
    }

    def run(*args: str, context: str | None = None) -> subprocess.CompletedProcess[str]:
        ctx = ["--context", context] if context else []
        assert KUBECTL is not None
        return subprocess.run(
            [KUBECTL, *ctx, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    return run


@BOTH_DISCOVERIES
def test_kubectl_gets_the_mirrord_operator(kubectl):
    done = kubectl("get", "mirrordoperators.operator.metalbear.co", "operator", "-o", "json")
    assert done.returncode == 0, done.stderr
    op = json.loads(done.stdout)
    assert op["kind"] == "MirrordOperator"
    assert op["spec"]["license"]["organization"] == "Loopback Org"


def test_kubectl_client_certificate_user(kubectl):
    done = kubectl("get", "mirrordoperators", "operator", "-o", "name", context="loopback-carol")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "mirrordoperator.operator.metalbear.co/operator"
    who = kubectl("auth", "whoami", "-o", "json", context="loopback-carol")
    assert json.loads(who.stdout)["status"]["userInfo"]["groups"] == [
        "mirrord-users",
        "system:authenticated",
    ]


@BOTH_DISCOVERIES
def test_kubectl_api_resources(kubectl):
    done = kubectl("api-resources", "-o", "wide")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert "MirrordOperator" in rows["mirrordoperators"]
    assert "operator.metalbear.co/v1" in rows["mirrordoperators"]
    assert "deploy" in rows["deployments"].split()
    assert "rollouts" in rows and "cronjobs" in rows


def test_kubectl_auth_can_i(kubectl):
    yes = kubectl("auth", "can-i", "get", "mirrordoperators.operator.metalbear.co")
    assert (yes.returncode, yes.stdout.strip()) == (0, "yes")
    no = kubectl(
        "auth", "can-i", "get", "mirrordoperators.operator.metalbear.co", context="loopback-bob"
    )
    assert (no.returncode, no.stdout.strip()) == (1, "no")
    sub = ("auth", "can-i", "create", "mirrordoperators", "--subresource=certificate")
    assert kubectl(*sub).stdout.strip() == "yes"
    assert kubectl(*sub, context="loopback-bob").stdout.strip() == "no"


def test_kubectl_get_deployments(kubectl):
    done = kubectl("get", "deploy", "-n", "default")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows[0].split()[:2] == ["web", "2/2"]
    web = json.loads(kubectl("get", "deploy", "web", "-n", "default", "-o", "json").stdout)
    assert [c["name"] for c in web["spec"]["template"]["spec"]["containers"]] == ["web", "sidecar"]


def test_kubectl_is_refused_by_rbac(kubectl):
    done = kubectl(
        "get", "mirrordoperators.operator.metalbear.co", "operator", context="loopback-bob"
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        'Error from server (Forbidden): mirrordoperators.operator.metalbear.co "operator" is '
        'forbidden: User "bob" cannot get resource "mirrordoperators" in API group '
        '"operator.metalbear.co" at the cluster scope'
    )


def test_kubectl_sees_operator_down_and_not_installed(kubectl, cluster):
    cluster.operator_state = OperatorState.DOWN
    raw = kubectl("get", "--raw", "/apis/operator.metalbear.co/v1/mirrordoperators/operator")
    assert raw.returncode == 1
    assert "ServiceUnavailable" in raw.stderr
    cluster.operator_state = OperatorState.NOT_INSTALLED
    missing = kubectl("get", "--raw", "/apis/operator.metalbear.co/v1")
    assert missing.returncode == 1
    assert "NotFound" in missing.stderr
