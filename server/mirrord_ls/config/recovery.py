"""Line-level error recovery shared by the line-oriented readers (TOML, YAML).

Blanking the line with the error (spaces, so every later offset is unchanged)
lets a reader that stops at the first error read the rest of the file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mirrord_ls.config.document import SyntaxIssue

T = TypeVar("T")
MAX_RECOVERIES = 8


def _line_bounds(text: str, offset: int) -> tuple[int, int]:
    """Start and end (before the break) of the line holding `offset`; LSP line breaks."""
    start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    if start < len(text) and start > 0 and text[start - 1] == "\r" and text[start] == "\n":
        start += 1  # the middle of a "\r\n": the line starts after it
    ends = [i for i in (text.find("\n", offset), text.find("\r", offset)) if i != -1]
    return start, min(ends) if ends else len(text)


def line_span(text: str, offset: int) -> tuple[int, int]:
    """The span of the non-blank part of the line holding `offset`."""
    offset = max(0, min(offset, len(text)))
    if offset == len(text) and offset > 0 and text[offset - 1] in "\r\n":
        # An error "at the end": point at the last non-empty line instead.
        stripped = text.rstrip()
        start, _ = _line_bounds(stripped, len(stripped))
        return start, max(len(stripped), start + 1)
    start, end = _line_bounds(text, offset)
    line = text[start:end]
    lead = len(line) - len(line.lstrip())
    s, e = start + lead, start + len(line.rstrip())
    return (s, e) if e > s else (offset, offset + 1 if offset < len(text) else offset)


def blank_line(text: str, offset: int) -> str:
    """`text` with the line `line_span` picks for `offset` replaced by spaces (same length)."""
    first, _ = line_span(text, offset)
    start, end = _line_bounds(text, first)
    if not text[start:end].strip():
        return text
    return text[:start] + " " * (end - start) + text[end:]


def read_recovering(
    text: str,
    read: Callable[[str], T],
    error: type[Exception],
    locate: Callable[[Exception, str], tuple[int, str]],
) -> tuple[T | None, str, list[SyntaxIssue]]:
    """Run `read`; on a syntax error, record it, blank its line, and read again.

    Returns what the first successful read gave (None when none succeeded), the text
    it read (with blanked lines; same length and offsets as `text`), and the issues.
    `locate` turns an error into (offset, message).
    """
    issues: list[SyntaxIssue] = []
    work = text
    for _attempt in range(MAX_RECOVERIES + 1):
        try:
            return read(work), work, issues
        except error as exc:
            offset, message = locate(exc, work)
            start, end = line_span(work, offset)
            if issues and issues[-1].message == message:
                # Blanking the line the reader stopped on exposed the same error
                # earlier on: that earlier line is where it really is.
                issues.pop()
            issues.append(SyntaxIssue(start, end, message))
            blanked = blank_line(work, offset)
            if blanked == work:
                break
            work = blanked
        except RecursionError:
            issues.append(SyntaxIssue(0, 1, "Nesting is too deep to read."))
            break
    return None, work, issues
