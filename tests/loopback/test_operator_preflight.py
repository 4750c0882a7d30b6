"""The operator-path rules against the loopback clusters, over real HTTPS.

Facts are gathered the way the fact store will: the project's kubeconfig
resolution, credentials and `ApiConnection`; discovery's `decide`; the
operator GET; one SelfSubjectAccessReview per `access_checks` entry; the
profile GET. Each case names the context (`operator_scenarios.py`), the
config, and the codes mirrord's behaviour predicts; its control (the same
check staying silent) sits next to it. The mirrord line deciding each case is
cited in the unit tests of `tests/preflight/`.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mirrord_ls.cluster import discovery
from mirrord_ls.cluster import kubeconfig as kc
from mirrord_ls.cluster.api import ApiConnection
from mirrord_ls.cluster.credentials import TrustPolicy, get_credentials
from mirrord_ls.cluster.preflight.access import access_checks
from mirrord_ls.cluster.preflight.operator_object import MirrordOperator, parse_operator
from mirrord_ls.cluster.preflight.operator_path import (
    OperatorFacts,
    OperatorPathResult,
    operator_path_findings,
)
from mirrord_ls.cluster.preflight.profiles import ProfileAnswer, apply_profile, profile_ref
from mirrord_ls.cluster.preflight.settings import operator_settings, target_namespace
from mirrord_ls.loopback.operator_scenarios import start_operator_clusters
from mirrord_ls.loopback.scenarios import DemoClusters
from terminal import ctrl_c_reaches_it

TODAY = datetime.date(2026, 6, 15)
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoClusters]:
    path = tmp_path_factory.mktemp("op-clusters") / "kubeconfig"
    with start_operator_clusters(path, today=TODAY) as demo:
        yield demo


async def preflight(
    kubeconfig: Path, context: str, config: dict[str, Any], operator: bool | None = None
) -> tuple[OperatorPathResult, list[str]]:
    """Gather the facts for one config on one context, run the rules; also the requests."""
    merged = kc.load_merged([kubeconfig])
    resolved = kc.resolve(merged, context)
    assert isinstance(resolved, kc.ResolvedCluster), resolved
    creds = await get_credentials(resolved, trust=TrustPolicy(trusted=True))
    conn = ApiConnection(resolved, creds, accept_invalid_certificates=False)
    try:
        settings = operator_settings(config, operator)
        ref = profile_ref(settings)
        answer = None
        if ref is not None:
            got = await conn.request("GET", ref.path)
            answer = ProfileAnswer(got.status, got.json() if got.status < 300 else None)
        verdict = await discovery.decide(conn.request, operator)
        parsed = None
        if verdict.kind == "installed":
            got = await conn.request("GET", discovery.OPERATOR_PATH)
            parsed = parse_operator(got.json())
        answers: dict[Any, bool | None] = {}
        applied = apply_profile(settings, ref, answer)
        if isinstance(parsed, MirrordOperator):
            namespace = target_namespace(applied, resolved.namespace)
            for check in access_checks(parsed, applied, namespace):
                review = await conn.request("POST", SSAR, body=check.review_body())
                answers[check] = (review.json() or {}).get("status", {}).get("allowed")
        facts = OperatorFacts(verdict.kind, parsed, resolved.namespace, answer, answers)
        return operator_path_findings(settings, facts, TODAY), list(conn.log.paths)
    finally:
        conn.close()


def found(result: OperatorPathResult) -> list[tuple[str, str]]:
    return sorted((f.code, f.severity) for f in result.findings)


WEB = {"target": "deployment/web"}
API = {"target": {"path": "deployment/api", "namespace": "staging"}}
STEAL = {"feature": {"network": {"incoming": "steal"}}}
METHOD = {
    "feature": {"network": {"incoming": {"mode": "steal", "http_filter": {"method_filter": "GET"}}}}
}
HEADER = {
    "feature": {
        "network": {"incoming": {"mode": "steal", "http_filter": {"header_filter": "^x: y$"}}}
    }
}
COPY = {"feature": {"copy_target": True}}

CASES = [
    # (id, context, config, operator setting, expected)
    ("healthy", "op-healthy", WEB, None, []),
    ("port-locked", "op-healthy", {**WEB, **STEAL}, None, [("port-locked", "warning")]),
    ("port-locked control", "op-healthy", {**API, **STEAL}, None, []),
    ("certificate", "op-no-certificate", WEB, None, [("certificate-forbidden", "error")]),
    (
        "certificate legacy",
        "op-legacy-no-certificate",
        WEB,
        None,
        [("certificate-forbidden", "error")],
    ),
    ("certificate legacy control", "op-legacy", WEB, None, []),
    ("session", "op-no-session", WEB, None, [("session-forbidden", "error")]),
    ("session control", "op-no-session", API, None, []),
    ("session copy", "op-no-session", {**WEB, **COPY}, None, [("session-forbidden", "error")] * 3),
    ("session copy control", "op-healthy", {**WEB, **COPY}, None, []),
    (
        "profile forbidden",
        "op-no-profiles",
        {**API, "profile": "team-steal"},
        None,
        [("profile-forbidden", "error")],
    ),
    ("profile control", "op-healthy", {**API, "profile": "team-steal"}, None, []),
    (
        "profile not found",
        "op-healthy",
        {**API, "profile": "no-such"},
        None,
        [("profile-not-found", "error")],
    ),
    (
        "profile unknown change",
        "op-healthy",
        {**API, "profile": "from-the-future"},
        None,
        [("profile-invalid", "error")],
    ),
    (
        "profile namespace conflict",
        "op-healthy",
        {**API, "profile": "default/mirror-only"},
        None,
        [("profile-invalid", "error")],
    ),
    (
        "profile namespaced control",
        "op-healthy",
        {**WEB, "profile": "default/mirror-only"},
        None,
        [],
    ),
    (
        "profile steals",
        "op-healthy",
        {**WEB, "profile": "team-steal"},
        None,
        [("port-locked", "warning")],
    ),
    (
        "expired fallback",
        "op-expired",
        {"target": "statefulset/db", **COPY},
        None,
        [
            ("license-expired", "warning"),
            ("requires-operator", "error"),
            ("target-requires-operator", "error"),
        ],
    ),
    (
        "expired operator true",
        "op-expired",
        {"target": "statefulset/db", **COPY},
        True,
        [("license-expired", "error")],
    ),
    ("expired control", "op-healthy", {"target": "statefulset/db", **COPY}, None, []),
    ("trial expiring", "op-trial-expiring", WEB, None, [("license-expiring", "warning")]),
    ("invalid", "op-invalid", WEB, None, [("operator-invalid", "error")]),
    ("invalid operator true", "op-invalid", WEB, True, [("operator-invalid", "error")]),
    ("invalid operator false", "op-invalid", WEB, False, []),
    (
        "legacy features and protocol",
        "op-legacy",
        {"target": "label/app=web", **METHOD},
        None,
        [("feature-unsupported", "error"), ("protocol-too-old", "error")],
    ),
    (
        "old protocol",
        "op-old-protocol",
        {**WEB, **METHOD},
        None,
        [("port-locked", "warning"), ("protocol-too-old", "error")],
    ),
    ("old protocol control", "op-old-protocol", {**API, **HEADER}, None, []),
    (
        "agent ignored",
        "op-healthy",
        {**WEB, "agent": {"namespace": "x"}},
        None,
        [("agent-config-ignored", "warning")],
    ),
    (
        "agent control",
        "op-expired",
        {**WEB, "agent": {"namespace": "x"}},
        None,
        [("license-expired", "warning")],
    ),
]


@pytest.mark.parametrize(
    ("context", "config", "operator", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
async def test_operator_path_on_loopback(clusters, context, config, operator, expected):
    result, _paths = await preflight(clusters.kubeconfig, context, config, operator)
    assert found(result) == sorted(expected)


async def test_multi_cluster_primary_resolves_remotely(clusters):
    result, _ = await preflight(
        clusters.kubeconfig, "op-multi-cluster", {"target": "deployment/nowhere"}
    )
    assert result.use.used and result.findings == []
    from mirrord_ls.cluster.preflight.operator import target_resolved_locally

    assert not target_resolved_locally(result.use, result.settings)


async def test_request_cost_of_a_happy_preflight(clusters):
    _, paths = await preflight(clusters.kubeconfig, "op-healthy", WEB)
    # discovery's GET, the object GET (shared with discovery once the fact store lands),
    # the certificate review and the session review
    assert paths == [
        f"GET {discovery.OPERATOR_PATH}",
        f"GET {discovery.OPERATOR_PATH}",
        f"POST {SSAR}",
        f"POST {SSAR}",
    ]


def test_cli_serves_the_operator_scenarios(tmp_path):
    """`python -m mirrord_ls.loopback --operator-scenarios`: a context per case, no secret shown."""
    kubeconfig = tmp_path / "kc"
    args = ["-m", "mirrord_ls.loopback", "--operator-scenarios", "--kubeconfig", str(kubeconfig)]
    proc = subprocess.Popen(
        [sys.executable, *args],
        preexec_fn=ctrl_c_reaches_it,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PYTHONPATH": str(Path(discovery.__file__).parents[2]), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:  # blocks on the child's output, no polling
            lines.append(line)
            if line.startswith("Serving until"):
                break
        out = "".join(lines)
        doc = yaml.safe_load(kubeconfig.read_text())
        assert doc["current-context"] == "op-healthy"
        assert {c["name"] for c in doc["contexts"]} >= {"op-no-session", "op-multi-cluster"}
        assert "op-trial-expiring" in out
        for user in doc["users"]:
            for secret in user["user"].values():
                assert str(secret)[-60:] not in out
        proc.send_signal(2)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
