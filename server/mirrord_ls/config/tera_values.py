"""Tera's values as Python values, and how Tera writes, compares and converts them.

Tera works on ``serde_json::Value``: null, bool, number (an ``i64``, a ``u64`` or a finite
``f64``), string, array, and object (a ``BTreeMap``: keys always iterate sorted). Here they are
``None``, ``bool``, ``int``, ``float``, ``str``, ``list`` and ``dict``. What matters is that
the text comes out as Tera's does: Rust's ``Display`` for numbers in the output (``1.0`` is
``1``, ``-0.0`` is ``-0``, never an exponent), serde_json's (ryu) for JSON (``1e20``), and
serde_json's rules for equality (``1 == 1.0`` only after Tera turns both into floats).
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, Final

import regex

__all__ = [
    "TeraFailure",
    "display",
    "dotted_pointer",
    "graphemes",
    "is_i64",
    "is_int",
    "is_number",
    "is_u64",
    "json_eq",
    "show",
    "to_json",
    "truthy",
]

I64_MIN: Final = -(2**63)
I64_MAX: Final = 2**63 - 1
U64_MAX: Final = 2**64 - 1


class TeraFailure(Exception):
    """A Tera render error: the message is what the user sees."""


class TeraCrash(TeraFailure):
    """Tera panics here: mirrord would crash rather than print a message."""


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def is_i64(v: Any) -> bool:
    return is_int(v) and I64_MIN <= v <= I64_MAX


def is_u64(v: Any) -> bool:
    return is_int(v) and 0 <= v <= U64_MAX


def f64_value(f: float) -> float | None:
    """``serde_json::to_value(f64)``: a non-finite float becomes null."""
    return f if math.isfinite(f) else None


# -- numbers as text ---------------------------------------------------------------------------


def rust_f64(f: float) -> str:
    """Rust's ``{}`` for an f64: the shortest round-trip digits, never an exponent."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    text = repr(f)
    sign = "-" if text.startswith("-") else ""
    plain = format(Decimal(text.lstrip("-")), "f")
    if "." in plain:
        plain = plain.rstrip("0").rstrip(".")
    return sign + plain


def ryu_f64(f: float) -> str:
    """serde_json's float text (the ryu crate): ``1.0``, ``1e20``, ``1e-6``, ``0.00001``."""
    if f == 0:
        return "-0.0" if math.copysign(1.0, f) < 0 else "0.0"
    sign = "-" if f < 0 else ""
    digits_t, exp = Decimal(repr(abs(f))).as_tuple()[1:]
    digits = "".join(map(str, digits_t))
    assert isinstance(exp, int)
    stripped = digits.rstrip("0")
    exp += len(digits) - len(stripped)
    digits = stripped or "0"
    length = len(digits)
    kk = length + exp
    if 0 <= exp and kk <= 16:
        body = digits + "0" * exp + ".0"
    elif 0 < kk <= 16:
        body = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        body = "0." + "0" * (-kk) + digits
    elif length == 1:
        body = f"{digits}e{kk - 1}"
    else:
        body = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return sign + body


def display(v: Any) -> str:
    """How Tera writes a value into the output (``ValueRender`` in tera's context.rs)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return rust_f64(v)
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "[" + ", ".join(display(x) for x in v) + "]"
    return "[object]"


def _json_str(s: str) -> str:
    # serde_json escapes ", \ and the C0 controls (\b \f \n \r \t by name), nothing else
    return json.dumps(s, ensure_ascii=False)


def to_json(v: Any, pretty: bool = False, indent: int = 0) -> str:
    """serde_json's ``to_string`` / ``to_string_pretty`` (objects with sorted keys)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return ryu_f64(v)
    if isinstance(v, str):
        return _json_str(v)
    if isinstance(v, list):
        if not v:
            return "[]"
        if not pretty:
            return "[" + ",".join(to_json(x) for x in v) + "]"
        pad = "  " * (indent + 1)
        inner = ",\n".join(pad + to_json(x, True, indent + 1) for x in v)
        return "[\n" + inner + "\n" + "  " * indent + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        keys = sorted(v)
        if not pretty:
            return "{" + ",".join(_json_str(k) + ":" + to_json(v[k]) for k in keys) + "}"
        pad = "  " * (indent + 1)
        inner = ",\n".join(
            pad + _json_str(k) + ": " + to_json(v[k], True, indent + 1) for k in keys
        )
        return "{\n" + inner + "\n" + "  " * indent + "}"
    raise TypeError(type(v).__name__)


