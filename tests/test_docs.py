"""What a new user reads: the project speaks for itself, and its documents agree.

No document or code names a path outside the repository, "these machines" or
shared docs a reader does not have; the VS Code setting descriptions agree with
the READMEs.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"/work/|\.\./shared|these machines|shared docs", re.IGNORECASE)


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    names = [n.decode() for n in out.split(b"\0") if n]
    return [REPO / n for n in names if not n.startswith(("tests/", ".ci/"))]


def test_nothing_outside_the_repository_is_named() -> None:
    hits = []
    for path in tracked_files():
        if not path.is_file() or path.suffix in {".png", ".vsix"}:
            continue
        text = path.read_text(errors="replace")
        # A phrase may be wrapped over two lines in prose.
        flat = re.sub(r"\s*\n\s*", " ", text)
        for m in FORBIDDEN.finditer(flat):
            around = flat[max(0, m.start() - 40) : m.end() + 20]
            hits.append(f"{path.relative_to(REPO)}: ...{around}...")
    assert hits == []


def test_schema_setting_is_described_alike_everywhere() -> None:
    package = json.loads((REPO / "editors/vscode/package.json").read_text())
    described = package["contributes"]["configuration"]["properties"]["mirrordLs.schema"][
        "markdownDescription"
    ]
    rows = [
        line
        for readme in ("README.md", "editors/vscode/README.md")
        for line in (REPO / readme).read_text().splitlines()
        if line.startswith("| `mirrordLs.schema`")
    ]
    assert len(rows) == 2
    for text in (described, *rows):
        assert "published" in text, text
        assert "built-in" in text, text


def test_every_vscode_setting_is_in_the_extension_readme() -> None:
    package = json.loads((REPO / "editors/vscode/package.json").read_text())
    readme = (REPO / "editors/vscode/README.md").read_text()
    for name in package["contributes"]["configuration"]["properties"]:
        assert f"| `{name}` |" in readme, name
