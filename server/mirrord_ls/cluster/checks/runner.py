"""Walk the check units for one config: gates in order, then the rest concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mirrord_ls.cluster.checks.base import CheckContext, CheckUnit, Halt
from mirrord_ls.findings import KeyedFinding


async def run_units(ctx: CheckContext, units: Sequence[CheckUnit]) -> list[KeyedFinding]:
    """The findings of every unit that applies, in registration order.

    Gate units run first, one after the other; a `Halt` stops every unit that needs
    the cluster. The remaining units run concurrently (they share facts, so a
    question two of them ask is asked once).
    """
    found: dict[str, Sequence[KeyedFinding]] = {}
    halted = False
    for unit in units:
        if unit.gate and unit.applies(ctx):
            outcome = await unit.run(ctx)
            if isinstance(outcome, Halt):
                found[unit.name] = outcome.findings
                halted = True
                break
            found[unit.name] = outcome
    rest = [
        unit
        for unit in units
        if not unit.gate and (unit.needs_cluster is False or not halted) and unit.applies(ctx)
    ]
    outcomes = await asyncio.gather(*(unit.run(ctx) for unit in rest))
    for unit, outcome in zip(rest, outcomes, strict=True):
        found[unit.name] = outcome.findings if isinstance(outcome, Halt) else outcome
    return [finding for unit in units for finding in found.get(unit.name, ())]
