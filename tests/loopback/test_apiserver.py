"""The loopback API server answers as kube-apiserver does: auth, RBAC, discovery, objects."""

from __future__ import annotations

import asyncio
import http.client
import ssl
from pathlib import Path

import pytest
import yaml

from mirrord_ls.loopback import (
    OPERATOR_GROUP,
    LoopbackApiServer,
    OperatorState,
    TlsMode,
    rule,
)
from mirrord_ls.loopback.discovery import AGGREGATED_V2

OPERATOR_PATH = "/apis/operator.metalbear.co/v1/mirrordoperators/operator"
AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


# -- authentication ----------------------------------------------------------------


def test_token_user_reads_the_operator(server, call):
    reply = call("GET", OPERATOR_PATH, user=server.user("alice"))
    assert reply.status == 200
    assert reply.content_type == "application/json"
    op = reply.json
    assert op["kind"] == "MirrordOperator"
    assert op["apiVersion"] == "operator.metalbear.co/v1"
    assert op["metadata"]["name"] == "operator"
    spec = op["spec"]
    assert set(spec) >= {
        "operator_version",
        "default_namespace",
        "license",
        "protocol_version",
        "supported_features",
    }
    assert set(spec["license"]) == {"name", "organization", "expire_at", "fingerprint"}


def test_client_certificate_maps_cn_and_o_to_user_and_groups(server, call):
    carol = server.add_user("carol", ["devs", "mirrord-users"], token=False, client_cert=True)
    reply = call(
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        user=carol,
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    assert reply.status == 201
    assert reply.json["status"]["userInfo"] == {
        "username": "carol",
        "groups": ["devs", "mirrord-users", "system:authenticated"],
    }
    assert reply.json["apiVersion"] == "authentication.k8s.io/v1"
    assert server.log.matching("/apis/authentication.k8s.io/*")[-1].user == "carol"


def test_unknown_token_is_401_unauthorized(call):
    reply = call("GET", "/version", token="not-a-token")
    assert reply.status == 401
    assert reply.json == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_revoked_token_is_401(server, call):
    alice = server.user("alice")
    server.revoke_token(alice.token)
    assert call("GET", "/version", user=alice).status == 401


def test_anonymous_is_forbidden_even_on_discovery(server, call):
    reply = call("GET", "/apis")
    assert reply.status == 403
    assert reply.json["reason"] == "Forbidden"
    assert reply.json["message"] == 'forbidden: User "system:anonymous" cannot get path "/apis"'
    assert reply.json["details"] == {}
    assert server.log.records()[-1].user == "system:anonymous"


def test_repr_of_users_hides_credentials(server):
    dave = server.add_user("dave", client_cert=True)
    text = repr(dave)
    assert dave.token is not None and dave.token not in text
    assert "BEGIN" not in text and "dave" in text


# -- authorization -----------------------------------------------------------------


def test_forbidden_has_kube_apiservers_exact_shape(server, call):
    reply = call("GET", OPERATOR_PATH, user=server.user("bob"))
    assert reply.status == 403
    assert reply.json == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'mirrordoperators.operator.metalbear.co "operator" is forbidden: '
        'User "bob" cannot get resource "mirrordoperators" in API group '
        '"operator.metalbear.co" at the cluster scope',
        "reason": "Forbidden",
        "details": {
            "name": "operator",
            "group": "operator.metalbear.co",
            "kind": "mirrordoperators",
        },
        "code": 403,
    }


def test_forbidden_list_in_a_namespace_of_the_core_group(server, call):
    reply = call("GET", "/api/v1/namespaces/staging/pods", user=server.user("bob"))
    assert reply.status == 403
    assert reply.json["message"] == (
        'pods is forbidden: User "bob" cannot list resource "pods" in API group "" '
        'in the namespace "staging"'
    )
    assert reply.json["details"] == {"kind": "pods"}


def test_grants_and_revocations_apply_at_once(server, call):
    bob = server.user("bob")
    path = "/apis/apps/v1/namespaces/default/deployments/web"
    assert call("GET", path, user=bob).status == 403
    binding = server.rbac.grant("bob", [rule(["get"], ["deployments"], groups=["apps"])])
    assert call("GET", path, user=bob).status == 200
    # Granted cluster-wide on deployments only: not statefulsets, not list.
    assert call("GET", "/apis/apps/v1/namespaces/default/statefulsets/db", user=bob).status == 403
    assert call("GET", "/apis/apps/v1/namespaces/default/deployments", user=bob).status == 403
    assert server.rbac.unbind(binding)
    assert call("GET", path, user=bob).status == 403


