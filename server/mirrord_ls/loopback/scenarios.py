"""Ready-made loopback clusters: the demo's scenarios and the CLI's sample cluster.

`start_demo_clusters(path)` starts one server per operator state (a state is
per server, and the demo wants them side by side) and writes one kubeconfig
with a context per scenario:

| context            | server                | user  | what mirrord would meet            |
|--------------------|-----------------------|-------|------------------------------------|
| `healthy`          | operator installed    | alice | operator usable (mirrord-operator-user) |
| `forbidden`        | the same server       | bob   | 403 on the operator: RBAC          |
| `not-installed`    | no operator           | alice | 403/404, then pinned-kind 404      |
| `operator-down`    | APIService down       | alice | 503 under the operator's group     |
| `unreachable`      | a closed 127.0.0.1 port | alice | connection refused                |

With `tls_failures=True`, also `expired-certificate` and `wrong-name`.
Every user may read the sample workloads in every namespace.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from mirrord_ls.loopback.apiserver import LoopbackApiServer, OperatorState
from mirrord_ls.loopback.certs import TlsMode
from mirrord_ls.loopback.kubeconfig import KubeContext, write_kubeconfig
from mirrord_ls.loopback.rbac import PolicyRule, rule
from mirrord_ls.loopback.users import User

# Enough to look at targets: what `kubectl get` and mirrord's target checks read.
WORKLOAD_READER_RULES: tuple[PolicyRule, ...] = (
    rule(["get", "list", "watch"], ["namespaces", "pods", "services"]),
    rule(
        ["get", "list", "watch"],
        ["deployments", "statefulsets", "replicasets"],
        groups=["apps"],
    ),
    rule(["get", "list", "watch"], ["jobs", "cronjobs"], groups=["batch"]),
    rule(["get", "list", "watch"], ["rollouts"], groups=["argoproj.io"]),
)


class ReservedPort:
    """A 127.0.0.1 port that refuses connections, and stays ours while this lives.

    The socket is bound but never listens: connecting gets ECONNREFUSED, and
    no other process can take the port meanwhile (unlike a port we closed).
    """

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._sock.close()


@dataclass(frozen=True)
class Scenario:
    context: str
    description: str
    expected: str
    """The verdict the editor should reach: ok, forbidden, not-installed, down, unreachable, tls."""


@dataclass
class DemoClusters:
    """The running servers behind the demo kubeconfig; `stop()` (or `with`) ends them all."""

    kubeconfig: Path
    scenarios: list[Scenario]
    servers: dict[str, LoopbackApiServer]
    reserved_port: ReservedPort
    contexts: dict[str, KubeContext] = field(default_factory=dict)

    def server_for(self, context: str) -> LoopbackApiServer | None:
        """The server a context points at (None for `unreachable`)."""
        return self.servers.get(context)

    def stop(self) -> None:
        for server in {id(s): s for s in self.servers.values()}.values():
            server.stop()
        self.reserved_port.close()

    def __enter__(self) -> DemoClusters:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _server(state: OperatorState, tls: TlsMode = TlsMode.VALID) -> LoopbackApiServer:
    server = LoopbackApiServer(operator_state=state, tls=tls)
    server.rbac.add_cluster_role("workload-reader", WORKLOAD_READER_RULES)
    server.rbac.bind_cluster_role("workload-reader", groups=["system:authenticated"])
    return server


def start_demo_clusters(
    kubeconfig: str | Path,
    *,
    namespace: str = "default",
    tls_failures: bool = False,
    round_trip: float = 0.0,
) -> DemoClusters:
    """Start the demo's servers and write their kubeconfig (current context: `healthy`)."""
    started: list[LoopbackApiServer] = []
    reserved = ReservedPort()
    try:
        healthy = _server(OperatorState.INSTALLED)
        alice = healthy.add_user("alice")
        bob = healthy.add_user("bob")
        healthy.allow_mirrord_operator_user(users=["alice"])

        # No chart, so no mirrord-operator-user role to bind: alice meets 403, then 404.
        missing = _server(OperatorState.NOT_INSTALLED)
        missing_alice = missing.add_user("alice")

        down = _server(OperatorState.DOWN)
        down_alice = down.add_user("alice")
        down.allow_mirrord_operator_user(users=["alice"])

        # context name -> (server, user); contexts need URLs, known once servers listen.
        plan: dict[str, tuple[LoopbackApiServer, User]] = {
            "healthy": (healthy, alice),
            "forbidden": (healthy, bob),
            "not-installed": (missing, missing_alice),
            "operator-down": (down, down_alice),
        }
        scenarios = [
            Scenario("healthy", "operator installed, alice may use it", "ok"),
            Scenario("forbidden", "operator installed, RBAC forbids bob to use it", "forbidden"),
            Scenario("not-installed", "no operator in this cluster", "not-installed"),
            Scenario("operator-down", "operator installed but its API answers 503", "down"),
            Scenario("unreachable", "nothing listens at the cluster's address", "unreachable"),
        ]
        if tls_failures:
            for name, mode in (
                ("expired-certificate", TlsMode.EXPIRED),
                ("wrong-name", TlsMode.WRONG_NAME),
            ):
                server = _server(OperatorState.INSTALLED, mode)
                server.allow_mirrord_operator_user(users=["alice"])
                plan[name] = (server, server.add_user("alice"))
                scenarios.append(Scenario(name, f"the server's certificate: {mode.value}", "tls"))

        for server in {id(s): s for s, _ in plan.values()}.values():
            server.round_trip = round_trip
            started.append(server.start())
        contexts = [
            server.context(user, name=name, namespace=namespace)
            for name, (server, user) in plan.items()
        ]
        contexts.insert(
            4,
            KubeContext(
                name="unreachable",
                server=reserved.url,
                user=alice,
                ca_pem=healthy.ca_pem,
                namespace=namespace,
                cluster="unreachable",
            ),
        )
        path = write_kubeconfig(kubeconfig, contexts, current="healthy")
    except BaseException:
        for server in started:
            server.stop()
        reserved.close()
        raise
    return DemoClusters(
        kubeconfig=path,
        scenarios=scenarios,
        servers={name: server for name, (server, _user) in plan.items()},
        reserved_port=reserved,
        contexts={c.name: c for c in contexts},
    )


def start_sample_cluster(round_trip: float = 0.0) -> LoopbackApiServer:
    """One started server with users alice (may use the operator, token), bob (may not,
    token) and carol (may use it, client certificate); everyone reads the workloads."""
    server = _server(OperatorState.INSTALLED)
    server.round_trip = round_trip
    server.add_user("alice")
    server.add_user("bob")
    server.add_user("carol", ["mirrord-users"], token=False, client_cert=True)
    server.allow_mirrord_operator_user(users=["alice"], groups=["mirrord-users"])
    return server.start()
