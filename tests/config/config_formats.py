"""One config in all three formats, for tests that must hold whatever the file's format."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

FORMATS = ("json", "toml", "yaml")
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(
            f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None
        )
        return "{" + inner + "}"
    raise TypeError(value)


def _toml_key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def write(config: dict[str, Any], fmt: str) -> str:
    """`config` as a file of format `fmt` (TOML has no null: such fields are left out)."""
    if fmt == "json":
        return json.dumps(config, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(config, sort_keys=False)
    return "".join(
        f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in config.items() if v is not None
    )
