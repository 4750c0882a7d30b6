"""Schema checks: jsonschema finds what is wrong, this module says it in words, on the right span.

The validator (Draft 2020-12) is the authority on what is valid. Its raw
messages ("is not valid under any of the given schemas") help nobody, so each
error is re-explained from the schema: unknown fields with a "did you mean",
wrong types and values with what the field accepts, anchored on the exact key
or value. For `anyOf`/`oneOf` the branch whose shape matches the value is
followed, so the finding is the one deep inside, not a vague one on top.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import re
from collections.abc import Iterable
from typing import Any

from mirrord_ls.config.document import Node, Path, deepest, locate
from mirrord_ls.config.schema import Schema
from mirrord_ls.config.yaml_scalars import Unreadable
from mirrord_ls.findings import Finding

_TYPE_WORDS = {
    "boolean": "true or false",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "object": "an object",
    "array": "a list",
    "null": "null",
}
_SHAPE_KEYWORDS = {"type", "const", "enum"}


def describe_value(value: Any) -> str:
    if isinstance(value, Unreadable):
        return f"{value.text}, which mirrord's YAML reader cannot read as {value.expected}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'the string "{shown}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, _dt.date | _dt.time):
        return f"the TOML date-time {value.isoformat()} (write it in quotes to make it a string)"
    return "an object"


def describe_schema(schema: Schema, node: Any, depth: int = 0) -> str:
    """What a schema accepts, in words: 'true or false', '"steal", "mirror" or an object'."""
    parts: list[str] = []
    for branch in schema.branches(node):
        parts.extend(_describe_branch(branch))
    objects = [p for p in parts if p.startswith("an object with fields ")]
    if len(objects) > 2:
        names: list[str] = []
        for p in objects:
            for n in p.removeprefix("an object with fields ").split(", "):
                if n != "..." and n not in names:
                    names.append(n)
        merged = (
            "an object with fields " + ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        )
        parts = [merged if p == objects[0] else p for p in parts if p not in objects[1:]]
    seen: list[str] = []
    for p in parts:
        if p not in seen:
            seen.append(p)
    if "null" in seen and len(seen) > 1:
        seen.remove("null")  # null means "unset" in mirrord's schema: not worth saying
    if not seen:
        return "any value"
    if len(seen) == 1:
        return seen[0]
    return ", ".join(seen[:-1]) + " or " + seen[-1]


def _describe_branch(branch: dict[str, Any]) -> list[str]:
    if "const" in branch:
        return [json.dumps(branch["const"])]
    if "enum" in branch:
        return [json.dumps(v) for v in branch["enum"]]
    types = branch.get("type")
    if isinstance(types, str):
        types = [types]
    if not types:
        if "properties" in branch:
            types = ["object"]
        elif "items" in branch:
            types = ["array"]
        else:
            return []
    out = []
    for t in types:
        word = _TYPE_WORDS.get(t, t)
        if t == "object" and branch.get("properties"):
            names = list(branch["properties"])
            shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            word = f"an object with fields {shown}"
        if t in ("integer", "number"):
            lo, hi = branch.get("minimum"), branch.get("maximum")
            if lo is not None and hi is not None:
                word += f" from {lo} to {hi}"
            elif lo is not None:
                word += f" of at least {lo}"
        out.append(word)
    return out


def _dotted(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"


def _suggest(key: str, known: Iterable[str]) -> str | None:
    known = list(known)

    match = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if match:
        return match[0]
    lowered = {k.lower().replace("-", "_"): k for k in known}
    return lowered.get(key.lower().replace("-", "_"))


class _Converter:
    def __init__(self, root: Node, schema: Schema, complete: bool) -> None:
        self.root = root
        self.schema = schema
        self.complete = complete
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, int, int]] = set()

    def add(
        self, code: str, severity: str, start: int, end: int, message: str, **data: Any
    ) -> None:
        key = (code, start, end)
        if key in self._seen:
            return
        self._seen.add(key)
        self.findings.append(Finding(code, severity, start, end, message, data=data))  # type: ignore[arg-type]

    def value_span(self, path: Path) -> tuple[int, int]:
        found, _ = deepest(self.root, path)
        if found is None:
            return self.root.start, self.root.start + 1
        return found.node.start, found.node.end

    def key_span(self, path: Path) -> tuple[int, int]:
        found, _ = deepest(self.root, path)
        if found is None:
            return self.root.start, self.root.start + 1
        if found.member is not None:
            return found.member.key_start, found.member.key_end
        return found.node.start, min(found.node.end, found.node.start + 1)

    # -- error handling ----------------------------------------------------
    def handle(self, error: Any) -> None:
        path: Path = tuple(error.absolute_path)
        kind = error.validator
        if kind == "additionalProperties" and error.validator_value is False:
            self.unknown_fields(path, error.instance, error.schema)
        elif kind == "unevaluatedProperties" and error.validator_value is False:
            self.unknown_fields(path, error.instance, error.schema)
        elif kind in ("anyOf", "oneOf"):
            self.alternatives(error, path)
        elif kind == "required":
            if not self.complete:
                return
            missing = [m for m in error.validator_value if m not in (error.instance or {})]
            start, end = self.key_span(path)
            names = ", ".join(f'"{m}"' for m in missing)
            self.add(
                "missing-field",
                "error",
                start,
                end,
                f"{_dotted(path)} needs the field{'s' if len(missing) > 1 else ''} {names}.",
            )
        else:
            self.invalid(path, error)

    def unknown_fields(self, path: Path, instance: Any, schema_node: dict[str, Any]) -> None:
        if not isinstance(instance, dict):
            return
        props = schema_node.get("properties") or {}
        patterns = schema_node.get("patternProperties") or {}
        known = list(props)
        found = locate(self.root, path)

        for key in instance:
            if key in props or any(re.search(p, key) for p in patterns):
                continue
            member = found.node.member(key) if found else None
            start, end = (member.key_start, member.key_end) if member else self.key_span(path)
            suggestion = _suggest(key, known)
            where = f"in {_dotted(path)}" if path else "at the top level"
            message = f'Unknown field "{key}" {where}: mirrord rejects unknown fields.'
            if suggestion:
                message += f' Did you mean "{suggestion}"?'
            elif known:
                shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
                message += f" Known fields: {shown}."
            self.add(
                "unknown-field",
                "error",
                start,
                end,
                message,
                suggestion=suggestion,
                field=key,
                path=list(path),
            )

    def alternatives(self, error: Any, path: Path) -> None:
        by_branch: dict[int, list[Any]] = {}
        for sub in error.context or ():
            by_branch.setdefault(sub.schema_path[0], []).append(sub)
        # A branch "fits" when the value has its shape: no type/const/enum error at this level.
        fitting = []
        for index, errors in by_branch.items():
            shape_errors = [
                e
                for e in errors
                if tuple(e.absolute_path) == path
                and (e.validator in _SHAPE_KEYWORDS or e.validator in ("anyOf", "oneOf"))
                and not (e.validator in ("anyOf", "oneOf") and self._fits_nested(e, path))
            ]
            if not shape_errors:
                fitting.append((-self._overlap(error, index), len(errors), index, errors))
        if fitting:
            # Prefer the branch that knows most of the fields written, then the fewest errors.
            fitting.sort(key=lambda t: (t[0], t[1], t[2]))
            for sub in fitting[0][3]:
                self.handle(sub)
            return
        self.invalid(path, error)

    def _overlap(self, error: Any, index: int) -> int:
        instance = error.instance
        if not isinstance(instance, dict):
            return 0
        try:
            branch = error.validator_value[index]
        except (IndexError, TypeError, KeyError):
            return 0
        names: set[str] = set()
        for b in self.schema.branches(branch):
            names.update(b.get("properties") or {})
        return sum(1 for key in instance if key in names)

    def _fits_nested(self, error: Any, path: Path) -> bool:
        """True when some branch of a nested anyOf/oneOf accepts the value's shape."""
        groups: dict[int, list[Any]] = {}
        for sub in error.context or ():
            groups.setdefault(sub.schema_path[0], []).append(sub)
        for errors in groups.values():
            if not any(
                tuple(e.absolute_path) == path
                and (
                    e.validator in _SHAPE_KEYWORDS
                    or (e.validator in ("anyOf", "oneOf") and not self._fits_nested(e, path))
                )
                for e in errors
            ):
                return True
        return False

    def invalid(self, path: Path, error: Any) -> None:
        start, end = self.value_span(path)
        accepted = describe_schema(self.schema, error.schema)
        found = describe_value(error.instance)
        kind = error.validator
        name = _dotted(path)
        if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
            word = {
                "minimum": "at least",
                "exclusiveMinimum": "more than",
                "maximum": "at most",
                "exclusiveMaximum": "less than",
            }[kind]
            message = f"{name} must be {word} {error.validator_value}; found {found}."
        elif kind in ("minItems", "maxItems", "minLength", "maxLength"):
            message = f"{name}: {found} is too {'short' if kind.startswith('min') else 'long'}."
        elif kind == "pattern":
            message = f"{name}: {found} does not have the expected form."
        elif kind == "format":
            message = f"{name}: {found} is not a valid {error.validator_value}."
        else:
            message = f"{name} accepts {accepted}; found {found}."
            if isinstance(error.instance, float) and "a whole number" in accepted:
                message += " mirrord reads a whole number only without a fraction or exponent."
        self.add("invalid-value", "error", start, end, message, path=list(path))


