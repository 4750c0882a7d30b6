"""Text edits on mirrord configs, format-aware: set a value, rename a key, remove a field.

Pure: they return (start, end, new_text) triples on the file as written; the
server turns them into LSP `TextEdit`s. Used by quick fixes and the context
switch; nothing here writes a file.
"""

from __future__ import annotations

import json
import re

from mirrord_ls.config.analyze import Analysis
from mirrord_ls.config.files import Format
from mirrord_ls.lsp_convert import line_texts

Edit = tuple[int, int, str]
_LINE_END = re.compile(r"\r\n|\r|\n")
_BARE_YAML = re.compile(r"^[A-Za-z0-9_./-]+$")
_BARE_TOML_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _line_start(text: str, offset: int) -> int:
    """Where the line holding `offset` starts (lines end at "\n", "\r\n" or "\r")."""
    return max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1


def _next_line(text: str, offset: int) -> int:
    """Where the line after the one holding `offset` starts (the text's end if none)."""
    found = _LINE_END.search(text, offset)
    return found.end() if found else len(text)


def _break_of(text: str) -> str:
    """The file's own line break, for an inserted line."""
    found = _LINE_END.search(text)
    return found.group() if found else "\n"


def scalar(value: str | bool, fmt: Format) -> str:
    """A value as it would be written in the format."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if fmt == "yaml" and _BARE_YAML.match(value) and value not in ("true", "false", "null"):
        return value
    return json.dumps(value)


def replace_value(analysis: Analysis, path: tuple[str, ...], value: str | bool) -> Edit | None:
    found = analysis.field(path)
    if found is None:
        return None
    text = analysis.text[found.start : found.end]
    if isinstance(value, str) and text[:1] in "\"'" and analysis.fmt == "yaml":
        quote = text[0]
        inner = value.replace(quote, quote * 2) if quote == "'" else json.dumps(value)[1:-1]
        return (found.start, found.end, f"{quote}{inner}{quote}")
    return (found.start, found.end, scalar(value, analysis.fmt))


def rename_key(analysis: Analysis, start: int, end: int, new: str) -> Edit:
    old = analysis.text[start:end]
    if analysis.fmt == "json" or old[:1] == '"':
        return (start, end, json.dumps(new))
    if old[:1] == "'":
        return (start, end, f"'{new}'")
    if analysis.fmt == "toml" and not _BARE_TOML_KEY.match(new):
        return (start, end, json.dumps(new))
    return (start, end, new)


def remove_field(analysis: Analysis, path: tuple[str, ...]) -> Edit | None:
    """Remove a top-level or nested field with its separator (JSON comma, line ending)."""
    found = analysis.field(path)
    if found is None:
        return None
    text = analysis.text
    if analysis.fmt == "json":
        start, end = found.key_start, found.end
        after = re.compile(r"\s*,").match(text, end)
        if after:
            end = after.end()
            ws = re.compile(r"[ \t]*(?:\r\n|\r|\n)?").match(text, end)
            end = ws.end() if ws else end
        else:
            before = text[:start].rstrip()
            if before.endswith(","):
                start = len(before) - 1
        # Take the indentation of a field alone on its line with it.
        line_start = _line_start(text, start)
        if not text[line_start:start].strip():
            start = line_start
        return (start, end, "")
    # TOML and YAML: the whole line(s) the field spans.
    return (_line_start(text, found.key_start), _next_line(text, found.end), "")


def set_top_level(analysis: Analysis, key: str, value: str | bool) -> Edit | None:
    """Set `key` at the top level: replace its value, or insert it first."""
    if analysis.field((key,)) is not None:
        return replace_value(analysis, (key,), value)
    root = analysis.root
    text = analysis.text
    nl = _break_of(text)
    if analysis.fmt == "json":
        if root is None or root.kind != "object":
            return None
        start, _ = analysis.source_span(root.start, root.start + 1)
        indent = "  "
        if root.members:
            first_key, _ = analysis.source_span(root.members[0].key_start, root.members[0].key_end)
            line_start = _line_start(text, first_key)
            indent = text[line_start:first_key] if not text[line_start:first_key].strip() else ""
            member = f"{json.dumps(key)}: {scalar(value, 'json')}"
            return (first_key, first_key, f"{member},{nl}{indent}")
        member = f"{json.dumps(key)}: {scalar(value, 'json')}"
        return (start + 1, start + 1, f"{nl}{indent}{member}{nl}")
    sep = " = " if analysis.fmt == "toml" else ": "
    line = f"{key}{sep}{scalar(value, analysis.fmt)}{nl}"
    # After leading comments and a YAML document marker, before anything else.
    offset = 0
    for raw in line_texts(text):
        stripped = raw.strip()
        if stripped.startswith("#") or stripped == "---" or not stripped:
            offset += len(raw)
            continue
        break
    return (offset, offset, line)
