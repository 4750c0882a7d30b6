"""`textDocument/hover` on config keys and values: the field's documentation from the schema.

Pure: (analysis, offset) -> markdown. Cluster facts (the operator verdict,
the context's server and user) are appended by the caller from the cluster
module's own hover text, so no Kubernetes I/O happens here.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from mirrord_ls.config.document import Path, node_at
from mirrord_ls.config.validate import describe_schema

if TYPE_CHECKING:
    from mirrord_ls.config.analyze import Analysis

_ANCHOR = re.compile(r"\s*\{#[^}]*\}\s*$")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _clean(text: str) -> str:
    return _HTML_COMMENT.sub("", text).strip()


def dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def field_docs(analysis: Analysis, path: Path) -> str | None:
    """Markdown for the field at `path`: title, description, accepted values, default."""
    schema = analysis.schema
    if schema is None:
        return None
    schemas = schema.at(path)
    if not schemas:
        return None
    first: dict[str, Any] = {}
    for s in schemas:
        if s.get("description") or s.get("title"):
            first = s
            break
    for s in schemas:
        for b in schema.branches(s):
            if not first.get("description") and b.get("description"):
                first = {**first, "description": b["description"]}
    parts = [f"**`{dotted(path)}`**"]
    description = _clean(first.get("description") or "")
    if description:
        parts.append(description)
    accepted = "; ".join(describe_schema(schema, s) for s in schemas[:1])
    parts.append(f"Accepts: {accepted}.")
    defaults = [s["default"] for s in schemas if "default" in s]
    if defaults and defaults[0] is not None:
        parts.append(f"Default: `{json.dumps(defaults[0])}`")
    if any(s.get("deprecated") for s in schemas):
        parts.append("**Deprecated.**")
    parts.append(f"_Schema: {schema.label}_")
    return "\n\n".join(parts)


def hover_path(analysis: Analysis, source_offset: int) -> tuple[Path, bool] | None:
    """The path of the key or value under the cursor, and whether it is on a key."""
    if analysis.root is None:
        return None
    offset = analysis.rendered_offset(source_offset)
    path, node, _member, on_key = node_at(analysis.root, offset)
    if node is None or not path:
        return None
    return path, on_key


def config_hover(analysis: Analysis, source_offset: int) -> tuple[str, Path] | None:
    found = hover_path(analysis, source_offset)
    if found is None:
        return None
    path, _ = found
    # Hovering inside a list item documents the list field.
    while path and isinstance(path[-1], int):
        path = path[:-1]
    docs = field_docs(analysis, path)
    return (docs, path) if docs else None