def deprecated_findings(root: Node, schema: Schema) -> list[Finding]:
    out: list[Finding] = []
    if '"deprecated"' not in schema.fingerprint:
        return out  # most schemas deprecate nothing: skip the walk

    def walk(node: Node, path: Path, here: list[Any]) -> None:
        if node.kind == "array":
            items = [
                b["items"]
                for s in here
                for b in schema.branches(s)
                if isinstance(b.get("items"), dict)
            ]
            if items:
                for item in node.items:
                    walk(item, path, [schema.resolve(i) for i in items])
            return
        if node.kind != "object":
            return
        for m in node.members:
            sub_path = (*path, m.key)
            schemas = [schema.resolve(p) for s in here for p in schema.property_schemas(s, m.key)]
            if any(s.get("deprecated") is True for s in schemas):
                note = next((s.get("description") for s in schemas if s.get("description")), "")
                first = note.strip().split("\n")[0] if note else ""
                out.append(
                    Finding(
                        "deprecated",
                        "warning",
                        m.key_start,
                        m.key_end,
                        f'"{m.key}" is deprecated.' + (f" {first}" if first else ""),
                        data={"path": list(sub_path)},
                    )
                )
            if schemas:
                walk(m.value, sub_path, schemas)

    walk(root, (), [schema.document])
    return out


