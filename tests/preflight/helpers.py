"""Shared builders for the preflight rule tests: operators from the loopback samples."""

from __future__ import annotations

import datetime
from typing import Any

from mirrord_ls.cluster.preflight import RuleFinding
from mirrord_ls.cluster.preflight.operator_object import MirrordOperator, parse_operator
from mirrord_ls.cluster.preflight.settings import OperatorSettings, operator_settings
from mirrord_ls.loopback import operator_samples as ops

TODAY = datetime.date(2026, 6, 15)


def operator(**kw: Any) -> MirrordOperator:
    """A parsed operator object: keyword arguments of `operator_samples.operator_object`."""
    parsed = parse_operator(ops.operator_object(today=TODAY, **kw))
    assert isinstance(parsed, MirrordOperator), parsed
    return parsed


def features_but(*missing: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(f for f in ops.ALL_FEATURES if f not in missing) + extra


def settings(config: dict[str, Any] | None = None, op: bool | None = None) -> OperatorSettings:
    return operator_settings(config or {}, op)


def codes(findings: list[RuleFinding]) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in findings]