def test_namespaced_grant_and_resource_names(server, call):
    bob = server.user("bob")
    server.rbac.grant("bob", [rule(["get"], ["pods"], names=["db-0"])], namespace="default")
    assert call("GET", "/api/v1/namespaces/default/pods/db-0", user=bob).status == 200
    assert call("GET", "/api/v1/namespaces/default/pods/web-7d4b9c-abcde", user=bob).status == 403
    # A Role in `default` says nothing about `staging`.
    assert call("GET", "/api/v1/namespaces/staging/pods/db-0", user=bob).status == 403


def test_group_binding_and_revoke_user(server, call):
    erin = server.add_user("erin", ["mirrord-users"])
    server.allow_mirrord_operator_user(groups=["mirrord-users"])
    assert call("GET", OPERATOR_PATH, user=erin).status == 200
    assert server.rbac.revoke_user("alice") >= 1
    assert call("GET", OPERATOR_PATH, user=server.user("alice")).status == 403
    assert call("GET", OPERATOR_PATH, user=erin).status == 200


# -- discovery ---------------------------------------------------------------------


def test_legacy_discovery_documents(server, call):
    alice = server.user("alice")
    version = call("GET", "/version", user=alice).json
    assert version["major"] == "1" and version["gitVersion"].startswith("v1.")

    api = call("GET", "/api", user=alice).json
    assert api["kind"] == "APIVersions" and api["versions"] == ["v1"]

    core = call("GET", "/api/v1", user=alice).json
    assert core["kind"] == "APIResourceList" and core["groupVersion"] == "v1"
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert pods == {
        "name": "pods",
        "singularName": "pod",
        "namespaced": True,
        "kind": "Pod",
        "verbs": pods["verbs"],
        "shortNames": ["po"],
        "categories": ["all"],
    }

    groups = call("GET", "/apis", user=alice).json
    assert groups["kind"] == "APIGroupList"
    names = [g["name"] for g in groups["groups"]]
    assert {"apps", "batch", "argoproj.io", OPERATOR_GROUP} <= set(names)
    op_group = next(g for g in groups["groups"] if g["name"] == OPERATOR_GROUP)
    assert op_group["preferredVersion"] == {
        "groupVersion": "operator.metalbear.co/v1",
        "version": "v1",
    }

    ops = call("GET", "/apis/operator.metalbear.co/v1", user=alice).json
    assert ops["kind"] == "APIResourceList"
    assert ops["groupVersion"] == "operator.metalbear.co/v1"
    by_name = {r["name"]: r for r in ops["resources"]}
    assert by_name["mirrordoperators"]["kind"] == "MirrordOperator"
    assert by_name["mirrordoperators"]["namespaced"] is False
    assert "mirrordoperators/certificate" in by_name
    top_level = [r for r in ops["resources"] if "/" not in r["name"]]
    assert [r["name"] for r in top_level if r["kind"] == "MirrordOperator"] == ["mirrordoperators"]
    assert {"targets", "copytargets", "sessions", "mirrordclusteroperatorusercredentials"} <= set(
        by_name
    )

    deploy = next(
        r
        for r in call("GET", "/apis/apps/v1", user=alice).json["resources"]
        if r["name"] == "deployments"
    )
    assert deploy["shortNames"] == ["deploy"] and deploy["singularName"] == "deployment"


def test_aggregated_discovery_when_asked_for(server, call):
    alice = server.user("alice")
    reply = call("GET", "/apis", user=alice, headers={"Accept": AGGREGATED_ACCEPT})
    assert reply.status == 200
    assert reply.content_type == AGGREGATED_V2
    doc = reply.json
    assert doc["kind"] == "APIGroupDiscoveryList"
    assert doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    op = next(i for i in doc["items"] if i["metadata"].get("name") == OPERATOR_GROUP)
    (v1,) = op["versions"]
    assert v1["freshness"] == "Current"
    mo = next(r for r in v1["resources"] if r["resource"] == "mirrordoperators")
    assert mo["scope"] == "Cluster"
    assert mo["responseKind"] == {
        "group": OPERATOR_GROUP,
        "version": "v1",
        "kind": "MirrordOperator",
    }
    assert mo["subresources"][0]["subresource"] == "certificate"

    core = call("GET", "/api", user=alice, headers={"Accept": AGGREGATED_ACCEPT}).json
    assert [v["version"] for v in core["items"][0]["versions"]] == ["v1"]

    # Asked for plain JSON first: the legacy document.
    plain = call("GET", "/apis", user=alice, headers={"Accept": "application/json, */*"})
    assert plain.json["kind"] == "APIGroupList"


