"""Real kubectl against the operator-path loopback clusters: what they serve is well-formed."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mirrord_ls.loopback.operator_scenarios import start_operator_clusters
from mirrord_ls.loopback.scenarios import DemoClusters

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
TODAY = datetime.date(2026, 6, 15)


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoClusters]:
    with start_operator_clusters(tmp_path_factory.mktemp("k") / "kubeconfig", today=TODAY) as d:
        yield d


@pytest.fixture
def kubectl(clusters: DemoClusters, tmp_path: Path) -> Kubectl:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(clusters.kubeconfig),
        "KUBECACHEDIR": str(tmp_path / "kube-cache"),
    }

    def run(*args: str, context: str = "op-healthy") -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        return subprocess.run(
            [KUBECTL, "--context", context, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    return run


@pytest.mark.parametrize(
    ("context", "check"),
    [
        ("op-healthy", lambda op: op["status"]["sessions"][0]["locked_ports"][0]["port"] == 8080),
        ("op-expired", lambda op: op["spec"]["license"]["expire_at"] == "2026-06-14"),
        ("op-trial-expiring", lambda op: "(Trial)" in op["spec"]["license"]["name"]),
        ("op-invalid", lambda op: "sessions" not in op["status"]),
        ("op-legacy", lambda op: "supported_features" not in op["spec"]),
        ("op-multi-cluster", lambda op: "MultiClusterPrimary" in op["spec"]["supported_features"]),
    ],
)
def test_kubectl_gets_each_operator_variant(kubectl, context, check):
    done = kubectl("get", "mirrordoperators", "operator", "-o", "json", context=context)
    assert done.returncode == 0, done.stderr
    op = json.loads(done.stdout)
    assert op["kind"] == "MirrordOperator"
    assert check(op)


@pytest.mark.parametrize(
    ("context", "args", "answer"),
    [
        ("op-healthy", ("proxy", "targets.operator.metalbear.co", "-n", "default"), "yes"),
        ("op-no-session", ("proxy", "targets.operator.metalbear.co", "-n", "default"), "no"),
        ("op-no-session", ("proxy", "targets.operator.metalbear.co", "-n", "staging"), "yes"),
        ("op-healthy", ("create", "copytargets.operator.metalbear.co", "-n", "default"), "yes"),
        ("op-no-session", ("create", "copytargets.operator.metalbear.co", "-n", "default"), "no"),
        (
            "op-healthy",
            ("create", "mirrordclusteroperatorusercredentials.operator.metalbear.co"),
            "yes",
        ),
        (
            "op-no-certificate",
            ("create", "mirrordclusteroperatorusercredentials.operator.metalbear.co"),
            "no",
        ),
        (
            "op-legacy-no-certificate",
            ("create", "mirrordoperators", "--subresource=certificate"),
            "no",
        ),
        ("op-legacy", ("create", "mirrordoperators", "--subresource=certificate"), "yes"),
        ("op-healthy", ("get", "mirrordclusterprofiles.profiles.mirrord.metalbear.co"), "yes"),
        ("op-no-profiles", ("get", "mirrordclusterprofiles.profiles.mirrord.metalbear.co"), "no"),
        (
            "op-healthy",
            ("get", "mirrordprofiles.profiles.mirrord.metalbear.co", "-n", "default"),
            "yes",
        ),
        (
            "op-no-profiles",
            ("get", "mirrordprofiles.profiles.mirrord.metalbear.co", "-n", "default"),
            "no",
        ),
    ],
)
def test_kubectl_auth_can_i_on_operator_resources(kubectl, context, args, answer):
    done = kubectl("auth", "can-i", *args, context=context)
    assert done.stdout.strip() == answer, done.stderr
    assert done.returncode == (0 if answer == "yes" else 1)


def test_kubectl_lists_profiles_and_targets(kubectl):
    profiles = kubectl("get", "mirrordclusterprofiles", "-o", "name")
    assert profiles.returncode == 0, profiles.stderr
    assert profiles.stdout.split() == [
        "mirrordclusterprofile.profiles.mirrord.metalbear.co/from-the-future",
        "mirrordclusterprofile.profiles.mirrord.metalbear.co/team-steal",
    ]
    ns = kubectl("get", "mirrordprofiles", "-n", "default", "-o", "json")
    assert ns.returncode == 0, ns.stderr
    (item,) = json.loads(ns.stdout)["items"]
    assert item["spec"]["featureAdjustments"] == [{"change": "incoming-mirror"}]
    targets = kubectl("get", "targets.operator.metalbear.co", "-n", "default", "-o", "name")
    assert targets.returncode == 0, targets.stderr
    assert "target.operator.metalbear.co/deploy.web" in targets.stdout.split()


def test_kubectl_api_resources_lists_namespaced_profiles(kubectl):
    done = kubectl("api-resources", "--api-group=profiles.mirrord.metalbear.co", "-o", "wide")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:]}
    assert rows["mirrordprofiles"][2] == "true"  # NAMESPACED
    assert rows["mirrordclusterprofiles"][2] == "false"