def check_schema(root: Node, schema: Schema, complete: bool = True) -> list[Finding]:
    """Every schema finding for the tree, in file order."""
    converter = _Converter(root, schema, complete)
    instance = root.to_python()
    for error in schema.validator().iter_errors(instance):
        converter.handle(error)
    findings = converter.findings + deprecated_findings(root, schema)
    findings.sort(key=lambda f: (f.start, f.end, f.code))
    return findings


def _is_map(schema: Schema, path: Path) -> bool:
    """Is the value at `path` a map (a `HashMap`/`BTreeMap` in mirrord), not a struct?"""
    for node in schema.at(path):
        for branch in schema.branches(node):
            if isinstance(branch.get("additionalProperties"), dict) and not branch.get(
                "properties"
            ):
                return True
    return False


def duplicate_keys(root: Node, schema: Schema | None, fmt: str) -> list[Finding]:
    """Keys written twice in one object, where mirrord refuses them.

    - YAML: serde-saphyr's default `DuplicateKeyPolicy::Error` refuses every repeated key,
      maps included (serde-saphyr src/de/options.rs, `Options::default`).
    - JSON: serde_json hands every entry to the visitor; serde's derived struct visitor refuses
      a repeated field ("duplicate field `x`"), while a map keeps the last (`HashMap`,
      `BTreeMap`: `env.override`) or every entry (`split_queues` collects a list).
    - TOML: the reader itself refuses them (a syntax error), so nothing is left here.
    """
    if fmt != "json":
        return []  # the TOML and YAML readers report them (parse_toml, parse_yaml)
    out: list[Finding] = []

    def walk(node: Node, path: Path) -> None:
        if node.kind == "array":
            for i, item in enumerate(node.items):
                walk(item, (*path, i))
            return
        if node.kind != "object":
            return
        seen: set[str] = set()
        repeated = [m for m in node.members if m.key in seen or seen.add(m.key)]  # type: ignore[func-returns-value]
        if repeated and (schema is None or not _is_map(schema, path)):
            for m in repeated:
                why = "mirrord refuses a field written twice"
                out.append(
                    Finding(
                        "syntax",
                        "error",
                        m.key_start,
                        m.key_end,
                        f'Duplicate key "{m.key}" in {_dotted(path)}: {why}.',
                        data={"path": [*path, m.key]},
                    )
                )
        for m in node.members:
            walk(m.value, (*path, m.key))

    walk(root, ())
    return out
