"""Operator path, first steps: will mirrord use the operator, and on what terms.

After discovery (`cluster/discovery.py`) mirrord reads the MirrordOperator
object, checks the licence, and from there either goes on with the operator or
falls back to open-source mode (`mirrord/cli/src/connection.rs`,
`try_connect_using_operator`). :func:`operator_use` says which, as an
:class:`OperatorUse` that the later rules (here and in `features.py`,
`access.py`, `sessions.py`) and the open-source-path rules consume.

Rules here: `operator-invalid`, `license-expired`, `license-expiring`,
`requires-operator`, `target-requires-operator` (every no-operator case,
including the licence and discovery fallbacks), `agent-config-ignored`; plus
the multi-cluster helpers that say whether mirrord resolves the target locally.
All pure: today's date is a parameter, never read from the clock.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from mirrord_ls.cluster.preflight import RuleFinding
from mirrord_ls.cluster.preflight.operator_object import InvalidOperator, MirrordOperator
from mirrord_ls.cluster.preflight.settings import OperatorSettings

RENEW = "https://app.metalbear.com"
# auth/src/credentials.rs `LicenseValidity::CLOSE_TO_EXPIRATION_DAYS`.
CLOSE_TO_EXPIRATION_DAYS = 2


@dataclass(frozen=True, slots=True)
class OperatorUse:
    """What mirrord will do about the operator, once discovery and the licence are judged."""

    used: bool
    """mirrord will go on with the operator (certificate, features, session)."""
    stops: bool
    """mirrord stops before it gets that far (reported by the discovery or licence rules)."""
    reason: str = ""
    """When not used: why, completing "mirrord will run without the operator because ..."."""
    operator: MirrordOperator | None = None

    @property
    def open_source(self) -> bool:
        """mirrord runs without the operator: the open-source rules apply."""
        return not self.used and not self.stops


def days_left(operator: MirrordOperator, today: datetime.date) -> int:
    """auth/src/credentials.rs `days_until_expiration` for NaiveDate: expire_at - today
    (UTC); negative means expired (mirrord gets None and reports no licence)."""
    return (operator.license.expire_at - today).days


def operator_use(
    discovery: str,
    parsed: MirrordOperator | InvalidOperator | None,
    setting: bool | None,
    today: datetime.date,
) -> OperatorUse:
    """Decide, as `try_connect_using_operator` does, from the discovery verdict kind
    (`disabled`, `installed`, `forbidden`, `not-installed`, `check-failed`,
    `unreachable`, `tls-error`, `auth-failed`; `failing` for a check-failed GET of a
    listed operator), the operator object (for `installed`:
    pass every 2xx body through `parse_operator`) and the effective `operator` setting."""
    if setting is False or discovery == "disabled":
        return OperatorUse(False, False, "`operator` is false")
    if discovery == "not-installed":
        # connection.rs: `None if layer_config.operator == Some(true)` -> OperatorNotInstalled.
        if setting is True:
            return OperatorUse(False, True)
        return OperatorUse(False, False, "the operator is not installed in this cluster")
    if discovery == "check-failed":
        # client.rs `try_new`: a discovery error with `operator` unset returns Ok(None).
        if setting is True:
            return OperatorUse(False, True)
        return OperatorUse(
            False, False, "mirrord cannot tell whether the operator is installed, and falls back"
        )
    if discovery != "installed" or not isinstance(parsed, MirrordOperator):
        # forbidden, no cluster, or an object mirrord cannot deserialize: try_new errors.
        return OperatorUse(False, True)
    if days_left(parsed, today) < 0:
        # connection.rs: licence check failed -> error with `operator: true`, else Ok(None).
        if setting is True:
            return OperatorUse(False, True, operator=parsed)
        return OperatorUse(
            False,
            False,
            f"the operator's licence expired on {parsed.license.expire_text}",
            operator=parsed,
        )
    return OperatorUse(True, False, operator=parsed)


def _problems(invalid: InvalidOperator) -> str:
    shown = list(invalid.problems[:3])
    more = len(invalid.problems) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def operator_object_rules(
    parsed: MirrordOperator | InvalidOperator, setting: bool | None, today: datetime.date
) -> list[RuleFinding]:
    """`operator-invalid`, `license-expired`, `license-expiring`.

    Reads: the operator GET discovery already made (no request of its own).
    """
    if setting is False:
        return []
    if isinstance(parsed, InvalidOperator):
        # client.rs `OperatorApi::try_new`: `Api::all(client).get("operator")` fails to
        # deserialize -> `Err(error) => error` (not kube::Error::Api), whatever `operator`
        # says; cli error.rs: "mirrord operator API failed: finding operator failed with ...".
        return [
            RuleFinding(
                "operator-invalid",
                "error",
                "The cluster's MirrordOperator object is not one mirrord can read "
                f'({_problems(parsed)}): mirrord will stop at start-up with "mirrord operator'
                ' API failed: finding operator failed with ...", whatever `operator` says.'
                " Fix: upgrade or reinstall the mirrord operator (or remove what answers in"
                " its place).",
                mirrord_source="mirrord/operator/src/client.rs OperatorApi::try_new;"
                " crd.rs MirrordOperatorSpec/MirrordOperatorStatus",
                data={"problems": list(parsed.problems)},
            )
        ]
    lic = parsed.license
    left = days_left(parsed, today)
    who = f'"{lic.name}" of {lic.organization}'
    if left < 0:
        source = "mirrord/operator/src/client.rs check_license_validity; cli/src/connection.rs"
        if setting is True:
            return [
                RuleFinding(
                    "license-expired",
                    "error",
                    f"The mirrord operator's licence {who} expired on {lic.expire_text}. With"
                    ' `operator: true` mirrord will stop: "mirrord operator license expired.'
                    f' Visit {RENEW} to renew your license". Fix: renew the licence, or set'
                    " `operator` to false to run without the operator.",
                    mirrord_source=source,
                    data={"expireAt": lic.expire_text},
                )
            ]
        return [
            RuleFinding(
                "license-expired",
                "warning",
                f"The mirrord operator's licence {who} expired on {lic.expire_text}. mirrord"
                ' will warn "No valid license found for mirrord for Teams" and run without the'
                " operator (open-source mode): features that need the operator will fail or be"
                f" ignored. Fix: renew the licence at {RENEW}, or set `operator` to false to"
                " choose open-source mode.",
                mirrord_source=source,
                data={"expireAt": lic.expire_text, "fallback": True},
            )
        ]
    found: list[RuleFinding] = []
    if lic.is_trial and left <= CLOSE_TO_EXPIRATION_DAYS:
        when = "today" if left == 0 else f"soon, in {left} day{'s' if left > 1 else ''}"
        then = (
            "mirrord will stop (operator is true)"
            if setting is True
            else "mirrord will fall back to open-source mode"
        )
        found.append(
            RuleFinding(
                "license-expiring",
                "warning",
                f"The mirrord operator's trial licence {who} expires on {lic.expire_text}:"
                f' mirrord will warn "Operator license will expire {when}!". After that, {then}.'
                f" Fix: renew the licence at {RENEW}.",
                mirrord_source="mirrord/operator/src/client.rs check_license_validity",
                data={"expireAt": lic.expire_text, "daysLeft": left},
            )
        )
    if lic.fingerprint is None:
        # client.rs `get_client_certificate`: checked before any request, so it always stops.
        found.append(
            RuleFinding(
                "operator-invalid",
                "error",
                "The cluster's MirrordOperator object has no spec.license.fingerprint: mirrord"
                ' cannot prepare your user certificate and will stop ("license fingerprint is'
                ' missing from the mirrord operator resource"). Fix: upgrade the mirrord'
                " operator, or check its licence.",
                mirrord_source="mirrord/operator/src/client.rs get_client_certificate",
            )
        )
    return found


def multi_cluster_session(operator: MirrordOperator, settings: OperatorSettings) -> bool:
    """connection.rs `try_connect_using_operator`: `is_multi_cluster`."""
    return (
        operator.supports("MultiClusterPrimary")
        and settings.multi_cluster is not False
        and not settings.is_label_target
    )


def target_resolved_locally(use: OperatorUse, settings: OperatorSettings) -> bool:
    """False when mirrord sends the target to a multi-cluster primary unresolved: then a
    target missing from this cluster is no error (`connect_in_multi_cluster_session`)."""
    return not (
        use.used and use.operator is not None and multi_cluster_session(use.operator, settings)
    )


def multi_cluster_note(use: OperatorUse, settings: OperatorSettings) -> str | None:
    """A hover line for the target when the operator resolves it in a workload cluster."""
    if target_resolved_locally(use, settings):
        return None
    return (
        "The operator here is a multi-cluster primary: mirrord does not look the target up in"
        " this cluster; the operator resolves it in the workload cluster. Set"
        " `multi_cluster: false` to use this cluster only."
    )


def agent_config_rules(use: OperatorUse, settings: OperatorSettings) -> list[RuleFinding]:
    """`agent-config-ignored`: agent settings that differ from the defaults, with the operator.

    Reads: nothing beyond the operator verdict.
    """
    if not use.used:
        return []
    return [
        RuleFinding(
            "agent-config-ignored",
            "warning",
            f"`agent.{key}` is ignored: mirrord will use the operator here, whose cluster admin"
            ' manages the agent ("Agent configuration is ignored when using the mirrord'
            ' operator."). Fix: remove it, or set `operator` to false to run your own agent.',
            at=("agent", key),
            mirrord_source="mirrord/cli/src/connection.rs create_and_connect",
        )
        for key in settings.agent_changed
    ]


def requires_operator_rules(use: OperatorUse, settings: OperatorSettings) -> list[RuleFinding]:
    """`target-requires-operator`, `requires-operator`: what the config asks of an operator
    mirrord will not use (disabled, not installed, licence or discovery fallback).

    Reads: nothing beyond the discovery verdict and the operator object.
    """
    if not use.open_source:
        return []
    why = f"mirrord will run without the operator here ({use.reason})"
    fix = (
        " Fix: set `operator` to true once the operator is usable, or drop the setting."
        if settings.operator is False
        else " Fix: make the operator usable here (install it, renew its licence), or drop"
        " the setting."
    )
    found: list[RuleFinding] = []
    target = settings.target
    if target is not None and target.needs_operator:
        # connection.rs `process_config_oss`: Target::requires_operator ->
        # "Feature `target type {t}` requires using mirrord operator".
        found.append(
            RuleFinding(
                "target-requires-operator",
                "error",
                f"A {target.kind} target needs the mirrord operator, and {why}: mirrord will"
                f' stop with "Feature `target type {target.kind}` requires using mirrord'
                f' operator".{fix}',
                at=settings.target_at,
                mirrord_source="mirrord/cli/src/connection.rs process_config_oss",
            )
        )
    if settings.copy_target:
        text = (
            "The copy target feature requires a mirrord operator"
            if settings.operator is False  # config/src/lib.rs LayerConfig::verify
            else "Feature `copy_target` requires using mirrord operator"
        )
        found.append(
            RuleFinding(
                "requires-operator",
                "error",
                f'`copy_target` needs the mirrord operator, and {why}: mirrord will stop with "'
                f'{text}".{fix}',
                at=("feature", "copy_target"),
                mirrord_source="mirrord/cli/src/connection.rs process_config_oss;"
                " config/src/lib.rs LayerConfig::verify",
            )
        )
    for key, what in (("split_queues", "queue splitting"), ("db_branches", "database branches")):
        present = settings.split_queues if key == "split_queues" else settings.db_branches
        if present:
            found.append(
                RuleFinding(
                    "requires-operator",
                    "warning",
                    f"`feature.{key}` needs the mirrord operator, and {why}: mirrord will"
                    f" silently ignore it and run with no {what}.{fix}",
                    at=("feature", key),
                    mirrord_source="mirrord/cli/src/connection.rs create_and_connect (the"
                    " open-source path never reads it)",
                )
            )
    return found
