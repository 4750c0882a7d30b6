"""Will mirrord use the operator? Its discovery, predicted, worded by what mirrord will do.

mirrord: `mirrord/operator/src/client.rs` (`OperatorApi::try_new`: a GET of the
`MirrordOperator` object; 404 means not installed, 403 means RBAC forbids it: on
`kube::Error::Api` it runs `discovery::operator_installed`, and when the kind is
listed ("the operator is there, but we failed getting it") returns the error, so a
forbidden operator stops mirrord whether `operator` is unset or true; a 2xx body it
cannot deserialize is `Err(error) => error`, which stops it too) and
`mirrord/cli/src/connection.rs` (`create_and_connect`: with `operator: true` a missing
operator stops mirrord with "Command requires the mirrord operator or operator usage
was explicitly enabled in the configuration file." (`cli/src/error.rs`); unset,
mirrord quietly runs without it).
"""

from __future__ import annotations

from typing import Any

from mirrord_ls import redact
from mirrord_ls.cluster import credentials as creds_mod
from mirrord_ls.cluster import kubeconfig as kc
from mirrord_ls.cluster.checks.base import CLUSTER_ANCHOR, CheckContext, CheckUnit, Halt, Outcome
from mirrord_ls.cluster.checks.base import severity_for as _severity
from mirrord_ls.cluster.discovery import Verdict
from mirrord_ls.findings import KeyedFinding, Severity

RBAC_DOCS = "https://metalbear.com/mirrord/docs/managing-mirrord/roles/"
HEALTHY = ("installed", "not-installed", "forbidden")
"""Verdicts after which the cluster can answer the other checks."""


def _finding(code: str, severity: Severity, message: str, data: Any = None) -> KeyedFinding:
    return KeyedFinding(
        code, severity, message, CLUSTER_ANCHOR[0], CLUSTER_ANCHOR[1:], data=data or {}
    )


async def run(ctx: CheckContext) -> Outcome:
    setting = ctx.operator_setting
    try:
        verdict = await ctx.facts.operator(setting)
    except creds_mod.UntrustedCredentialPlugin as exc:
        return Halt(
            [
                _finding(
                    "untrusted-credential-plugin",
                    "warning" if setting is None else "error",
                    f"{exc} mirrord-ls did not run it, so the cluster was not checked. Trust"
                    " this workspace (VS Code: Manage Workspace Trust; or set"
                    " mirrordLs.trustWorkspaceKubeconfigs; `check --trust-workspace`) to let"
                    " it run.",
                )
            ]
        )
    except creds_mod.CredentialError as exc:
        why = str(exc).rstrip(".")
        return Halt(
            [
                _finding(
                    # client.rs `try_new`: `base_client_config(config).await?` and the
                    # client's auth layer fail before any HTTP answer: mirrord stops.
                    "cluster-auth-failed",
                    "error",
                    f"No credentials for context {ctx.cluster.context_name}: {why}."
                    " mirrord will stop at start-up. Fix: log in again, or check the"
                    " kubeconfig's user entry.",
                )
            ]
        )
    finding = verdict_finding(verdict, setting, ctx.cluster)
    found = [finding] if finding is not None else []
    if verdict.kind not in HEALTHY and not falls_back(verdict, setting):
        return Halt(found)  # the cluster is in trouble: one finding says so
    return found


def falls_back(verdict: Verdict, setting: bool | None) -> bool:
    """mirrord goes on without the operator after a failed discovery: the GET failed with
    an HTTP error, the discovery check could not tell (the kind not listed), and
    `operator` is unset (client.rs `try_new`: `Ok(false) | Err(..) => return Ok(None)`).
    The open-source units then judge the agent mirrord will create."""
    return (
        verdict.kind == "check-failed"
        and not verdict.listed
        and setting is None
        and not (verdict.status is not None and 200 <= verdict.status < 300)
    )


