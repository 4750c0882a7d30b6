"""An installed operator whose GET fails (not 403/404) stops mirrord, whatever `operator` says.

mirrord `mirrord/operator/src/client.rs` `OperatorApi::try_new`: on an HTTP error other than
404 it runs `discovery::operator_installed`; `Ok(true)` (the MirrordOperator kind is listed)
returns the error and mirrord stops ("mirrord operator API failed: ..."); only when discovery
fails too, and `operator` is unset, does mirrord go on without the operator.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from cluster.apihelpers import resolve, write_kubeconfig
from mirrord_ls.cluster.api import Response
from mirrord_ls.cluster.checks.operator import verdict_finding
from mirrord_ls.cluster.discovery import DISCOVERY_PATH, OPERATOR_PATH, decide

LISTED = {
    "kind": "APIResourceList",
    "groupVersion": "operator.metalbear.co/v1",
    "resources": [{"name": "mirrordoperators", "kind": "MirrordOperator", "verbs": ["get"]}],
}


def requester(operator_status: int, discovery_status: int, discovery_body: Any) -> Any:
    async def request(method: str, path: str, **_: Any) -> Response:
        if path == OPERATOR_PATH:
            return Response(operator_status, {}, b'{"kind": "Status"}')
        assert path == DISCOVERY_PATH
        return Response(discovery_status, {}, json.dumps(discovery_body).encode())

    return request


@pytest.mark.parametrize("setting", [None, True])
@pytest.mark.parametrize("status", [500, 400, 409])
def test_listed_kind_with_a_failing_get_is_an_error(
    tmp_path: Path, setting: bool | None, status: int
) -> None:
    verdict = asyncio.run(decide(requester(status, 200, LISTED), setting, timeout=5))
    assert verdict.kind == "check-failed" and verdict.listed
    resolved = resolve(write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1", None, {}))
    finding = verdict_finding(verdict, setting, resolved)
    assert finding is not None
    assert (finding.code, finding.severity) == ("operator-check-failed", "error")
    assert "will stop" in finding.message


def test_unlisted_failure_with_operator_unset_is_the_quiet_fallback(tmp_path: Path) -> None:
    verdict = asyncio.run(decide(requester(500, 404, {"kind": "Status"}), None, timeout=5))
    assert verdict.kind == "not-installed"  # discovery 404: mirrord runs without it
    verdict = asyncio.run(decide(requester(500, 500, {"kind": "Status"}), None, timeout=5))
    assert verdict.kind == "check-failed" and not verdict.listed
    resolved = resolve(write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:1", None, {}))
    finding = verdict_finding(verdict, None, resolved)
    assert finding is not None and finding.severity == "warning"
