"""Every cluster check unit, in the order their findings are reported.

A new check is one module under `cluster/checks/` (or a wrapper of a pure
function in `cluster/preflight/`) and one line here.
"""

from __future__ import annotations

from mirrord_ls.cluster.checks import (
    agent_access,
    agent_cluster,
    agent_policy,
    agent_target,
    operator,
    operator_access,
    operator_agent,
    operator_features,
    operator_object,
    operator_profile,
    operator_required,
    operator_sessions,
    target_exists,
)
from mirrord_ls.cluster.checks.base import CheckUnit

UNITS: tuple[CheckUnit, ...] = (
    operator.UNIT,
    operator_profile.UNIT,
    operator_object.UNIT,
    operator_required.UNIT,
    operator_access.UNIT,
    operator_features.UNIT,
    operator_sessions.UNIT,
    operator_agent.UNIT,
    target_exists.UNIT,
    agent_cluster.UNIT,  # the open-source path: mirrord creates its agent itself
    agent_target.UNIT,
    agent_policy.UNIT,
    agent_access.UNIT,
)
