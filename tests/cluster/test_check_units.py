"""The check-unit registry and runner: codes, docs table, gates, halts and order."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit, Halt, Outcome
from mirrord_ls.cluster.checks.registry import UNITS
from mirrord_ls.cluster.checks.runner import run_units
from mirrord_ls.cluster.inputs import ClusterInputs
from mirrord_ls.findings import CODES, KeyedFinding

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_every_unit_is_named_once_and_its_codes_are_known() -> None:
    names = [unit.name for unit in UNITS]
    assert len(names) == len(set(names))
    for unit in UNITS:
        assert unit.codes and set(unit.codes) <= set(CODES), unit.name
        assert unit.predicts and unit.requests and unit.severity


def test_the_docs_table_lists_every_registered_unit() -> None:
    table = ARCHITECTURE.read_text("utf-8")
    for unit in UNITS:
        assert f"| `{unit.name}`" in table, f"{unit.name} is missing from docs/architecture.md"


def finding(code: str) -> KeyedFinding:
    return KeyedFinding(code, "warning", code, ("operator",))


def unit(
    name: str,
    outcome: Outcome,
    *,
    gate: bool = False,
    needs_cluster: bool = True,
    applies: bool = True,
    ran: list[str] | None = None,
) -> CheckUnit:
    async def run(ctx: CheckContext) -> Outcome:
        del ctx
        if ran is not None:
            ran.append(name)
        return outcome

    return CheckUnit(
        name=name,
        run=run,
        codes=("syntax",),
        severity="-",
        requests="-",
        predicts="-",
        applies=lambda ctx: applies,
        gate=gate,
        needs_cluster=needs_cluster,
    )


def context() -> CheckContext:
    cluster: Any = None
    facts: Any = None
    return CheckContext(ClusterInputs(), cluster, None, facts)


async def codes_of(units: Sequence[CheckUnit]) -> list[str]:
    return [f.code for f in await run_units(context(), units)]


async def test_findings_come_in_registration_order_whatever_runs_first() -> None:
    units = [
        unit("form", [finding("a")], needs_cluster=False),
        unit("gate", [finding("b")], gate=True),
        unit("late", [finding("c")]),
    ]
    assert await codes_of(units) == ["a", "b", "c"]


async def test_a_halt_stops_the_units_that_need_the_cluster() -> None:
    ran: list[str] = []
    units = [
        unit("form", [finding("a")], needs_cluster=False, ran=ran),
        unit("gate", Halt([finding("down")]), gate=True, ran=ran),
        unit("second-gate", [finding("x")], gate=True, ran=ran),
        unit("target", [finding("y")], ran=ran),
    ]
    assert await codes_of(units) == ["a", "down"]
    assert sorted(ran) == ["form", "gate"]


@pytest.mark.parametrize("gate", [True, False])
async def test_a_unit_that_does_not_apply_does_not_run(gate: bool) -> None:
    ran: list[str] = []
    units = [unit("off", [finding("a")], gate=gate, applies=False, ran=ran)]
    assert await codes_of(units) == []
    assert ran == []