def verdict_finding(
    verdict: Verdict, setting: bool | None, resolved: kc.ResolvedCluster
) -> KeyedFinding | None:
    """The diagnostic for a verdict, worded by what mirrord will do with this setting."""
    server = redact.url(resolved.server)  # never a user:pw@ shown
    where = f'context "{resolved.context_name}" ({server})'
    data = {
        "context": resolved.context_name,
        "server": server,
        "checkedAt": verdict.checked_at.isoformat(timespec="seconds"),
        "verdict": verdict.kind,
    }
    kind = verdict.kind
    severity: Severity
    if kind in ("installed", "disabled"):
        return None
    if kind == "forbidden":
        user = verdict.user or resolved.user_name
        missing = f" The missing permission: `{verdict.missing}`." if verdict.missing else ""
        message = (
            f'The mirrord operator is installed in {where}, but RBAC forbids user "{user}"'
            f" to use it.{missing} mirrord will stop at start-up with a 403 error."
            " Fix: a cluster admin binds ClusterRole `mirrord-operator-user` to you"
            f" (see {RBAC_DOCS})."
        )
        # client.rs `try_new`: `Ok(true) => error` -> OperatorApiError::KubeError
        # (FindingOperator): mirrord stops whether `operator` is unset or true.
        code, severity = "operator-forbidden", "error"
        data["user"] = user
    elif kind == "not-installed":
        if setting is True:
            message = (
                f"The mirrord operator is not installed in {where}, but operator is true:"
                " mirrord will refuse to start. Install the operator or set operator to false."
            )
        else:
            message = (
                f"The mirrord operator is not installed in {where}:"
                " mirrord will run without the operator."
            )
        code, severity = "operator-not-installed", _severity(setting, "information")
    elif kind == "check-failed" and verdict.status is not None and 200 <= verdict.status < 300:
        # client.rs `try_new`: `Api::all(client).get("operator")` answered 2xx with a body
        # that does not deserialize into MirrordOperatorCrd -> `Err(error) => error`, not
        # kube::Error::Api: mirrord stops whatever `operator` says ("mirrord operator API
        # failed: finding operator failed with ...", cli/src/error.rs).
        detail = verdict.detail.rstrip(".")
        message = (
            f"The mirrord operator's API in {where} answered, but not with a MirrordOperator"
            f' mirrord can read: {detail}. mirrord will stop at start-up with "mirrord'
            ' operator API failed: finding operator failed with ...", whatever `operator`'
            " says. Fix: check what answers for operator.metalbear.co in this cluster"
            " (upgrade or reinstall the operator)."
        )
        code, severity = "operator-check-failed", "error"
    elif kind == "check-failed" and verdict.listed:
        # client.rs `try_new`: the GET failed with an HTTP error other than 403/404, and the
        # discovery check lists the MirrordOperator kind (`Ok(true)`): the error is returned,
        # so mirrord stops whatever `operator` says; only a failed discovery falls back.
        detail = verdict.detail.rstrip(".")
        message = (
            f"The mirrord operator in {where} is installed but failing: {detail}. mirrord"
            ' will stop at start-up ("mirrord operator API failed: ...") whatever `operator`'
            " says. Fix: check the operator's pods and logs, or set operator to false to run"
            " without it."
        )
        code, severity = "operator-check-failed", "error"
    elif kind == "check-failed":
        then = (
            "mirrord will fail, since operator is true."
            if setting is True
            else "mirrord will fall back to running without the operator, with an agent of its"
            " own (the agent checks judge it)."
        )
        detail = verdict.detail.rstrip(".")
        message = f"Cannot tell whether the operator is usable in {where}: {detail}. {then}"
        code, severity = "operator-check-failed", _severity(setting, "warning")
    # The rest are not HTTP answers to the operator GET (or a 401 that every later
    # request gets too): client.rs `try_new` `Err(error) => error` returns them, and
    # connection.rs `try_connect_using_operator` propagates it with `?`, so mirrord stops
    # whatever `operator` says (without the operator, creating the agent needs the same
    # cluster and credentials).
    elif kind == "unreachable":
        message = (
            f"The cluster of {where} cannot be reached: {verdict.detail}. mirrord will stop"
            " at start-up. Fix: check the network (VPN, proxy) or the context's server."
        )
        code, severity = "cluster-unreachable", "error"
    elif kind == "tls-error":
        message = (
            f"TLS to the cluster of {where} failed: {verdict.detail}. mirrord will stop at"
            " start-up. Check the kubeconfig's certificate-authority, or"
            " accept_invalid_certificates for test clusters."
        )
        code, severity = "cluster-tls-error", "error"
    else:
        message = (
            f"The cluster of {where} did not accept the credentials of user"
            f' "{resolved.user_name}": {verdict.detail}. mirrord will stop at start-up.'
            " Fix: log in again (refresh the token or certificate)."
        )
        code, severity = "cluster-auth-failed", "error"
    return _finding(code, severity, message, data)


UNIT = CheckUnit(
    name="operator",
    run=run,
    codes=(
        "operator-forbidden",
        "operator-not-installed",
        "operator-check-failed",
        "cluster-unreachable",
        "cluster-tls-error",
        "cluster-auth-failed",
        "untrusted-credential-plugin",
    ),
    severity="operator-forbidden, an unreadable 2xx answer, a failing GET of a listed"
    " operator, an unreachable cluster, TLS and rejected credentials: error (mirrord stops"
    " whatever `operator` says); else error with `operator: true`, warning when unset"
    " (discovery cannot tell: mirrord falls back) or information (not installed)",
    requests="GET mirrordoperators/operator; on 404/403 the API group discovery (2-3 in all)",
    predicts="mirrord/operator/src/client.rs OperatorApi::try_new;"
    " mirrord/cli/src/connection.rs create_and_connect",
    applies=lambda ctx: ctx.operator_setting is not False,
    gate=True,
)
