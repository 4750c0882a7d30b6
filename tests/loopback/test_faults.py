"""Injected faults, the global round trip, and the request log."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time

import pytest

from mirrord_ls.loopback import Fault, LoopbackApiServer

OPERATOR_PATH = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
OPERATOR_GLOB = "/apis/operator.metalbear.co/*"


def test_latency_fault_delays_then_answers(server, call):
    server.inject(Fault.latency(OPERATOR_GLOB, 0.3, times=1))
    start = time.monotonic()
    assert call("GET", OPERATOR_PATH, user=server.user("alice")).status == 200
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    assert call("GET", OPERATOR_PATH, user=server.user("alice")).status == 200
    assert time.monotonic() - start < 0.3


def test_round_trip_applies_to_every_request(server, call):
    server.round_trip = 0.2
    start = time.monotonic()
    call("GET", "/version", user=server.user("alice"))
    call("GET", "/apis", user=server.user("alice"))
    assert time.monotonic() - start >= 0.4


def test_a_new_connection_pays_the_tcp_and_tls_handshakes_once(server, connect):
    server.round_trip = 0.2
    before = server.connections
    conn = connect(server.user("alice"))
    start = time.monotonic()
    assert conn.request("GET", "/version").status == 200
    first = time.monotonic() - start
    start = time.monotonic()
    assert conn.request("GET", "/version").status == 200
    second = time.monotonic() - start
    assert first >= 3 * 0.2  # TCP handshake, TLS 1.3 handshake, the request
    assert second >= 0.2
    assert server.connections - before == 1  # the second request reused the connection


def test_hang_holds_the_request_until_cleared_without_blocking_others(server, connect):
    fault = server.inject(Fault.hang(OPERATOR_PATH))
    result: dict[str, int] = {}

    def hung() -> None:
        result["status"] = connect(server.user("alice")).request("GET", OPERATOR_PATH).status

    thread = threading.Thread(target=hung, daemon=True)
    thread.start()
    server.log.wait_for(1, OPERATOR_PATH, timeout=5)
    # Another request goes through while the first hangs.
    assert connect(server.user("alice")).request("GET", "/version").status == 200
    assert "status" not in result
    assert fault.hits == 1
    server.clear_faults()
    thread.join(timeout=5)
    assert result["status"] == 200


def test_stop_does_not_wait_for_hung_requests(connect):
    srv = LoopbackApiServer().start()
    alice = srv.add_user("alice")
    srv.inject(Fault.hang("/version"))
    errors: list[BaseException] = []

    def hung() -> None:
        try:
            connect(alice, srv=srv, timeout=10).request("GET", "/version")
        except (OSError, http.client.HTTPException) as exc:
            errors.append(exc)

    thread = threading.Thread(target=hung, daemon=True)
    thread.start()
    srv.log.wait_for(1, "/version", timeout=5)
    idle = connect(alice, srv=srv)
    assert idle.request("GET", "/apis").status == 200  # a kept-alive idle connection too
    start = time.monotonic()
    srv.stop()
    assert time.monotonic() - start < 2
    thread.join(timeout=5)
    assert not thread.is_alive() and errors


def test_reset_closes_mid_body(server, connect):
    server.inject(Fault.reset(OPERATOR_PATH, times=1))
    conn = connect(server.user("alice"))
    with pytest.raises((ConnectionError, http.client.IncompleteRead, ssl.SSLError)):
        conn.request("GET", OPERATOR_PATH)
    assert server.log.matching(OPERATOR_PATH)[0].fault == "reset"
    assert connect(server.user("alice")).request("GET", OPERATOR_PATH).status == 200


def test_status_fault_with_retry_after(server, call):
    server.inject(Fault.status_code(OPERATOR_PATH, 429, retry_after=3, times=2))
    for _ in range(2):
        reply = call("GET", OPERATOR_PATH, user=server.user("alice"))
        assert reply.status == 429
        assert reply.headers["Retry-After"] == "3"
        assert reply.json["reason"] == "TooManyRequests"
    assert call("GET", OPERATOR_PATH, user=server.user("alice")).status == 200


def test_status_fault_with_plain_body_and_method_filter(server, call):
    server.inject(Fault.status_code(OPERATOR_GLOB, 504, body=b"upstream timed out", method="POST"))
    assert call("GET", OPERATOR_PATH, user=server.user("alice")).status == 200
    reply = call("POST", "/apis/operator.metalbear.co/v1/copytargets", user=server.user("alice"))
    assert reply.status == 504 and reply.body == b"upstream timed out"


def test_garbage_body(server, call):
    server.inject(Fault.garbage(OPERATOR_PATH))
    reply = call("GET", OPERATOR_PATH, user=server.user("alice"))
    assert reply.status == 200 and reply.content_type == "application/json"
    with pytest.raises(ValueError):
        _ = reply.json


def test_truncated_body(server, connect):
    server.inject(Fault.truncated(OPERATOR_PATH))
    with pytest.raises(http.client.IncompleteRead):
        connect(server.user("alice")).request("GET", OPERATOR_PATH)


def test_html_error_page_like_a_proxy(server, call):
    server.inject(Fault.html_error(OPERATOR_GLOB))
    reply = call("GET", OPERATOR_PATH, user=server.user("alice"))
    assert reply.status == 502
    assert reply.content_type == "text/html"
    assert b"<title>502 Bad Gateway</title>" in reply.body


def test_wrong_content_type_keeps_the_real_body(server, call):
    server.inject(Fault.wrong_content_type(OPERATOR_PATH, "text/plain"))
    reply = call("GET", OPERATOR_PATH, user=server.user("alice"))
    assert reply.status == 200 and reply.content_type == "text/plain"
    assert reply.json["kind"] == "MirrordOperator"


def test_redirect(server, call):
    server.inject(Fault.redirect(OPERATOR_PATH, "/login"))
    reply = call("GET", OPERATOR_PATH, user=server.user("alice"))
    assert reply.status == 302 and reply.headers["Location"] == "/login"


def test_faults_apply_before_authentication(server, call):
    """A proxy in front of the API server answers whoever asks."""
    server.inject(Fault.html_error("/version"))
    assert call("GET", "/version").status == 502


def test_remove_fault(server, call):
    fault = server.inject(Fault.status_code("/version", 500))
    assert call("GET", "/version", user=server.user("alice")).status == 500
    server.remove_fault(fault)
    assert call("GET", "/version", user=server.user("alice")).status == 200


def test_request_log_counts_and_waits(server, call):
    alice = server.user("alice")
    for _ in range(3):
        call("GET", "/version", user=alice)
    call("GET", OPERATOR_PATH, user=server.user("bob"))
    assert server.log.count("/version") == 3
    assert server.log.count("/version", "POST") == 0
    assert server.log.count(OPERATOR_GLOB, status=403) == 1
    rec = server.log.matching(OPERATOR_PATH)[0]
    assert (rec.method, rec.user, rec.status, rec.query) == ("GET", "bob", 403, {})
    assert server.log.wait_for(3, "/version", timeout=1)
    with pytest.raises(TimeoutError):
        server.log.wait_for(4, "/version", timeout=0.1)
    call("GET", "/api/v1/pods?labelSelector=app%3Dweb", user=alice)
    assert server.log.matching("/api/v1/pods")[0].query == {"labelSelector": ["app=web"]}


def test_wait_for_wakes_when_the_request_arrives(server, call):
    woke = threading.Event()

    def waiter() -> None:
        server.log.wait_for(1, "/apis", timeout=5)
        woke.set()

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    call("GET", "/apis", user=server.user("alice"))
    assert woke.wait(5)


def test_idle_handshake_does_not_block_others(server, call):
    """A client that connects and never speaks TLS holds up nobody."""
    with socket.create_connection((server.host, server.port)):
        assert call("GET", "/version", user=server.user("alice")).status == 200
