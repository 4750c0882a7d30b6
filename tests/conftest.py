"""Shared test set-up: an isolated environment, so no test reaches beyond 127.0.0.1.

The published schema's address is blanked (tests that need it serve one on
loopback), the schema cache goes to a temporary folder, and HOME points at an
empty folder so the machine's own kubeconfig is never read.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mirrord_ls.loopback.scenarios import DemoClusters, start_demo_clusters

_ISOLATED = Path(tempfile.mkdtemp(prefix="mirrord-ls-tests-"))
(_ISOLATED / "home").mkdir(exist_ok=True)
os.environ["MIRRORD_LS_SCHEMA_URL"] = ""
os.environ["MIRRORD_LS_CACHE_DIR"] = str(_ISOLATED / "cache")
os.environ["HOME"] = str(_ISOLATED / "home")
for name in (
    "KUBECONFIG",
    "MIRRORD_KUBECONFIG",
    "MIRRORD_KUBE_CONTEXT",
    "MIRRORD_OPERATOR_ENABLE",
    "MIRRORD_ACCEPT_INVALID_CERTIFICATES",
):
    os.environ.pop(name, None)

REFERENCE_SCHEMA = (
    Path(__file__).resolve().parents[1].parent / "shared/reference/mirrord-schema.json"
)


@pytest.fixture
def reference_schema() -> Path:
    """mirrord's own schema, where the shared reference copy exists."""
    if not REFERENCE_SCHEMA.exists():
        pytest.skip("../shared/reference/mirrord-schema.json is not present")
    return REFERENCE_SCHEMA


@pytest.fixture
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoClusters]:
    """Loopback API servers, one kube context per scenario of the decision table.

    The kubeconfig lives outside `tmp_path`, which tests use as their workspace: a kubeconfig
    inside an untrusted workspace is, rightly, not used.
    """
    folder = tmp_path_factory.mktemp("kube")
    with start_demo_clusters(folder / "config", tls_failures=True) as demo:
        yield demo
