"""Fuzzing operator discovery: any sequence of API answers gets the verdict the table says.

A fake requester serves answers hypothesis draws (status codes, bodies of every shape,
Retry-After values, delays, transport failures) on a fake clock, so retries and deadlines
cost no real time. The oracle is the decision table of `operator-discovery.md`, applied to
the last answer of each step; the fuzz also bounds the tries per step and the time spent.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirrord_ls.cluster import discovery
from mirrord_ls.cluster.api import Response, TransportError

VERDICTS = set(get_args(discovery.VerdictKind))
RETRY = {429, 503, 504}

OPERATOR_DOC = {
    "apiVersion": "operator.metalbear.co/v1",
    "kind": "MirrordOperator",
    "metadata": {"name": "operator"},
    "spec": {
        "operator_version": "3.250.0",
        "default_namespace": "mirrord",
        "license": {"name": "acme", "organization": "acme", "expire_at": "2030-01-01"},
    },
}
LISTED = {
    "kind": "APIResourceList",
    "groupVersion": "operator.metalbear.co/v1",
    "resources": [
        {"name": "mirrordoperators/certificate", "kind": "MirrordOperator"},
        {"name": "mirrordoperators", "kind": "MirrordOperator", "verbs": ["get"]},
    ],
}
NOT_LISTED = {
    "kind": "APIResourceList",
    "resources": [
        {"name": "targets", "kind": "Target"},
        {"name": "mirrordoperators/certificate", "kind": "MirrordOperator"},
    ],
}
STATUS_403 = {
    "kind": "Status",
    "status": "Failure",
    "reason": "Forbidden",
    "code": 403,
    "message": 'mirrordoperators.operator.metalbear.co "operator" is forbidden: User "bob" cannot',
}

BODIES = st.one_of(
    st.sampled_from(
        [
            json.dumps(OPERATOR_DOC).encode(),
            json.dumps(LISTED).encode(),
            json.dumps(NOT_LISTED).encode(),
            json.dumps(STATUS_403).encode(),
            json.dumps({"kind": "SelfSubjectAccessReview", "status": {"allowed": True}}).encode(),
            json.dumps({"kind": "SelfSubjectAccessReview", "status": {"allowed": False}}).encode(),
            b"",
            b"null",
            b"[]",
            b"42",
            b'{"spec": 3}',
            b'{"resources": "x"}',
            b'{"resources": [1, null, {"kind": "MirrordOperator", "name": 7}]}',
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            b"\xff\xfe\x00garbage\x80",
            b'{"kind": "MirrordOperator", "spec": {',
            b"a" * (1024 * 1024),
        ]
    ),
    st.binary(max_size=64),
)
STATUSES = st.one_of(
    st.sampled_from([200, 201, 204, 301, 302, 400, 401, 403, 404, 405, 409, 429, 500, 502])
    | st.sampled_from([503, 503, 504]),
    st.integers(100, 599),
)
RETRY_AFTER = st.sampled_from(
    [None, "0", "1", "2.5", "-3", "nan", "inf", "abc", "1e9", "Wed, 21 Oct 2015 07:28:00 GMT"]
)
DELAYS = st.sampled_from([0.0, 0.0, 0.05, 0.7, 3.0, 30.0])
TRANSPORT = st.sampled_from(["refused", "dns", "timeout", "tls", "reset", "proxy", "other"])


@dataclass
class Answer:
    path: str
    method: str
    status: int | None  # None: a transport failure
    body: bytes = b""
    error: str = ""


@dataclass
class FakeCluster:
    data: st.DataObject
    now: float = 0.0
    served: list[Answer] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds

    async def request(
        self, method: str, path: str, *, body: Any = None, timeout: float = 10.0
    ) -> Response:
        assert timeout > 0
        if self.data.draw(st.integers(0, 9), label="transport?") == 0:
            kind = self.data.draw(TRANSPORT, label="kind")
            self.served.append(Answer(path, method, None, error=kind))
            self.now += min(timeout, self.data.draw(DELAYS, label="delay"))
            raise TransportError(kind, f"fake {kind}")  # type: ignore[arg-type]
        delay = self.data.draw(DELAYS, label="delay")
        if delay >= timeout:  # what ApiConnection does with a server that is too slow
            self.now += timeout
            self.served.append(Answer(path, method, None, error="timeout"))
            raise TransportError("timeout", "too slow")
        self.now += delay
        status = self.data.draw(STATUSES, label="status")
        payload = self.data.draw(BODIES, label="body")
        headers = {"content-type": "application/json"}
        retry_after = self.data.draw(RETRY_AFTER, label="retry-after")
        if retry_after is not None:
            headers["retry-after"] = retry_after
        self.served.append(Answer(path, method, status, payload))
        return Response(status, headers, payload)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def is_operator(body: bytes) -> bool:
    doc = _json(body)
    return (
        isinstance(doc, dict)
        and doc.get("kind") in (None, "MirrordOperator")
        and isinstance(doc.get("spec"), dict)
    )


def is_resource_list(body: bytes) -> bool:
    doc = _json(body)
    return isinstance(doc, dict) and isinstance(doc.get("resources"), list)


def oracle(served: list[Answer], has_credentials: bool) -> str:
    """The decision table, on the last answer of each step."""
    steps: dict[str, list[Answer]] = {}
    for a in served:
        steps.setdefault(a.path, []).append(a)
    first = steps[discovery.OPERATOR_PATH][-1]
    if first.status is None:
        return "tls-error" if first.error == "tls" else "unreachable"
    if 200 <= first.status < 300:
        return "installed" if is_operator(first.body) else "check-failed"
    if first.status == 401:
        return "auth-failed"
    pinned = steps[discovery.DISCOVERY_PATH][-1]
    if pinned.status is None:
        return "check-failed"
    listed = 200 <= pinned.status < 300 and discovery.kind_listed(_json(pinned.body))
    if listed:
        return "forbidden" if first.status == 403 else "check-failed"
    if pinned.status == 404:
        return "not-installed"
    if 200 <= pinned.status < 300:
        # A well-formed list without the kind: not installed. A body that is no list at all
        # (a proxy's page, garbage): mirrord cannot tell.
        return "not-installed" if is_resource_list(pinned.body) else "check-failed"
    if pinned.status == 401:
        return "auth-failed"
    if pinned.status == 403 and not has_credentials:
        return "auth-failed"
    return "check-failed"


def check_requests(served: list[Answer], verdict: discovery.Verdict) -> None:
    assert verdict.requests == len(served)
    order = [discovery.OPERATOR_PATH, discovery.DISCOVERY_PATH, discovery.SSAR_PATH]
    paths = [a.path for a in served]
    # Steps run in order, each at most 1 + MAX_RETRIES times, retried only after 429/503/504.
    assert paths == sorted(paths, key=order.index)
    for path in set(paths):
        tries = [a for a in served if a.path == path]
        assert len(tries) <= 3, (path, len(tries))
        for earlier in tries[:-1]:
            assert earlier.status in RETRY, (path, earlier.status)
    if discovery.DISCOVERY_PATH in paths:
        first = [a for a in served if a.path == discovery.OPERATOR_PATH][-1]
        assert first.status is not None and first.status != 401
        assert not 200 <= first.status < 300
    if discovery.SSAR_PATH in paths:
        assert verdict.kind == "forbidden"
        assert all(a.method == "POST" for a in served if a.path == discovery.SSAR_PATH)


@pytest.fixture
def run_decide(monkeypatch: pytest.MonkeyPatch) -> Any:
    def run(
        data: st.DataObject, setting: bool | None, timeout: float, creds: bool
    ) -> tuple[discovery.Verdict, FakeCluster]:
        fake = FakeCluster(data)
        monkeypatch.setattr(discovery, "time", SimpleNamespace(monotonic=fake.monotonic))
        monkeypatch.setattr(discovery, "asyncio", SimpleNamespace(sleep=fake.sleep))
        verdict = asyncio.run(
            discovery.decide(fake.request, setting, timeout=timeout, has_credentials=creds)
        )
        return verdict, fake

    return run


@settings(
    deadline=None,
    max_examples=int(os.environ.get("MIRRORD_LS_FUZZ_EXAMPLES", "500")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    setting=st.sampled_from([None, True, None, False]),
    timeout=st.sampled_from([0.5, 2.0, 10.0, 30.0]),
    creds=st.booleans(),
)
def test_any_answers_get_the_table_verdict(
    run_decide: Any, data: st.DataObject, setting: bool | None, timeout: float, creds: bool
) -> None:
    verdict, fake = run_decide(data, setting, timeout, creds)
    assert verdict.kind in VERDICTS
    assert isinstance(verdict.detail, str) and verdict.detail.strip()
    if setting is False:
        assert verdict.kind == "disabled" and not fake.served
        return
    assert verdict.kind == oracle(fake.served, creds), fake.served
    check_requests(fake.served, verdict)
    # The whole check stays inside its deadline (fake clock: requests, backoff, Retry-After).
    assert fake.now <= timeout + 1e-9


def test_garbage_discovery_answer_is_not_not_installed() -> None:
    """A proxy's 200 HTML page on the discovery path says nothing about the operator."""

    answers = iter(
        [
            Response(403, {}, json.dumps(STATUS_403).encode()),
            Response(200, {"content-type": "text/html"}, b"<html>login</html>"),
        ]
    )

    async def request(method: str, path: str, **_: Any) -> Response:
        return next(answers)

    verdict = asyncio.run(discovery.decide(request, None, timeout=5))
    assert verdict.kind == "check-failed", verdict
    assert "200" in verdict.detail
