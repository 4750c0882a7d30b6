"""Which files are mirrord configs, and in which format mirrord reads them.

The patterns are the ones mirrord's IDE extensions use; the format follows the
extension, as mirrord decides it (`.json` or none, `.toml`, `.yaml`/`.yml`).
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path, PurePath
from typing import Literal

Format = Literal["json", "toml", "yaml"]

EXTENSIONS: dict[str, Format] = {
    ".json": "json",
    "": "json",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
}

# Glob patterns, relative to a workspace folder (for clients that register watchers).
GLOBS = (
    "**/.mirrord/*.{json,toml,yaml,yml}",
    "**/*mirrord.{json,toml,yaml,yml}",
    "**/*.mirrord/*.{json,toml,yaml,yml}",
)

_SUFFIXES = (".json", ".toml", ".yaml", ".yml")
SKIP_DIRS = frozenset(
    {".git", "node_modules", ".venv", "venv", "__pycache__", "target", ".tox", "dist", "build"}
)


def config_format(path: str | PurePath) -> Format | None:
    """The format mirrord would read `path` in; None for an extension mirrord rejects."""
    return EXTENSIONS.get(PurePath(path).suffix.lower())


def is_mirrord_config(path: str | PurePath) -> bool:
    """Does `path` match one of the mirrord config patterns?"""
    p = PurePath(path)
    name = p.name
    if not name.lower().endswith(_SUFFIXES):
        return False
    parent = p.parent.name
    if parent == ".mirrord" or parent.endswith(".mirrord"):
        return True
    stem = name.rsplit(".", 1)[0]
    return fnmatch(stem, "*mirrord")


def git_branch_for(path: str | None) -> str | None:
    """The checked-out branch, read from `.git/HEAD` without running git.

    Running `git` in an untrusted repository could run programs its config
    names (fsmonitor), so the file is read instead.
    """
    if not path:
        return None
    current = Path(path).resolve().parent
    for folder in (current, *current.parents):
        head = folder / ".git" / "HEAD"
        try:
            content = head.read_text("utf-8", errors="replace").strip()
        except OSError:
            continue
        prefix = "ref: refs/heads/"
        return content[len(prefix) :] if content.startswith(prefix) else None
    return None
