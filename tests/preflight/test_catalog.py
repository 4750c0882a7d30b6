"""The rule catalog, the code list and the README agree, and every rule's code is catalogued."""

from __future__ import annotations

import re
from pathlib import Path

from mirrord_ls.cluster import preflight
from mirrord_ls.cluster.preflight.operator_path import CATALOG
from mirrord_ls.findings import CODES

ROOT = Path(__file__).resolve().parents[2]


def test_every_catalogued_code_is_known_and_documented():
    readme = (ROOT / "README.md").read_text()
    page = (ROOT / "docs/preflight-operator.md").read_text()
    for rule in CATALOG:
        assert rule.code in CODES
        assert f"| `{rule.code}` |" in readme
        assert f"| `{rule.code}` | {rule.severity} |" in page


def test_every_code_the_rules_can_return_is_catalogued():
    catalogued = {r.code for r in CATALOG}
    folder = Path(preflight.__file__).parent
    emitted = set()
    # The open-source agent's rules (agent*.py, pod_security.py) are documented in
    # docs/preflight-agent.md and checked by their own test.
    operator_modules = [
        m for m in folder.glob("*.py") if not m.name.startswith(("agent", "pod_security"))
    ]
    for module in operator_modules:
        emitted |= set(re.findall(r'RuleFinding\(\s*"([a-z-]+)"', module.read_text()))
    assert emitted and emitted <= catalogued