def test_legacy_only_server_answers_plain_json_to_aggregated_accept(tmp_path):
    with LoopbackApiServer(aggregated_discovery=False) as srv:
        alice = srv.add_user("alice")
        conn = http.client.HTTPSConnection(
            srv.host, srv.port, context=ssl.create_default_context(cadata=srv.ca_pem.decode())
        )
        conn.request(
            "GET",
            "/apis",
            headers={"Accept": AGGREGATED_ACCEPT, "Authorization": f"Bearer {alice.token}"},
        )
        resp = conn.getresponse()
        assert resp.headers["Content-Type"] == "application/json"
        assert b'"APIGroupList"' in resp.read()
        conn.close()


# -- operator states ---------------------------------------------------------------


def test_operator_not_installed_is_404_everywhere(server, call):
    alice = server.user("alice")
    server.operator_state = OperatorState.NOT_INSTALLED
    for path in (OPERATOR_PATH, "/apis/operator.metalbear.co/v1", "/apis/operator.metalbear.co"):
        reply = call("GET", path, user=alice)
        assert reply.status == 404, path
        assert reply.json["reason"] == "NotFound"
    groups = [g["name"] for g in call("GET", "/apis", user=alice).json["groups"]]
    assert OPERATOR_GROUP not in groups
    # Someone RBAC refuses is refused before the server looks for the resource, as the real one.
    assert call("GET", OPERATOR_PATH, user=server.user("bob")).status == 403
    server.operator_state = OperatorState.INSTALLED
    assert call("GET", OPERATOR_PATH, user=alice).status == 200


def test_operator_down_is_503_under_the_group_but_listed(server, call):
    alice = server.user("alice")
    server.operator_state = OperatorState.DOWN
    for path in (OPERATOR_PATH, "/apis/operator.metalbear.co/v1"):
        reply = call("GET", path, user=alice)
        assert reply.status == 503
        assert reply.content_type.startswith("text/plain")
        assert reply.body == b"service unavailable\n"
    groups = [g["name"] for g in call("GET", "/apis", user=alice).json["groups"]]
    assert OPERATOR_GROUP in groups
    agg = call("GET", "/apis", user=alice, headers={"Accept": AGGREGATED_ACCEPT}).json
    op = next(i for i in agg["items"] if i["metadata"].get("name") == OPERATOR_GROUP)
    assert op["versions"][0]["freshness"] == "Stale"


def test_not_found_object_status(server, call):
    reply = call(
        "GET", "/apis/apps/v1/namespaces/default/deployments/nope", user=server.user("alice")
    )
    # alice may not read deployments; grant and retry for the 404.
    assert reply.status == 403
    server.rbac.grant("alice", [rule(["get"], ["deployments"], groups=["apps"])])
    reply = call(
        "GET", "/apis/apps/v1/namespaces/default/deployments/nope", user=server.user("alice")
    )
    assert reply.status == 404
    assert reply.json["message"] == 'deployments.apps "nope" not found'
    assert reply.json["details"] == {"name": "nope", "group": "apps", "kind": "deployments"}


# -- reviews -----------------------------------------------------------------------


def _ssar(call, user, **attrs):
    return call(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        user=user,
        body={
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attrs},
        },
    )


