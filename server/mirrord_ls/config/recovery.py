"""Line-level error recovery shared by the line-oriented readers (TOML, YAML).

Blanking the line with the error (spaces, so every later offset is unchanged)
lets a reader that stops at the first error read the rest of the file.
"""

from __future__ import annotations


def line_span(text: str, offset: int) -> tuple[int, int]:
    """The span of the non-blank part of the line holding `offset`."""
    offset = max(0, min(offset, len(text)))
    start = text.rfind("\n", 0, offset) + 1
    if offset == len(text) and offset > 0 and text[offset - 1] == "\n":
        # An error "at the end": point at the last non-empty line instead.
        stripped = text.rstrip()
        start = stripped.rfind("\n") + 1
        return start, max(len(stripped), start + 1)
    end = text.find("\n", offset)
    end = len(text) if end == -1 else end
    line = text[start:end]
    lead = len(line) - len(line.lstrip())
    s, e = start + lead, start + len(line.rstrip())
    return (s, e) if e > s else (offset, offset + 1 if offset < len(text) else offset)


def blank_line(text: str, offset: int) -> str:
    """`text` with the line `line_span` picks for `offset` replaced by spaces (same length)."""
    first, _ = line_span(text, offset)
    start = text.rfind("\n", 0, first) + 1
    end = text.find("\n", first)
    end = len(text) if end == -1 else end
    if not text[start:end].strip():
        return text
    return text[:start] + " " * (end - start) + text[end:]
