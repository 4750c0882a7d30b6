#!/usr/bin/env python3
"""Build mirrord-ls's built-in schema from a published mirrord schema.

    scripts/build-builtin-schema.py PATH_OR_URL --release 3.250.0

The built-in schema is what mirrord-ls checks against when neither a configured schema nor
mirrord's published one can be had (offline, a CI runner without egress). It must know mirrord's
whole config structure, so unknown fields and wrong values are flagged offline as online; it keeps
only structural facts: field names, types, enums and consts, required fields,
additionalProperties, deprecated, defaults, numeric and length bounds, and the combinators and
references that join them. No description, title or other text of mirrord's is kept: hover
describes fields in mirrord-ls's own words when only this schema is there.

The output (`server/mirrord_ls/config/builtin-schema.json` by default) records the mirrord
release it was made from in `x-mirrord-release`; `check` and hover name it.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "server/mirrord_ls/config/builtin-schema.json"
# Keywords whose value is a schema, a list of schemas, or a map of name -> schema.
SCHEMA_VALUED = {"additionalProperties", "items", "not", "if", "then", "else", "contains"}
SCHEMA_LISTS = {"anyOf", "oneOf", "allOf", "prefixItems"}
SCHEMA_MAPS = {"properties", "$defs", "definitions", "patternProperties"}
# Keywords whose value is data, kept as it is.
DATA = {
    "type",
    "enum",
    "const",
    "required",
    "deprecated",
    "default",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "uniqueItems",
    "$ref",
    "$schema",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
}


def structural(node: Any) -> Any:
    """`node` with only the keywords that describe structure (text dropped)."""
    if isinstance(node, bool):
        return node
    if not isinstance(node, dict):
        raise ValueError(f"not a schema: {node!r}")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in SCHEMA_VALUED:
            out[key] = structural(value)
        elif key in SCHEMA_LISTS:
            out[key] = [structural(v) for v in value]
        elif key in SCHEMA_MAPS:
            out[key] = {name: structural(v) for name, v in value.items()}
        elif key in DATA:
            out[key] = value
        # everything else (description, title, examples, markdown...) is text: dropped
    return out


def read(source: str) -> dict[str, Any]:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=30) as response:
            doc: dict[str, Any] = json.loads(response.read(32 * 1024 * 1024))
            return doc
    loaded: dict[str, Any] = json.loads(Path(source).read_text("utf-8"))
    return loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="path or URL of a published mirrord-schema.json")
    parser.add_argument("--release", required=True, help="the mirrord release it belongs to")
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args(argv)
    doc = structural(read(args.source))
    doc = {
        "$schema": doc.pop("$schema", "https://json-schema.org/draft/2020-12/schema"),
        "x-mirrord-release": args.release,
        **doc,
    }
    args.output.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", "utf-8")
    print(f"{args.output}: mirrord {args.release}, {args.output.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