def test_ssar_allowed_and_denied_without_more_than_authentication(server, call):
    attrs = {
        "group": OPERATOR_GROUP,
        "version": "v1",
        "resource": "mirrordoperators",
        "verb": "get",
    }
    yes = _ssar(call, server.user("alice"), **attrs)
    assert yes.status == 201
    assert yes.json["kind"] == "SelfSubjectAccessReview"
    assert yes.json["apiVersion"] == "authorization.k8s.io/v1"
    assert yes.json["spec"] == {"resourceAttributes": attrs}
    assert yes.json["status"]["allowed"] is True
    assert "mirrord-operator-user" in yes.json["status"]["reason"]

    no = _ssar(call, server.user("bob"), **attrs)
    assert no.status == 201
    assert no.json["status"] == {"allowed": False}

    sub = _ssar(
        call,
        server.user("alice"),
        group=OPERATOR_GROUP,
        resource="mirrordoperators",
        subresource="certificate",
        verb="create",
    )
    assert sub.json["status"]["allowed"] is True
    # The answer does not depend on the operator: it is RBAC only.
    server.operator_state = OperatorState.DOWN
    assert _ssar(call, server.user("alice"), **attrs).json["status"]["allowed"] is True


def test_ssar_non_resource_and_invalid(server, call):
    reply = call(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        user=server.user("bob"),
        body={"spec": {"nonResourceAttributes": {"path": "/apis", "verb": "get"}}},
    )
    assert reply.json["status"]["allowed"] is True
    bad = call(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        user=server.user("bob"),
        body={"spec": {}},
    )
    assert bad.status == 422 and bad.json["reason"] == "Invalid"


def test_ssrr_lists_rules_for_a_namespace(server, call):
    server.rbac.grant("alice", [rule(["list"], ["pods"])], namespace="staging")
    reply = call(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        user=server.user("alice"),
        body={"spec": {"namespace": "staging"}},
    )
    assert reply.status == 201
    status = reply.json["status"]
    assert reply.json["spec"] == {"namespace": "staging"}
    assert status["incomplete"] is False
    assert {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]} in status["resourceRules"]
    assert {
        "verbs": ["get", "list"],
        "apiGroups": [OPERATOR_GROUP],
        "resources": ["mirrordoperators"],
    } in status["resourceRules"]
    assert any("/apis/*" in r["nonResourceURLs"] for r in status["nonResourceRules"])
    other = call(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
        user=server.user("alice"),
        body={"spec": {"namespace": "default"}},
    ).json["status"]
    assert {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]} not in other[
        "resourceRules"
    ]


# -- objects -----------------------------------------------------------------------


def test_list_shape_and_label_selector(server, call):
    server.rbac.grant("alice", [rule(["list", "get"], ["pods"])])
    alice = server.user("alice")
    reply = call("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb", user=alice)
    doc = reply.json
    assert doc["apiVersion"] == "v1" and doc["kind"] == "PodList"
    assert doc["metadata"]["resourceVersion"]
    assert [p["metadata"]["name"] for p in doc["items"]] == ["web-7d4b9c-abcde", "web-7d4b9c-fghij"]
    assert "kind" not in doc["items"][0]  # built-in list items carry no kind, as the real server
    everywhere = call("GET", "/api/v1/pods?labelSelector=app+in+(api,db)", user=alice).json
    assert sorted(p["metadata"]["name"] for p in everywhere["items"]) == [
        "api-5f6c8d-xyz12",
        "db-0",
    ]
    pod = call("GET", "/api/v1/namespaces/default/pods/web-7d4b9c-abcde", user=alice).json
    assert [c["name"] for c in pod["spec"]["containers"]] == ["web", "sidecar"]
    assert pod["status"]["phase"] == "Running"
    bad = call("GET", "/api/v1/pods?labelSelector=%3D%3D%3D", user=alice)
    assert bad.status == 400


def test_workload_samples(server, call):
    server.rbac.grant(
        "alice",
        [
            rule(["get", "list"], ["deployments", "statefulsets"], groups=["apps"]),
            rule(["list"], ["jobs", "cronjobs"], groups=["batch"]),
            rule(["list"], ["rollouts"], groups=["argoproj.io"]),
            rule(["list"], ["services", "namespaces"]),
        ],
    )
    alice = server.user("alice")
    web = call("GET", "/apis/apps/v1/namespaces/default/deployments/web", user=alice).json
    assert [c["name"] for c in web["spec"]["template"]["spec"]["containers"]] == ["web", "sidecar"]
    assert web["status"]["readyReplicas"] == 2
    assert call("GET", "/apis/apps/v1/namespaces/default/statefulsets/db", user=alice).status == 200
    assert call("GET", "/apis/batch/v1/jobs", user=alice).json["kind"] == "JobList"
    assert call("GET", "/apis/batch/v1/cronjobs", user=alice).json["items"]
    rollouts = call("GET", "/apis/argoproj.io/v1alpha1/rollouts", user=alice).json
    assert rollouts["items"][0]["kind"] == "Rollout"  # CRD list items keep their kind
    assert call("GET", "/api/v1/namespaces/staging/services", user=alice).json["items"]
    ns = call("GET", "/api/v1/namespaces", user=alice).json
    assert {"default", "staging"} <= {n["metadata"]["name"] for n in ns["items"]}