def show(v: Any) -> str:
    """A value as ``{}`` on a serde_json Value shows it (compact JSON), for messages."""
    try:
        return to_json(v)
    except TypeError:
        return str(v)


# -- truth, equality ---------------------------------------------------------------------------


def truthy(v: Any) -> bool:
    if isinstance(v, float):
        return v != 0.0 and not math.isnan(v)
    return bool(v)


def json_eq(a: Any, b: Any) -> bool:
    """serde_json's ``Value == Value``: an integer never equals a float."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) or is_number(b):
        return is_number(a) and is_number(b) and type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_eq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_eq(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# -- paths -------------------------------------------------------------------------------------


def pointer_tokens(pointer: str) -> list[str]:
    """tera's ``PointerMachina``: split ``a.b["c.d"][0]`` into its keys, quotes removed."""
    tokens: list[str] = []
    last = 0
    single = double = escaped = False
    while True:
        forwarded = pointer[last:]
        offset = 0
        found: str | None = None
        for i, ch in enumerate(forwarded):
            if ch == '"' and not escaped:
                double = not double
                if i == offset:
                    offset += 1
                else:
                    found = pointer[last + offset : last + i]
                    last += i + 1
                    if found:
                        break
                    found = None
            elif ch == "'" and not escaped:
                single = not single
                if i == offset:
                    offset += 1
                else:
                    found = pointer[last + offset : last + i]
                    last += i + 1
                    if found:
                        break
                    found = None
            elif ch == "\\":
                escaped = True
                continue
            elif ch == "[" and not (single or double or escaped):
                found = pointer[last + offset : last + i]
                last += i + 1
                if found:
                    break
                found = None
            elif ch == "]" and not (single or double or escaped):
                offset += 1
            elif ch == "." and not (single or double or escaped):
                if i == offset:
                    offset += 1
                else:
                    found = pointer[last + offset : last + i]
                    last += i + 1
                    if found:
                        break
                    found = None
            escaped = False
        if found is not None:
            tokens.append(found)
            continue
        if last + offset < len(pointer):
            tokens.append(pointer[last + offset :])
        return tokens


def _parse_index(token: str) -> int | None:
    if token.startswith("+") or (token.startswith("0") and len(token) != 1):
        return None
    if not token.isascii() or not token.isdigit():
        return None
    return int(token)


_MISSING: Final = object()


def dotted_pointer(value: Any, pointer: str) -> Any:
    """tera's ``dotted_pointer``: the value at ``pointer`` inside ``value``, or ``_MISSING``."""
    if pointer == "":
        return value
    for raw in pointer_tokens(pointer):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            if token not in value:
                return _MISSING
            value = value[token]
        elif isinstance(value, list):
            index = _parse_index(token)
            if index is None or index >= len(value):
                return _MISSING
            value = value[index]
        else:
            return _MISSING
    return value


MISSING: Final = _MISSING

_GRAPHEME_RE: Final = regex.compile(r"\X")


def graphemes(s: str) -> list[str]:
    """Extended grapheme clusters, as Rust's unicode-segmentation splits them."""
    return _GRAPHEME_RE.findall(s)


# -- serde conversions used by tera's try_get_value! and from_value ------------------------------


def conv_str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def conv_bool(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def conv_uint(v: Any, bits: int) -> int | None:
    return v if is_int(v) and 0 <= v < 2**bits else None


def conv_int(v: Any, bits: int) -> int | None:
    return v if is_int(v) and -(2 ** (bits - 1)) <= v < 2 ** (bits - 1) else None


def conv_f64(v: Any) -> float | None:
    return float(v) if is_number(v) else None


def conv_list(v: Any) -> list[Any] | None:
    return v if isinstance(v, list) else None
