"""YAML scalars read as mirrord reads them: by the type the field expects (serde-saphyr's rules).

mirrord reads YAML with serde-saphyr 0.0.29 and its default options (lib.rs,
`LayerFileConfig::from_path`: `serde_saphyr::from_str`). serde-saphyr does not resolve a
scalar's type by YAML 1.1 tags; the Rust type asking for the value decides
(serde-saphyr src/de/deserializer.rs, src/parse_scalars.rs):

- a string field takes the scalar's text, whatever its quoting (`kube_context: 1234` is
  "1234"); an enum takes the text as the variant (`mode: off`); a plain null-like scalar
  (empty, `~`, `null`) is None;
- a bool field parses the text, quoted or not, with YAML 1.1 words (`parse_yaml11_bool`: true,
  yes, y, on / false, no, n, off, any case);
- an integer field parses the text, quoted or not (`parse_int_signed/unsigned`): decimal
  without leading zeros, `0x`, `0o`, `0b`, `_` between digits; `30.0`, `017`, `.inf` are not
  integers;
- a float field: `.inf`, `.nan`, else Rust's float syntax;
- where serde asks for "any" value (`deserialize_any`: untagged enums, `#[serde(tag)]` and
  `flatten`, which serde buffers, and mirrord's own visitors), a plain scalar is null-like,
  else a YAML 1.1 bool, else an integer, else a float, else a string; a quoted one is a
  string. Inside a buffered value every scalar is read this way.

`type_scalars` walks the tree with the schema and gives each scalar the value mirrord would
read; the YAML reader (`parse_yaml`) fills in the "any" reading when no schema is known.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from mirrord_ls.config.document import Node
from mirrord_ls.config.schema import Schema

Reading = Literal["any", "string", "bool", "int", "float"]

_TRUE = frozenset({"true", "yes", "y", "on"})
_FALSE = frozenset({"false", "no", "n", "off"})
# Rust's `f64::from_str` (the fallback of parse_yaml12_float), finite values only.
_RUST_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")
_DIGITS = {16: "0123456789abcdefABCDEF", 8: "01234567", 2: "01", 10: "0123456789"}

# `$defs` that mirrord reads through serde's buffered `Content` (so every scalar inside them is
# read as "any"), by the Rust type's name as schemars spells it (generic types get a number).
# Untagged enums: target.rs TargetFileConfig and Target, agent.rs AgentImageFileConfig,
# feature/copy_target.rs CopyTargetFileConfig, feature/fs.rs FsUserConfig,
# incoming/http_filter.rs InnerFilter, feature/preview.rs PreviewTtl, util.rs VecOrSingle,
# feature/database_branches.rs ConnectionSource (DbBranchingConnectionSource) and ParamSource,
# database_branches/redis.rs RedisValueSource.
# Internally tagged (`#[serde(tag = ...)]`): http_filter.rs BodyFilter, database_branches.rs
# DatabaseBranchConfig, SqlBranchMigrationsConfig, IamAuthConfig,
# TargetEnvironmentVariableSource (DbBranchingConnectionSourceKind), generic.rs
# GenericReadinessConfig, every `*BranchCopyConfig`.
# `#[serde(flatten)]`: feature/split_queues.rs QueueSplit and QueueSplitMapValueOwned.
BUFFERED = frozenset(
    {
        "TargetFileConfig",
        "Target",
        "AgentImageFileConfig",
        "CopyTargetFileConfig",
        "FsUserConfig",
        "InnerFilter",
        "PreviewTtl",
        "VecOrSingle",
        "DbBranchingConnectionSource",
        "ParamSource",
        "RedisValueSource",
        "BodyFilter",
        "DatabaseBranchConfig",
        "SqlBranchMigrationsConfig",
        "IamAuthConfig",
        "DbBranchingConnectionSourceKind",
        "GenericReadinessConfig",
        "QueueSplit",
        "QueueSplitMapValueOwned",
    }
)
_GENERIC_SUFFIX = re.compile(r"\d+$")


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A scalar mirrord cannot read as the type its field expects.

    Not a str, number or bool, so every JSON Schema type check refuses it; the finding shows
    the text and why.
    """

    text: str
    expected: str

    def __str__(self) -> str:
        return self.text


@dataclass(slots=True)
class Scalar:
    """A YAML scalar as written: its text, its style, and an explicit tag if it had one."""

    text: str
    plain: bool
    tag: str | None = None  # "str", "null", "bool", "int", "float", other, or None


