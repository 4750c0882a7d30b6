"""Helpers shared by the cluster tests (constants, kubectl JSON reading)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
KUBECTL = shutil.which("kubectl")

# Tokens and keys planted in the fixtures; none may appear in a repr, str or message.
PLANTED_SECRETS = (
    "SECRET-TOKEN-123",
    "SHADOWED-TOKEN-456",
    "SECRET-PASSWORD-789",
    "SECRET-KEY-DATA",
    "SECRET-FILE-TOKEN-321",
    "SECRET-EXEC-TOKEN-999",
)


KubectlRunner = Callable[..., subprocess.CompletedProcess[str]]


def kubectl_json(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data
