"""Path patterns shared by faults and the request log.

A pattern is an exact path, a glob (`/apis/operator.metalbear.co/*`, matched
with `fnmatchcase`, where `*` also crosses `/`), or a compiled regular
expression (matched with `fullmatch`).
"""

from __future__ import annotations

import fnmatch
import re

PathPattern = str | re.Pattern[str]


def path_matches(pattern: PathPattern | None, path: str) -> bool:
    if pattern is None:
        return True
    if isinstance(pattern, re.Pattern):
        return pattern.fullmatch(path) is not None
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    return pattern == path


def method_matches(method: str | None, actual: str) -> bool:
    return method is None or method.upper() == actual.upper()
