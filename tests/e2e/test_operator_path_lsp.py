"""The operator path end to end: every code through the real server over stdio and through
`mirrord-ls check`, against the loopback operator clusters (`operator_scenarios.py`), with
the requests a cold and a warm preflight cost.

Each case cites the mirrord source that decides it; its control (the same check staying
silent) sits next to it. The clusters' licence dates are relative to today (UTC), and the
server judges them against its own UTC clock.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from lsp_session import lsp_session, open_document, wait_for_diagnostics
from mirrord_ls.cluster.checks.registry import UNITS
from mirrord_ls.cluster.inputs import from_analysis
from mirrord_ls.cluster.service import ClusterService
from mirrord_ls.config.analyze import analyze
from mirrord_ls.loopback.operator_scenarios import start_operator_clusters
from mirrord_ls.loopback.scenarios import DemoClusters

OPERATOR = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
CLUSTER = "mirrord-ls (cluster)"

WEB = {"target": "deployment/web"}
STEAL = {"feature": {"network": {"incoming": "steal"}}}
MIRROR = {"feature": {"network": {"incoming": "mirror"}}}
COPY = {"feature": {"copy_target": True}}
METHOD = {
    "feature": {"network": {"incoming": {"mode": "steal", "http_filter": {"method_filter": "GET"}}}}
}
HEADER = {
    "feature": {
        "network": {"incoming": {"mode": "steal", "http_filter": {"header_filter": "^x: y$"}}}
    }
}
SQS = {"feature": {"split_queues": {"q": {"queue_type": "SQS", "message_filter": {"a": "b"}}}}}

# (id, context, config, [(code, severity, the line's text the finding sits on, message part)])
Expected = list[tuple[str, str, str, str]]
CASES: list[tuple[str, str, dict[str, Any], Expected]] = [
    ("healthy", "op-healthy", WEB, []),
    ("healthy operator true", "op-healthy", {"operator": True, **WEB}, []),
    # sessions.py: crd.rs `Session.locked_ports`; incoming.rs `ConcurrentSteal` (abort).
    (
        "port-locked",
        "op-healthy",
        {**WEB, **STEAL},
        [("port-locked", "warning", '"incoming"', "carol")],
    ),
    ("port-locked control (mirror)", "op-healthy", {**WEB, **MIRROR}, []),
    # client.rs `get_client_certificate` (ExtendableUserCredentials: create the credential).
    (
        "certificate-forbidden",
        "op-no-certificate",
        WEB,
        [
            (
                "certificate-forbidden",
                "error",
                '"kube_context"',
                "mirrordclusteroperatorusercredentials",
            )
        ],
    ),
    # client.rs `connect_in_new_session` / `target_connect_url` (ProxyApi: verb proxy).
    (
        "session-forbidden",
        "op-no-session",
        WEB,
        [("session-forbidden", "error", '"target"', "proxy targets")],
    ),
    # profile.rs `fetch_profile`: "failed to fetch the mirrord profile".
    (
        "profile-forbidden",
        "op-no-profiles",
        {**WEB, "profile": "default/mirror-only"},
        [("profile-forbidden", "error", '"profile"', "failed to fetch the mirrord profile")],
    ),
    ("profile control", "op-healthy", {**WEB, "profile": "default/mirror-only"}, []),
    # profile.rs: "mirrord profile was not found in the cluster".
    (
        "profile-not-found",
        "op-healthy",
        {**WEB, "profile": "no-such"},
        [("profile-not-found", "error", '"profile"', "was not found in the cluster")],
    ),
    # client.rs `check_license_validity` + connection.rs: unset -> warn and run without it.
    (
        "license-expired, unset",
        "op-expired",
        WEB,
        [("license-expired", "warning", '"kube_context"', "open-source mode")],
    ),
    (
        "license-expired, operator true",
        "op-expired",
        {"operator": True, **WEB},
        [("license-expired", "error", '"operator"', "operator license expired")],
    ),
    # After the licence fallback the open-source rules apply (connection.rs
    # `process_config_oss`: "Feature `copy_target` requires using mirrord operator").
    (
        "requires-operator after the licence fallback",
        "op-expired",
        {**WEB, **COPY},
        [
            ("license-expired", "warning", '"kube_context"', "open-source mode"),
            ("requires-operator", "error", '"copy_target"', "requires using mirrord operator"),
        ],
    ),
    (
        "split_queues ignored after the licence fallback",
        "op-expired",
        {**WEB, **SQS},
        [
            ("license-expired", "warning", '"kube_context"', "open-source mode"),
            ("requires-operator", "warning", '"split_queues"', "silently ignore"),
        ],
    ),
    (
        "target-requires-operator after the licence fallback",
        "op-expired",
        {"target": "statefulset/db"},
        [
            ("license-expired", "warning", '"kube_context"', "open-source mode"),
            ("target-requires-operator", "error", '"target"', "target type statefulset"),
        ],
    ),
    ("operator-only target control", "op-healthy", {"target": "statefulset/db"}, []),
    # client.rs `check_license_validity`: "Operator license will expire soon, in 1 day!".
    (
        "license-expiring",
        "op-trial-expiring",
        WEB,
        [("license-expiring", "warning", '"kube_context"', "will expire soon")],
    ),
    # client.rs `OperatorApi::try_new`: the object does not deserialize -> error.
    (
        "operator-invalid",
        "op-invalid",
        WEB,
        [("operator-invalid", "error", '"kube_context"', "finding operator failed")],
    ),
    # client.rs `check_feature_support`: "Feature `copy target` is not supported ...".
    (
        "feature-unsupported",
        "op-legacy",
        {**WEB, **COPY},
        [("feature-unsupported", "error", '"copy_target"', "is not supported in mirrord operator")],
    ),
    ("feature control", "op-healthy", {**WEB, **COPY}, []),
    # http_filter.rs `ensure_usable_with`: method filters need protocol 1.20.0.
    (
        "protocol-too-old",
        "op-old-protocol",
        {**WEB, **METHOD},
        [
            (
                "protocol-too-old",
                "error",
                '"http_filter"',
                "protocol version used by mirrord-agent",
            ),
            ("port-locked", "warning", '"incoming"', "carol"),
        ],
    ),
    (
        "protocol control (header filter)",
        "op-old-protocol",
        {**WEB, **HEADER},
        [("port-locked", "warning", '"incoming"', "carol")],
    ),
    # connection.rs `create_and_connect`: "Agent configuration is ignored when using ...".
    (
        "agent-config-ignored",
        "op-healthy",
        {**WEB, "agent": {"namespace": "elsewhere"}},
        [("agent-config-ignored", "warning", '"namespace"', "Agent configuration is ignored")],
    ),
    ("agent control (a default value)", "op-healthy", {**WEB, "agent": {"ttl": 1}}, []),
    # connection.rs `try_connect_using_operator`: a multi-cluster primary resolves the target
    # in a workload cluster: no local target-not-found.
    ("multi-cluster", "op-multi-cluster", {"target": "deployment/elsewhere"}, []),
    (
        "multi-cluster control",
        "op-healthy",
        {"target": "deployment/elsewhere"},
        [("target-not-found", "error", '"target"', "does not exist")],
    ),
]


@pytest.fixture(scope="module")
def op_clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoClusters]:
    path = tmp_path_factory.mktemp("op-lsp") / "kubeconfig"
    with start_operator_clusters(path) as demo:
        yield demo


def config_text(context: str, config: dict[str, Any]) -> str:
    return json.dumps({"kube_context": context, **config}, indent=2) + "\n"


def line_of(text: str, needle: str) -> int:
    """The line of the first occurrence of `needle` (a key as written)."""
    return text[: text.index(needle)].count("\n")


def expected(text: str, want: Expected) -> list[tuple[str, str, int]]:
    return sorted((code, sev, line_of(text, needle)) for code, sev, needle, _ in want)


def write_cases(work: Path) -> list[tuple[str, Path, str, Expected]]:
    out = []
    for i, (name, context, config, want) in enumerate(CASES):
        path = work / f"case{i:02d}-mirrord.json"
        text = config_text(context, config)
        path.write_text(text)
        out.append((name, path, text, want))
    return out


SEVERITY = {
    types.DiagnosticSeverity.Error: "error",
    types.DiagnosticSeverity.Warning: "warning",
    types.DiagnosticSeverity.Information: "information",
}


def status_capabilities() -> types.ClientCapabilities:
    from pytest_lsp import client_capabilities

    caps = client_capabilities("visual-studio-code")
    caps.experimental = {"mirrordStatus": True}
    return caps


async def test_every_operator_path_code_over_lsp(op_clusters: DemoClusters, tmp_path: Path) -> None:
    work = tmp_path / "ws"
    work.mkdir()
    cases = write_cases(work)
    statuses: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def checked(uri: str) -> None:
        """Wait for the status of `uri` (the active document) after its cluster walk: the
        verdict is in it only once the walk is done, and the diagnostics precede it."""

        async def waiter() -> None:
            while True:
                if any(s.get("document") == uri and s.get("operator") for s in statuses):
                    return
                arrived.clear()
                await arrived.wait()

        try:
            await asyncio.wait_for(waiter(), 60)
        except TimeoutError:
            raise AssertionError(f"no checked status for {uri}: {statuses[-3:]}") from None

    async with lsp_session(
        work,
        capabilities=status_capabilities(),
        env={"KUBECONFIG": str(op_clusters.kubeconfig), "HOME": str(tmp_path)},
    ) as lsp:

        @lsp.feature("mirrord/status")
        def on_status(params: Any) -> None:
            value = params._asdict() if hasattr(params, "_asdict") else params
            statuses.append(dict(value))
            arrived.set()

        failures = []
        for name, path, text, want in cases:
            uri = open_document(lsp, path, "json")
            lsp.protocol.notify("mirrord/activeDocument", {"uri": uri})
            await checked(uri)
            diags = [
                d
                for d in lsp.diagnostics.get(uri, [])
                if d.source == CLUSTER and d.code not in AGENT_CODES
            ]
            got = sorted((str(d.code), SEVERITY[d.severity], d.range.start.line) for d in diags)
            if got != expected(text, want):
                failures.append((name, got, expected(text, want)))
                continue
            for code, _sev, _needle, part in want:
                message = next(d.message for d in diags if d.code == code)
                if part not in message:
                    failures.append((name, code, message))
        assert failures == []

        # certificate-forbidden offers the RoleBinding quick fix, as operator-forbidden does.
        _name, path, _text, _want = next(c for c in cases if c[0] == "certificate-forbidden")
        uri = path.as_uri()
        diags = [d for d in lsp.diagnostics[uri] if d.code == "certificate-forbidden"]
        actions = await lsp.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=diags[0].range,
                context=types.CodeActionContext(diagnostics=diags),
            )
        )
        titles = [a.title for a in actions or []]
        assert "Copy the RoleBinding for your admin" in titles

        # The hover on `operator`: version, licence (days left), features, sessions; no secret.
        name, path, text, _want = cases[1]
        uri = path.as_uri()
        hover = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line_of(text, '"operator"'), character=4),
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        shown = hover.contents.value
        assert "operator version: 3." in shown
        assert "licence: " in shown and "day(s) left" in shown
        assert "ProxyApi" in shown and "active sessions: " in shown
        assert "mirrord will use the operator" in shown
        assert "fingerprint" not in shown.lower() and "subscription" not in shown.lower()

        # The hover on `target` lists the sessions on it (carol holds port 8080 of web).
        hover = await lsp.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line_of(text, '"target"'), character=4),
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "Active mirrord sessions on this target (1)" in hover.contents.value
        assert "carol" in hover.contents.value


def run_check(paths: list[Path], kubeconfig: Path, home: Path) -> dict[str, list[dict[str, Any]]]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "mirrord_ls", "check", *map(str, paths), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
        cwd=paths[0].parent,
    )
    assert result.returncode in (0, 1), result.stderr
    return {Path(d["path"]).name: d["diagnostics"] for d in json.loads(result.stdout)}


def test_every_operator_path_code_through_check(op_clusters: DemoClusters, tmp_path: Path) -> None:
    work = tmp_path / "check"
    work.mkdir()
    cases = write_cases(work)
    out = run_check([path for _, path, _, _ in cases], op_clusters.kubeconfig, tmp_path)
    failures = []
    for name, path, text, want in cases:
        diags = [
            d for d in out[path.name] if d["source"] == CLUSTER and d["code"] not in AGENT_CODES
        ]
        got = sorted((d["code"], d["severity"], d["range"]["start"]["line"]) for d in diags)
        if got != expected(text, want):
            failures.append((name, got, expected(text, want)))
            continue
        for code, _sev, _needle, part in want:
            if part not in next(d["message"] for d in diags if d["code"] == code):
                failures.append((name, code))
    assert failures == []


# After a licence fallback mirrord makes its own agent: the agent units' findings are
# theirs to test (tests/e2e/test_agent_units.py); here only the operator path is judged.
AGENT_CODES = {c for u in UNITS if u.name.startswith("agent-") for c in u.codes}

WEB_GET = ("GET", "/apis/apps/v1/namespaces/default/deployments/web")
BUDGETS = [
    # A usable operator: the operator GET, the certificate and session reviews, the target.
    ("op-healthy", WEB, [("GET", OPERATOR), ("POST", SSAR), ("POST", SSAR), WEB_GET]),
    # The licence fallback: nothing beyond the operator GET (and the target).
    ("op-expired", WEB, [("GET", OPERATOR), WEB_GET]),
    # `operator: false`: nothing asked of the operator.
    ("op-healthy", {"operator": False, **WEB}, [WEB_GET]),
]


@pytest.mark.parametrize(("context", "config", "requests"), BUDGETS)
def test_cold_preflight_costs_the_documented_requests(
    tmp_path: Path, context: str, config: dict[str, Any], requests: list[tuple[str, str]]
) -> None:
    """docs/architecture.md and docs/preflight-operator.md: what a cold preflight asks, read
    from the loopback request log; a warm one asks nothing."""
    with start_operator_clusters(tmp_path / "kubeconfig") as demo:
        server = demo.servers[context]
        ws = tmp_path / "ws"  # the kubeconfig is not inside the (untrusted) workspace
        ws.mkdir()
        path = ws / "budget-mirrord.json"
        path.write_text(config_text(context, config))
        before = len(server.log.records())
        (diags,) = run_check([path], demo.kubeconfig, tmp_path).values()
        # Without the operator, mirrord makes its own agent: the agent units then read their
        # own facts (their budget: docs/preflight-agent.md, tests/e2e/test_agent_units.py).
        open_source = context == "op-expired" or config.get("operator") is False
        codes = {d["code"] for d in diags if d["source"] == CLUSTER}
        if not open_source:
            assert codes <= {"license-expired"}
        made = [(r.method, r.path) for r in server.log.records()[before:]]
        if open_source:
            made = [r for r in made if r[1].startswith("/apis/operator") or r == WEB_GET]
        assert sorted(made) == sorted(requests)

        async def twice() -> tuple[int, int]:
            service = ClusterService()
            inputs = from_analysis(analyze(config_text(context, config), "json", None, {}, None))
            env = {"KUBECONFIG": str(demo.kubeconfig), "HOME": str(tmp_path)}
            try:
                counts = []
                for _ in range(2):
                    start = len(server.log.records())
                    await service.check(inputs, config_path=path, workspace_folder=ws, env=env)
                    counts.append(len(server.log.records()) - start)
                return counts[0], counts[1]
            finally:
                service.close()

        cold, warm = asyncio.run(twice())
        assert warm == 0
        assert cold == len(requests) if not open_source else cold >= len(requests)


async def test_licence_rejudged_when_the_date_changes_without_a_request(
    tmp_path: Path,
) -> None:
    """Issue 13: licence dates are re-judged at midnight UTC without a request. The server's
    background loop looks at the UTC date; the test moves the checks' clock two days on
    (`mirrord-ls.internals {"advanceDays": 2}`, enabled only by MIRRORD_LS_INTERNALS=1)
    and waits for the trial licence that ended meanwhile to show as expired."""
    work = tmp_path / "ws"
    work.mkdir()
    with start_operator_clusters(tmp_path / "kubeconfig") as demo:
        server = demo.servers["op-trial-expiring"]  # a trial licence ending tomorrow (UTC)
        path = work / "app-mirrord.json"
        path.write_text(config_text("op-trial-expiring", WEB))
        env = {
            "KUBECONFIG": str(demo.kubeconfig),
            "HOME": str(tmp_path),
            "MIRRORD_LS_INTERNALS": "1",
        }
        # No periodic re-check (it would GET the operator): only the date look runs.
        settings = {"cluster": {"recheckSeconds": 0}}
        async with lsp_session(work, settings=settings, env=env) as lsp:
            uri = open_document(lsp, path, "json")
            await wait_for_diagnostics(
                lsp, uri, lambda ds: any(d.code == "license-expiring" for d in ds), within=60
            )
            asked = sum(1 for r in server.log.records() if r.path == OPERATOR)
            await lsp.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command="mirrord-ls.internals", arguments=[{"advanceDays": 2}]
                )
            )
            # connection.rs: expired with `operator` unset -> warn and run without it.
            diags = await wait_for_diagnostics(
                lsp, uri, lambda ds: any(d.code == "license-expired" for d in ds), within=90
            )
            expired = next(d for d in diags if d.code == "license-expired")
            assert expired.severity == types.DiagnosticSeverity.Warning
            assert not any(d.code == "license-expiring" for d in diags)
            assert sum(1 for r in server.log.records() if r.path == OPERATOR) == asked