def nullish(scalar: Scalar) -> bool:
    """parse_scalars.rs `scalar_is_nullish` (and `_for_option`): empty, `~`, `null`."""
    if scalar.tag == "null":
        return True
    if scalar.tag == "str":
        return False
    if scalar.text == "" and not scalar.plain:
        return False  # "" and '' are strings; an empty block scalar is not quoted
    return scalar.plain and (scalar.text in ("", "~") or scalar.text.lower() == "null")


def read_bool(text: str) -> bool | None:
    """parse_scalars.rs `parse_yaml11_bool`."""
    word = text.strip().lower()
    return True if word in _TRUE else False if word in _FALSE else None


def _digits(text: str, radix: int) -> int | None:
    """`parse_digits_u128`/`parse_decimal_*`: digits of `radix`, `_` only between digits."""
    if not text or text[0] == "_" or text[-1] == "_" or "__" in text:
        return None
    clean = text.replace("_", "")
    if not clean or any(c not in _DIGITS[radix] for c in clean):
        return None
    return int(clean, radix)


def read_int(text: str, unsigned: bool = False) -> int | None:
    """parse_scalars.rs `parse_int_signed`/`parse_int_unsigned` (legacy octal off)."""
    t = text.strip()
    negative = t.startswith("-")
    if unsigned and negative:
        return None
    rest = t[1:] if t[:1] in "+-" else t
    lowered = rest[:2].lower()
    radix = {"0x": 16, "0o": 8, "0b": 2}.get(lowered, 10)
    digits = rest[2:] if radix != 10 else rest
    if radix == 10 and digits.startswith("0") and digits != "0":
        return None  # YAML 1.2: no leading zeros (`017` is not 15)
    value = _digits(digits, radix)
    if value is None:
        return None
    return -value if negative else value


def read_float(text: str) -> float | None:
    """parse_scalars.rs `parse_yaml12_float`: `.inf`/`.nan` forms, else finite Rust floats."""
    t = text.strip()
    special = {".nan": math.nan, "+.nan": math.nan, "-.nan": math.nan}
    special |= {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf}
    if t.lower() in special:
        return special[t.lower()]
    if _RUST_FLOAT.fullmatch(t):
        value = float(t)
        return value if math.isfinite(value) else None
    return None


def read_any(scalar: Scalar) -> Any:
    """`YamlDeserializer::deserialize_any`: what an untyped reader gets."""
    if nullish(scalar):
        return None
    if not scalar.plain or scalar.tag in ("str", "other"):
        return scalar.text
    if scalar.tag in ("bool", "int", "float"):
        # "TaggedScalarCannotDeserializeIntoString": a core tag on an untyped value.
        return Unreadable(scalar.text, f"a value (its !!{scalar.tag} tag is not read here)")
    first = scalar.text.lstrip()[:1]
    if first.isalpha() and scalar.text.strip().lower() not in _TRUE | _FALSE:
        return scalar.text  # starts with a letter: no number, and not a boolean word
    boolean = read_bool(scalar.text)
    if boolean is not None:
        return boolean
    t = scalar.text.strip()
    integer = read_int(t, unsigned=False)
    if integer is not None and -(2**63) <= integer < 2**64:
        return integer
    number = read_float(scalar.text)
    if number is not None:
        # Untyped readers get NaN and infinities as the strings ".nan", ".inf", "-.inf".
        if math.isnan(number):
            return ".nan"
        if math.isinf(number):
            return "-.inf" if number < 0 else ".inf"
        return number
    return scalar.text


def read_as(scalar: Scalar, reading: Reading, nullable: bool, unsigned: bool) -> Any:
    """The value of `scalar` for a field of type `reading`."""
    if reading == "any":
        return read_any(scalar)
    if nullish(scalar) and (nullable or reading != "string"):
        return None  # `deserialize_option`: None; else the schema says null is not allowed
    if reading == "string":
        if nullish(scalar):
            return None  # "NullIntoString": the schema refuses null here
        if scalar.tag in ("bool", "int", "float"):
            return Unreadable(scalar.text, "a string (it has a non-string tag)")
        return scalar.text
    if reading == "bool":
        value = read_bool(scalar.text)
        return value if value is not None else Unreadable(scalar.text, "true or false")
    if reading == "int":
        integer = read_int(scalar.text, unsigned)
        return integer if integer is not None else Unreadable(scalar.text, "a whole number")
    number = read_float(scalar.text)
    if number is None:
        return Unreadable(scalar.text, "a number")
    return number


# -- which reading a position gets --------------------------------------------------


