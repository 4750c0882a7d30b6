"""Preflight rules: what mirrord will check at start-up, predicted from read-only facts.

Each rule is a pure function from typed facts (the MirrordOperator object, access
review answers, pods, namespaces, nodes) and the config settings it needs to a
list of :class:`RuleFinding`. Rules do no I/O and know nothing of LSP or of the
config text: a finding names the config key it belongs on (`at`), and the check
unit that wraps the rule anchors it with the spans of `ClusterInputs`.

Severity says what mirrord will do: error = mirrord will stop; warning = mirrord
will run, but not as the config says; information = worth knowing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mirrord_ls.findings import Severity


@dataclass(frozen=True, slots=True)
class RuleFinding:
    code: str
    severity: Severity
    message: str
    at: tuple[str | int, ...] = ()
    """The config key path the finding sits on (e.g. ("agent", "namespace"), or
    ("feature", "db_branches", 0) into a list); () = the operator/context anchor the
    cluster verdict uses."""
    mirrord_source: str = ""
    """Where mirrord decides it: file and function (and the text it prints)."""
    data: dict[str, Any] = field(default_factory=dict)
    """Extra data for quick fixes (e.g. the Role YAML for an admin)."""
