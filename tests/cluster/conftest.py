"""A loopback cluster per test, with one context per scenario of the decision table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mirrord_ls.loopback.scenarios import DemoClusters, start_demo_clusters


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[DemoClusters]:
    (tmp_path / "kube").mkdir()
    with start_demo_clusters(tmp_path / "kube" / "config", tls_failures=True) as demo:
        yield demo