def _refs(schema: Schema, node: Any, seen: set[int] | None = None) -> Iterable[str]:
    """`$defs` names a schema node stands for, through `$ref`s and combinators."""
    seen = set() if seen is None else seen
    if not isinstance(node, dict) or id(node) in seen:
        return
    seen.add(id(node))
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        yield ref.rsplit("/", 1)[-1]
        yield from _refs(schema, schema.resolve({"$ref": ref}), seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or ():
            yield from _refs(schema, sub, seen)


def is_buffered(schema: Schema, schemas: list[Any]) -> bool:
    """Does mirrord read the value at this position through serde's buffered `Content`?"""
    for node in schemas:
        for name in _refs(schema, node):
            if _GENERIC_SUFFIX.sub("", name) in BUFFERED or name in BUFFERED:
                return True
    return False


def reading_for(schema: Schema, schemas: list[Any]) -> tuple[Reading, bool, bool]:
    """(reading, null allowed, unsigned) for a scalar at a position with these schemas.

    Typed when the schemas allow exactly one scalar type and no object or list; "any" when
    they allow several (an untagged or hand-written visitor reads it with `deserialize_any`).
    """
    kinds: set[str] = set()
    nullable = False
    containers = False
    unsigned = True
    for node in schemas:
        for branch in schema.branches(node):
            values = branch.get("enum", [branch["const"]] if "const" in branch else None)
            if values is not None:
                for v in values:
                    if v is None:
                        nullable = True
                    elif isinstance(v, bool):
                        kinds.add("bool")
                    elif isinstance(v, int | float):
                        kinds.add("int" if isinstance(v, int) else "float")
                    else:
                        kinds.add("string")
                continue
            types = branch.get("type")
            if types is None:
                if any(k in branch for k in ("properties", "items", "additionalProperties")):
                    containers = True
                else:
                    return "any", True, False
                continue
            for t in [types] if isinstance(types, str) else types:
                if t == "null":
                    nullable = True
                elif t in ("object", "array"):
                    containers = True
                else:
                    kind = {"boolean": "bool", "integer": "int", "number": "float"}.get(t, t)
                    kinds.add(kind)
                    if kind == "int" and not (
                        isinstance(branch.get("minimum"), int | float) and branch["minimum"] >= 0
                    ):
                        unsigned = False
    if len(kinds) == 1 and not containers:
        return kinds.pop(), nullable, unsigned  # type: ignore[return-value]
    return "any", True, False


def type_scalars(root: Node, schema: Schema) -> None:
    """Give every YAML scalar in `root` the value mirrord reads for its field (in place)."""

    # Siblings share their schemas (a map's value schema, a list's items): decide once.
    buffered_at: dict[tuple[int, ...], bool] = {}
    readings: dict[tuple[int, ...], tuple[Reading, bool, bool]] = {}

    def walk(node: Node, schemas: list[Any], buffered: bool) -> None:
        key = tuple(id(s) for s in schemas)
        if not buffered:
            if key not in buffered_at:
                buffered_at[key] = is_buffered(schema, schemas)
            buffered = buffered_at[key]
        if node.kind == "object":
            branches = [b for s in schemas for b in schema.branches(s)]
            named = {n for b in branches for n in b.get("properties") or ()}
            other: list[Any] | None = None  # a map's value schema, shared by its keys
            for m in node.members:
                if m.key in named:
                    child = [c for s in schemas for c in schema.property_schemas(s, m.key)]
                else:
                    if other is None:
                        other = [c for s in schemas for c in schema.property_schemas(s, "\0")]
                    child = other
                walk(m.value, child, buffered)
        elif node.kind == "array":
            for i, item in enumerate(node.items):
                items: list[Any] = []
                for s in schemas:
                    for branch in schema.branches(s):
                        prefix = branch.get("prefixItems")
                        if isinstance(prefix, list) and i < len(prefix):
                            items.append(prefix[i])
                        elif isinstance(branch.get("items"), dict):
                            items.append(branch["items"])
                walk(item, items, buffered)
        elif isinstance(node.scalar, Scalar):
            if buffered or not schemas:
                set_value(node, read_any(node.scalar))
            else:
                if key not in readings:
                    readings[key] = reading_for(schema, schemas)
                reading, nullable, unsigned = readings[key]
                set_value(node, read_as(node.scalar, reading, nullable, unsigned))

    walk(root, [schema.document], False)


def set_value(node: Node, value: Any) -> None:
    node.value = value
    if value is None:
        node.kind = "null"
    elif isinstance(value, bool):
        node.kind = "bool"
    elif isinstance(value, int | float):
        node.kind = "number"
    else:
        node.kind = "string"  # text, or Unreadable (which no type check accepts)
