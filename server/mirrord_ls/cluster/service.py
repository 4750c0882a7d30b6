"""Placeholder until the cluster verdicts land: no cluster findings yet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mirrord_ls.findings import Finding


def check_cluster_sync(
    analysis: Any, path: Path, env: dict[str, str], trusted: bool, workspace: Path
) -> list[Finding]:
    return []
