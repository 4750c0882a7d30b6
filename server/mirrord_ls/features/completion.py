"""`textDocument/completion`: field names and enum values from the schema.

While typing, the file is usually broken, so the cursor's place (which
object, key or value) is found from the text before the cursor with a small
tolerant scanner per format, not from the parsed tree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from mirrord_ls.config.files import Format
from mirrord_ls.config.schema import Schema
from mirrord_ls.config.validate import describe_schema

Kind = Literal["key", "value"]


@dataclass(frozen=True)
class CursorContext:
    path: tuple[str | int, ...]  # the object (for keys) or the field (for values)
    kind: Kind
    prefix: str  # what is typed of the word so far
    start: int  # where that word starts (offset), for the replace range
    quoted: bool = False  # JSON: the cursor is inside an open string


@dataclass(frozen=True)
class Item:
    label: str
    insert: str
    kind: Literal["field", "value"]
    detail: str
    documentation: str | None
    start: int


_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*("?)|[{}\[\],:]|[^\s{}\[\],:"]+', re.S)


def _json_context(text: str, offset: int) -> CursorContext | None:
    frames: list[dict[str, Any]] = [{"type": "root", "part": None, "state": "value", "index": 0}]
    pending_key: str | None = None
    before = text[:offset]
    for m in _JSON_TOKEN.finditer(before):
        tok = m.group()
        top = frames[-1]
        if tok.startswith('"'):
            closed = bool(m.group(1)) and len(tok) > 1
            if not closed:
                # An open string that runs to the cursor: this is the word being typed.
                word = tok[1:]
                kind: Kind = "key" if top["type"] == "object" and top["state"] == "key" else "value"
                path = tuple(f["part"] for f in frames[1:] if f["part"] is not None)
                if kind == "value" and pending_key is not None:
                    path = (*path, pending_key)
                return CursorContext(path, kind, word, m.start() + 1, quoted=True)
            if top["type"] == "object" and top["state"] == "key":
                try:
                    pending_key = json.loads(tok)
                except ValueError:
                    pending_key = tok.strip('"')
        elif tok == "{" or tok == "[":
            part: str | int | None
            if top["type"] == "object":
                part = pending_key
            elif top["type"] == "array":
                part = top["index"]
            else:
                part = None
            frames.append(
                {
                    "type": "object" if tok == "{" else "array",
                    "part": part,
                    "state": "key" if tok == "{" else "value",
                    "index": 0,
                }
            )
            pending_key = None
        elif tok in ("}", "]"):
            if len(frames) > 1:
                frames.pop()
        elif tok == ":":
            top["state"] = "value"
        elif tok == ",":
            if top["type"] == "object":
                top["state"] = "key"
                pending_key = None
            elif top["type"] == "array":
                top["index"] += 1
    top = frames[-1]
    word_match = re.search(r"[A-Za-z0-9_.-]*$", before)
    word = word_match.group() if word_match else ""
    start = offset - len(word)
    path = tuple(f["part"] for f in frames[1:] if f["part"] is not None)
    if top["type"] == "object" and top["state"] == "key":
        return CursorContext(path, "key", word, start)
    if top["type"] == "object" and pending_key is not None:
        return CursorContext((*path, pending_key), "value", word, start)
    return None


def _yaml_context(text: str, offset: int) -> CursorContext | None:
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset]
    m = re.match(r"^(\s*)(-\s+)?([A-Za-z0-9_.-]*)$", line)
    value_m = re.match(r"^(\s*)(-\s+)?([A-Za-z0-9_-]+):\s*(\"?)([A-Za-z0-9_./-]*)$", line)
    if m is None and value_m is None:
        return None
    indent = len((m or value_m).group(1)) + len((m or value_m).group(2) or "")  # type: ignore[union-attr]
    path: list[str | int] = []
    limit = indent
    for prev in reversed(text[: max(line_start - 1, 0)].split("\n") if line_start else []):
        stripped = prev.strip()
        if not stripped or stripped.startswith("#"):
            continue
        prev_indent = len(prev) - len(prev.lstrip())
        dash = re.match(r"^(\s*)-\s+", prev)
        if dash and len(dash.group(0)) <= limit and prev_indent < limit:
            path.insert(0, 0)
            limit = prev_indent
            continue
        km = re.match(r"^(\s*)([A-Za-z0-9_-]+):\s*(#.*)?$", prev)
        if km and prev_indent < limit:
            path.insert(0, km.group(2))
            limit = prev_indent
            if limit == 0:
                break
    if value_m is not None:
        return CursorContext(
            (*path, value_m.group(3)),
            "value",
            value_m.group(5),
            offset - len(value_m.group(5)),
            quoted=bool(value_m.group(4)),
        )
    assert m is not None
    return CursorContext(tuple(path), "key", m.group(3), offset - len(m.group(3)))


def _toml_key_parts(raw: str) -> list[str]:
    return [p.strip().strip("\"'") for p in raw.split(".")]


def _toml_context(text: str, offset: int) -> CursorContext | None:
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset]
    table: list[str | int] = []
    for header in re.finditer(r"^\s*(\[\[?)([^\]\n]+)\]\]?", text[:line_start], re.M):
        table = list(_toml_key_parts(header.group(2)))
        if header.group(1) == "[[":
            table.append(0)
    value_m = re.match(r'^\s*([A-Za-z0-9_."\'-]+?)\s*=\s*("?)([A-Za-z0-9_./-]*)$', line)
    if value_m:
        parts = _toml_key_parts(value_m.group(1))
        return CursorContext(
            (*table, *parts),
            "value",
            value_m.group(3),
            offset - len(value_m.group(3)),
            quoted=bool(value_m.group(2)),
        )
    key_m = re.match(r"^\s*([A-Za-z0-9_.-]*)$", line)
    if key_m:
        parts = key_m.group(1).split(".")
        word = parts[-1]
        return CursorContext((*table, *parts[:-1]), "key", word, offset - len(word))
    return None


def cursor_context(text: str, offset: int, fmt: Format) -> CursorContext | None:
    if fmt == "json":
        return _json_context(text, offset)
    if fmt == "yaml":
        return _yaml_context(text, offset)
    return _toml_context(text, offset)


def _value_literals(schema: Schema, schemas: list[dict[str, Any]]) -> list[Any]:
    values: list[Any] = []
    for s in schemas:
        for b in schema.branches(s):
            if "const" in b:
                values.append(b["const"])
            for v in b.get("enum", []):
                values.append(v)
            types = b.get("type")
            types = [types] if isinstance(types, str) else (types or [])
            if "boolean" in types:
                values.extend([True, False])
    out: list[Any] = []
    for v in values:
        if v not in out and v is not None:
            out.append(v)
    return out


def _literal(value: Any, fmt: Format, quoted: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if quoted:
            return value
        return json.dumps(value) if fmt != "yaml" else value
    return json.dumps(value)


def complete(
    text: str,
    offset: int,
    fmt: Format,
    schema: Schema,
    existing_keys: set[str] | None = None,
) -> list[Item]:
    """Completion items at `offset`; field documentation comes from the schema."""
    from mirrord_ls.features.hover import dotted

    ctx = cursor_context(text, offset, fmt)
    if ctx is None:
        return []
    items: list[Item] = []
    if ctx.kind == "key":
        existing = existing_keys or set()
        for name, sub in schema.known_properties(ctx.path).items():
            if name in existing and name != ctx.prefix:
                continue
            resolved = schema.resolve(sub)
            doc = resolved.get("description") or ""
            if fmt == "json":
                insert = name if ctx.quoted else f'"{name}": '
            elif fmt == "yaml":
                insert = f"{name}: "
            else:
                insert = f"{name} = "
            items.append(
                Item(
                    name,
                    insert,
                    "field",
                    describe_schema(schema, sub),
                    f"**`{dotted((*ctx.path, name))}`**\n\n{doc}".strip(),
                    ctx.start,
                )
            )
        return items
    for value in _value_literals(schema, schema.at(ctx.path)):
        label = _literal(value, fmt, quoted=False)
        items.append(
            Item(
                label, _literal(value, fmt, ctx.quoted), "value", dotted(ctx.path), None, ctx.start
            )
        )
    return items