def test_create_then_get_and_conflict(server, call):
    server.rbac.grant("alice", [rule(["create", "get", "delete"], ["services"])])
    alice = server.user("alice")
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "new"}}
    assert call("POST", "/api/v1/namespaces/staging/services", user=alice, body=body).status == 201
    got = call("GET", "/api/v1/namespaces/staging/services/new", user=alice).json
    assert got["metadata"]["namespace"] == "staging"
    again = call("POST", "/api/v1/namespaces/staging/services", user=alice, body=body)
    assert again.status == 409 and again.json["reason"] == "AlreadyExists"
    assert call("DELETE", "/api/v1/namespaces/staging/services/new", user=alice).status == 200
    assert call("GET", "/api/v1/namespaces/staging/services/new", user=alice).status == 404


def test_set_operator_replaces_the_spec(server, call):
    server.set_operator(operator_version="9.9.9", supported_features=())
    spec = call("GET", OPERATOR_PATH, user=server.user("alice")).json["spec"]
    assert spec["operator_version"] == "9.9.9" and spec["supported_features"] == []


# -- transport ---------------------------------------------------------------------


def test_keep_alive_serves_several_requests_on_one_connection(server, connect):
    conn = connect(server.user("alice"))
    for _ in range(3):
        assert conn.request("GET", "/version").status == 200
    assert conn.request("GET", OPERATOR_PATH).status == 200


@pytest.mark.parametrize("mode", [TlsMode.EXPIRED, TlsMode.WRONG_NAME])
def test_bad_server_certificates_fail_verification(mode, tmp_path):
    with LoopbackApiServer(tls=mode) as srv:
        ctx = ssl.create_default_context(cadata=srv.ca_pem.decode())
        conn = http.client.HTTPSConnection(srv.host, srv.port, context=ctx, timeout=5)
        with pytest.raises(ssl.SSLCertVerificationError) as err:
            conn.request("GET", "/version")
        conn.close()
        expected = "expired" if mode is TlsMode.EXPIRED else "IP address mismatch"
        assert expected in str(err.value)


def test_plain_http_mode(connect):
    with LoopbackApiServer(tls=TlsMode.PLAIN) as srv:
        assert srv.url.startswith("http://127.0.0.1:")
        alice = srv.add_user("alice")
        assert connect(alice, srv=srv).request("GET", "/version").status == 200


def test_server_cert_is_valid_for_localhost(server):
    ctx = ssl.create_default_context(cadata=server.ca_pem.decode())
    conn = http.client.HTTPSConnection("localhost", server.port, context=ctx, timeout=5)
    conn.request(
        "GET", "/version", headers={"Authorization": f"Bearer {server.user('alice').token}"}
    )
    assert conn.getresponse().status == 200
    conn.close()


async def test_usable_from_asyncio(server):
    """An asyncio client talks to the fixture's server; waiting on the log goes to a thread."""
    ctx = ssl.create_default_context(cadata=server.ca_pem.decode())
    reader, writer = await asyncio.open_connection(server.host, server.port, ssl=ctx)
    token = server.user("alice").token
    writer.write(
        f"GET /version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    assert data.startswith(b"HTTP/1.1 200")
    records = await asyncio.to_thread(server.log.wait_for, 1, "/version", answered=True, timeout=5)
    assert records[0].status == 200


def test_kubeconfig_written_by_server_has_one_context_per_user(server, tmp_path: Path):
    path = server.write_kubeconfig(tmp_path / "kc", namespace="staging", current="loopback-bob")
    doc = yaml.safe_load(path.read_text())
    assert [c["name"] for c in doc["contexts"]] == ["loopback-alice", "loopback-bob"]
    assert doc["current-context"] == "loopback-bob"
    assert all(c["context"]["namespace"] == "staging" for c in doc["contexts"])
