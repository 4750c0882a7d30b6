"""A loopback Kubernetes API server for tests, the demo and benchmarks.

    with LoopbackApiServer() as cluster:
        alice = cluster.add_user("alice")
        cluster.allow_mirrord_operator_user(users=["alice"])
        cluster.write_kubeconfig(tmp_path / "kubeconfig", [alice])

See `apiserver.py` for what it serves and `scenarios.py` for the demo's clusters.
"""

from mirrord_ls.loopback.apiserver import LoopbackApiServer, OperatorState, request_attributes
from mirrord_ls.loopback.certs import ClientCert, TlsMode
from mirrord_ls.loopback.faults import Fault, FaultKind
from mirrord_ls.loopback.kubeconfig import KubeContext, redacted, write_kubeconfig
from mirrord_ls.loopback.rbac import (
    MIRRORD_OPERATOR_USER,
    MIRRORD_OPERATOR_USER_RULES,
    PolicyRule,
    Rbac,
    UserInfo,
    install_mirrord_operator_user,
    rule,
)
from mirrord_ls.loopback.requestlog import RequestLog, RequestRecord
from mirrord_ls.loopback.resources import OPERATOR_GROUP, OPERATOR_VERSION
from mirrord_ls.loopback.users import User

__all__ = [
    "MIRRORD_OPERATOR_USER",
    "MIRRORD_OPERATOR_USER_RULES",
    "OPERATOR_GROUP",
    "OPERATOR_VERSION",
    "ClientCert",
    "Fault",
    "FaultKind",
    "KubeContext",
    "LoopbackApiServer",
    "OperatorState",
    "PolicyRule",
    "Rbac",
    "RequestLog",
    "RequestRecord",
    "TlsMode",
    "User",
    "UserInfo",
    "install_mirrord_operator_user",
    "redacted",
    "request_attributes",
    "rule",
    "write_kubeconfig",
]
