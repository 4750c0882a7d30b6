"""Where the tests find mirrord's published schema (a reference copy kept beside the checkout).

One place names it, for the pytest fixtures and for the scripts that run the
editors' tests and the benchmark (`./dev`, `editors/run-tests`). Run as a
script, it prints the path when the file exists and nothing otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

REFERENCE_SCHEMA = Path(
    os.environ.get("MIRRORD_LS_SCHEMA")
    or Path(__file__).resolve().parents[1].parent / "shared/reference/mirrord-schema.json"
)

if __name__ == "__main__":
    if REFERENCE_SCHEMA.is_file():
        print(REFERENCE_SCHEMA)
