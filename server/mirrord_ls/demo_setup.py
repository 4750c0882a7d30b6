"""What `mirrord-ls demo` checks: its loopback clusters and example configs, by section.

Three sets of loopback clusters run side by side, each with a kubeconfig of its
own, and `KUBECONFIG` lists the three as kubectl merges them:

- operator discovery (`loopback/scenarios.py`): healthy, RBAC forbids, not
  installed, operator down, unreachable; configs in `examples/cluster/`;
- the operator path (`loopback/operator_scenarios.py`): certificate, session
  and profile RBAC, licence, features and protocol, port locks, multi-cluster;
  configs in `examples/operator/`;
- the agent mirrord creates without the operator (`loopback/agent_scenarios.py`):
  one config per scenario, written here from the scenario itself (so the demo
  and the tests read the same cases), into `examples/agent/`.

`examples/schema/` holds configs whose findings need no cluster (syntax, schema,
templates). Every file belongs to the section of its folder, and to the kube
context its `kube_context` names.
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from mirrord_ls.loopback.agent_scenarios import SCENARIOS, AgentScenario, start_agent_clusters
from mirrord_ls.loopback.kubeconfig import KubeContext, write_kubeconfig
from mirrord_ls.loopback.operator_scenarios import start_operator_clusters
from mirrord_ls.loopback.scenarios import start_demo_clusters

EXAMPLES = Path(__file__).resolve().parent / "examples"


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    folder: str
    """Its example configs: `examples/<folder>/`."""


SECTIONS: tuple[Section, ...] = (
    Section("discovery", "Operator discovery", "cluster"),
    Section("operator", "Operator path (preflight)", "operator"),
    Section("agent", "Without the operator: the agent mirrord creates", "agent"),
    Section("schema", "Config files: syntax, schema, templates", "schema"),
)


@dataclass(frozen=True)
class DemoContext:
    name: str
    description: str
    section: str


def demo_agent_scenarios() -> tuple[AgentScenario, ...]:
    """The agent scenarios the demo shows: the healthy control, then every case with a
    finding (each distinct code at least once); the other controls stay in the tests."""
    return tuple(s for s in SCENARIOS if s.expected or s.context == "agent-ok")


def agent_config(scenario: AgentScenario) -> dict[str, Any]:
    """The scenario's config on its context. `operator: false` sends mirrord straight to
    its own agent, as the section says, without the operator-not-installed note on each."""
    return {"kube_context": scenario.context, "operator": False, **scenario.config}


@dataclass
class CheckedFile:
    """One example config and what `check` found in it (its JSON diagnostics)."""

    path: str
    """Relative to the demo's folder: `examples/<section folder>/...`."""
    section: str
    context: str | None
    """The kube context it names (None: none, or unreadable)."""
    diagnostics: list[dict[str, Any]]


@dataclass
class DemoSetup:
    kubeconfigs: list[Path]
    examples: Path
    contexts: dict[str, DemoContext]

    @property
    def kubeconfig_env(self) -> str:
        """The value of `KUBECONFIG`: the kubeconfigs, in the order kubectl merges them."""
        return os.pathsep.join(str(p) for p in self.kubeconfigs)

    def section_of(self, path: Path) -> Section:
        folder = path.relative_to(self.examples).parts[0]
        return next(s for s in SECTIONS if s.folder == folder)

    def arrange(
        self, files: list[Path], diagnostics: list[list[dict[str, Any]]]
    ) -> list[CheckedFile]:
        """The checked files by section, in each in the order of its contexts (unknown
        contexts, then files naming none, last), then by path."""
        order = {name: i for i, name in enumerate(self.contexts)}
        sections = [s.key for s in SECTIONS]
        checked = [
            CheckedFile(
                f"examples/{path.relative_to(self.examples).as_posix()}",
                self.section_of(path).key,
                kube_context_of(path),
                found,
            )
            for path, found in zip(files, diagnostics, strict=True)
        ]

        def rank(f: CheckedFile) -> tuple[int, int, str]:
            place = len(order) + 1 if f.context is None else order.get(f.context, len(order))
            return sections.index(f.section), place, f.path

        return sorted(checked, key=rank)


def _own_names(contexts: Iterable[KubeContext]) -> list[KubeContext]:
    """Each context with a cluster and user entry named after it: the three kubeconfigs
    hold users of the same name with other tokens (`alice`), and where kubeconfigs merge,
    the first file to define a name wins."""
    return [
        replace(
            c,
            cluster=c.name,
            user=None if c.user is None else replace(c.user, name=f"{c.user.name}@{c.name}"),
        )
        for c in contexts
    ]


def kube_context_of(path: Path) -> str | None:
    """The `kube_context` a config names, when it parses (broken examples do not)."""
    try:
        text = path.read_text(encoding="utf-8")
        data: Any
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (OSError, ValueError, yaml.YAMLError):
        return None
    value = data.get("kube_context") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


@contextmanager
def demo_setup(workdir: Path) -> Iterator[DemoSetup]:
    """Start every cluster, write the kubeconfigs and the example configs under `workdir`;
    the clusters stop when the block ends, however it ends."""
    examples = workdir / "examples"
    shutil.copytree(EXAMPLES, examples)
    agent_dir = examples / "agent"
    agent_dir.mkdir(exist_ok=True)
    with ExitStack() as stack:
        discovery = stack.enter_context(start_demo_clusters(workdir / "discovery.kubeconfig"))
        operator = stack.enter_context(start_operator_clusters(workdir / "operator.kubeconfig"))
        scenarios = demo_agent_scenarios()
        agent = stack.enter_context(start_agent_clusters(workdir / "agent.kubeconfig", scenarios))
        contexts: dict[str, DemoContext] = {}
        for key, started in (("discovery", discovery), ("operator", operator)):
            for s in started.scenarios:
                contexts[s.context] = DemoContext(s.context, s.description, key)
        for a in scenarios:
            # What decides it in mirrord, and who asks where.
            what = f"{a.why} (user {a.user}, namespace {a.namespace})"
            contexts[a.context] = DemoContext(a.context, what, "agent")
            path = agent_dir / f"{a.context}-mirrord.json"
            path.write_text(json.dumps(agent_config(a), indent=2) + "\n", encoding="utf-8")
        kubeconfigs = [
            write_kubeconfig(path, _own_names(written.values()), current=current)
            for path, written, current in (
                (discovery.kubeconfig, discovery.contexts, "healthy"),
                (operator.kubeconfig, operator.contexts, "op-healthy"),
                (agent.kubeconfig, agent.contexts, scenarios[0].context),
            )
        ]
        yield DemoSetup(kubeconfigs, examples, contexts)
