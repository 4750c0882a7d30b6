"""The check-unit interface: what a cluster check declares, receives and returns.

A check unit is a small module with one `UNIT = CheckUnit(...)`:

- `applies(ctx)`: whether the config asks for it (the inputs it needs);
- `run(ctx)`: reads cluster facts through `ctx.facts` (cached, single-flight:
  `await ctx.facts.operator()`, `await ctx.facts.access_review(...)`,
  `await ctx.facts.get(path)`) and returns `KeyedFinding`s placed by config
  key path, or `Halt(findings)` when the cluster is in trouble and the checks
  that need it would only repeat that;
- its wording lives in the same module, next to the rule it explains;
- `codes`, `severity`, `requests` and `predicts` document it (the table in
  docs/architecture.md lists every registered unit).

Gate units run first, in order, and may halt; the other units then run
concurrently, and their findings are reported in registration order. Units
that do not need the cluster (`needs_cluster=False`) run even after a halt.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from mirrord_ls.cluster import kubeconfig as kc
from mirrord_ls.cluster.facts import Facts
from mirrord_ls.cluster.inputs import ClusterInputs, checked_target
from mirrord_ls.config.targets import Target
from mirrord_ls.findings import KeyedFinding, Severity

# Where a finding about the cluster as a whole goes: the operator key, else the
# context, else the kubeconfig (else the first line).
CLUSTER_ANCHOR: tuple[tuple[str, ...], ...] = (("operator",), ("kube_context",), ("kubeconfig",))


def utc_today() -> datetime.date:
    """The default clock: today's date in UTC (mirrord compares licence dates in UTC)."""
    return datetime.datetime.now(datetime.UTC).date()


@dataclass(frozen=True)
class CheckContext:
    """What a check unit receives: the config's inputs, the resolved cluster, its facts."""

    inputs: ClusterInputs
    cluster: kc.ResolvedCluster
    operator_setting: bool | None
    """`operator` after MIRRORD_OPERATOR_ENABLE: True required, False off, None try."""
    facts: Facts
    today: datetime.date = field(default_factory=lambda: utc_today())
    """Today's date, UTC, from the service's clock (licence rules judge against it)."""

    @property
    def target(self) -> Target | None:
        """The target to look up (none when targetless, malformed or unset)."""
        return checked_target(self.inputs)

    def target_at(self) -> tuple[tuple[str | int, ...], tuple[tuple[str, ...], ...]]:
        """Where a finding about the target goes: its key, else the cluster anchor."""
        if self.inputs.target_path:
            return self.inputs.target_path, CLUSTER_ANCHOR
        return CLUSTER_ANCHOR[0], CLUSTER_ANCHOR[1:]


@dataclass(frozen=True)
class Halt:
    """The cluster cannot answer the other checks: report these findings and stop."""

    findings: Sequence[KeyedFinding] = ()


Outcome = Sequence[KeyedFinding] | Halt


def always(ctx: CheckContext) -> bool:
    del ctx
    return True


@dataclass(frozen=True)
class CheckUnit:
    name: str
    """Short, unique; used in logs and the docs table."""
    run: Callable[[CheckContext], Awaitable[Outcome]]
    codes: tuple[str, ...]
    """The finding codes it can return (each is in `findings.CODES`)."""
    severity: str
    """The severity rule, in words (what mirrord will do)."""
    requests: str
    """The API requests it costs (before caching)."""
    predicts: str
    """The mirrord source it predicts: file and function."""
    applies: Callable[[CheckContext], bool] = always
    gate: bool = False
    needs_cluster: bool = True


def severity_for(setting: bool | None, unset: Severity) -> Severity:
    """`operator: true` makes every operator problem fatal; otherwise `unset`."""
    return "error" if setting is True else unset
