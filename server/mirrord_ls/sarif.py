"""SARIF 2.1.0 output of `mirrord-ls check`, for code-scanning tools.

One run, one rule per diagnostic code (`findings.CODES`), one result per
diagnostic. Locations are the paths as given on the command line (relative
paths stay relative, so a code-scanning upload maps them onto the repository);
regions are 1-based and counted in UTF-16 code units, as LSP counts them, which
is SARIF's default `columnKind`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from mirrord_ls import __version__
from mirrord_ls.findings import CODES

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/metalbear-co/mirrord-ls"

# LSP severity words -> SARIF `level` (SARIF has no "information"/"hint": both are notes).
LEVELS = {"error": "error", "warning": "warning", "information": "note", "hint": "note"}


def artifact_uri(path: Path) -> str:
    """A URI reference for `path`: relative stays relative, absolute becomes file://."""
    if path.is_absolute():
        return path.as_uri()
    return quote(path.as_posix())


def sarif_log(files: list[tuple[Path, list[dict[str, Any]]]]) -> dict[str, Any]:
    """The SARIF log for `(path as given, check --format json diagnostics)` pairs."""
    codes = sorted(CODES)
    rule_index = {code: i for i, code in enumerate(codes)}
    results = []
    for path, diagnostics in files:
        for d in diagnostics:
            start, end = d["range"]["start"], d["range"]["end"]
            result: dict[str, Any] = {
                "ruleId": d["code"],
                "level": LEVELS.get(d["severity"], "note"),
                "message": {"text": d["message"]},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": artifact_uri(path)},
                            "region": {
                                "startLine": start["line"] + 1,
                                "startColumn": start["character"] + 1,
                                "endLine": end["line"] + 1,
                                "endColumn": end["character"] + 1,
                            },
                        }
                    }
                ],
            }
            if d["code"] in rule_index:
                result["ruleIndex"] = rule_index[d["code"]]
            properties = {"source": d.get("source", "mirrord-ls")}
            if d.get("data"):
                properties["data"] = d["data"]
            result["properties"] = properties
            results.append(result)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mirrord-ls",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [
                            {
                                "id": code,
                                "shortDescription": {"text": CODES[code]},
                            }
                            for code in codes
                        ],
                    }
                },
                "columnKind": "utf16CodeUnits",
                "results": results,
            }
        ],
    }
