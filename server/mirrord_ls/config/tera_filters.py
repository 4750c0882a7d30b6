"""Tera 1.20's built-in filters and tests, on the values of :mod:`tera_values`.

Each one follows its Rust source in tera (``src/builtins/filters/*.rs``,
``src/builtins/testers.rs``) with the default ``builtins`` feature mirrord builds with
(``tera = "1"`` in mirrord's Cargo.toml): including the odd corners, such as ``int`` going
through a float, ``first`` of an empty array being ``""``, or ``unique`` refusing floats.
"""

from __future__ import annotations

import math
import unicodedata
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Final

import regex

from mirrord_ls.config.tera_dates import date_filter
from mirrord_ls.config.tera_syntax import RUST_WS
from mirrord_ls.config.tera_values import (
    I64_MAX,
    I64_MIN,
    MISSING,
    TeraCrash,
    TeraFailure,
    conv_bool,
    conv_f64,
    conv_int,
    conv_list,
    conv_str,
    conv_uint,
    display,
    dotted_pointer,
    f64_value,
    graphemes,
    is_i64,
    is_number,
    is_u64,
    json_eq,
    show,
    to_json,
)

__all__ = ["FILTERS", "TESTS", "parse_rust_f64"]

Args = Mapping[str, Any]


def _get(name: str, arg: str, ty: str, value: Any, conv: Callable[[Any], Any]) -> Any:
    """tera's ``try_get_value!``: a serde conversion, or its error message."""
    out = conv(value)
    if out is None:
        if arg == "value":
            raise TeraFailure(
                f"Filter `{name}` was called on an incorrect value: got `{show(value)}` but "
                f"expected a {ty}"
            )
        raise TeraFailure(
            f"Filter `{name}` received an incorrect type for arg `{arg}`: got `{show(value)}` "
            f"but expected a {ty}"
        )
    return out


def _s(name: str, value: Any, arg: str = "value") -> str:
    return str(_get(name, arg, "String", value, conv_str))


def _vec(name: str, value: Any) -> list[Any]:
    return list(_get(name, "value", "Vec<Value>", value, conv_list))


def _opt(args: Args, key: str, name: str, ty: str, conv: Callable[[Any], Any], default: Any) -> Any:
    return _get(name, key, ty, args[key], conv) if key in args else default


def _pat(name: str, args: Args) -> str:
    if "pat" not in args:
        raise TeraFailure(f"Filter `{name}` expected an arg called `pat`")
    # tera unescapes \n and \t in patterns read from template files
    return _s(name, args["pat"], "pat").replace("\\n", "\n").replace("\\t", "\t")


# -- strings -----------------------------------------------------------------------------------


def _trim_start_matches(s: str, pat: str) -> str:
    if pat == "":
        return s
    while s.startswith(pat):
        s = s[len(pat) :]
    return s


def _trim_end_matches(s: str, pat: str) -> str:
    if pat == "":
        return s
    while s.endswith(pat):
        s = s[: -len(pat)]
    return s


def _truncate(v: Any, args: Args) -> Any:
    s = _s("truncate", v)
    length = _opt(args, "length", "truncate", "usize", lambda x: conv_uint(x, 64), 255)
    end = _opt(args, "end", "truncate", "String", conv_str, "…")
    clusters = graphemes(s)
    if length >= len(clusters):
        return s
    return "".join(clusters[:length]) + end


def _replace(v: Any, args: Args) -> Any:
    s = _s("replace", v)
    if "from" not in args:
        raise TeraFailure("Filter `replace` expected an arg called `from`")
    old = _s("replace", args["from"], "from")
    if "to" not in args:
        raise TeraFailure("Filter `replace` expected an arg called `to`")
    new = _s("replace", args["to"], "to")
    return s.replace(old, new)  # Rust's replace("") inserts between chars too, like Python's


def _capitalize(v: Any, args: Args) -> Any:
    s = _s("capitalize", v)
    return s[:1].upper() + s[1:].lower()


_WORDS_RE: Final = regex.compile(r"\b(?P<first>[\w'])(?P<rest>[\w']*)\b")


def _title(v: Any, args: Args) -> Any:
    s = _s("title", v)
    return _WORDS_RE.sub(lambda m: m.group("first").upper() + m.group("rest").lower(), s)


def _indent(v: Any, args: Args) -> Any:
    s = _s("indent", v)
    prefix = _opt(args, "prefix", "indent", "String", conv_str, "    ")
    first = _opt(args, "first", "indent", "bool", conv_bool, False)
    blank = _opt(args, "blank", "indent", "bool", conv_bool, False)
    out: list[str] = []
    for i, line in enumerate(_rust_lines(s)):
        if i == 0:
            if first:
                out.append(prefix)
        else:
            out.append("\n")
            if blank or line.lstrip(RUST_WS):
                out.append(prefix)
        out.append(line)
    return "".join(out)


def _rust_lines(s: str) -> list[str]:
    """Rust's ``str::lines``: split on ``\\n``, drop one ``\\r`` before it, no last empty line."""
    if s == "":
        return []
    parts = s.split("\n")
    if parts[-1] == "":
        parts.pop()
    return [p[:-1] if p.endswith("\r") else p for p in parts]


_STRIPTAGS_RE: Final = regex.compile(r"(<!--.*?-->|<[^>]*>)")
_SPACELESS_RE: Final = regex.compile(r">\s+<")


def _escape_html(v: Any, args: Args) -> Any:
    s = _s("escape_html", v)
    table = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "/": "&#x2F;"}
    return "".join(table.get(c, c) for c in s)


def _escape_xml(v: Any, args: Args) -> Any:
    s = _s("escape_html", v)
    table = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}
    return "".join(table.get(c, c) for c in s)


def _urlencode(v: Any, args: Args) -> Any:
    # tera's PYTHON_ENCODE_SET keeps ASCII letters, digits and `-._~/%`
    return urllib.parse.quote(_s("urlencode", v), safe="/%")


def _urlencode_strict(v: Any, args: Args) -> Any:
    s = _s("urlencode_strict", v)
    return "".join(
        c if c.isascii() and c.isalnum() else "".join(f"%{b:02X}" for b in c.encode()) for c in s
    )


def _addslashes(v: Any, args: Args) -> Any:
    s = _s("addslashes", v)
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")


def _slugify(v: Any, args: Args) -> Any:
    # the slug crate: ASCII letters and digits kept (lowercased), every other run becomes one
    # `-`; non-ASCII goes through deunicode first (approximated here by dropping accents)
    s = _s("slugify", v)
    out: list[str] = []
    prev_dash = True
    for ch in s:
        text = ch if ch.isascii() else _deunicode(ch)
        for c in text:
            if c.isascii() and c.isalnum():
                out.append(c.lower())
                prev_dash = False
            elif not prev_dash:
                out.append("-")
                prev_dash = True
    if out and out[-1] == "-":
        out.pop()
    return "".join(out)


_DEUNICODE_EXTRA: Final = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
}


def _deunicode(ch: str) -> str:
    if ch in _DEUNICODE_EXTRA:
        return _DEUNICODE_EXTRA[ch]
    decomposed = unicodedata.normalize("NFKD", ch)
    ascii_part = "".join(c for c in decomposed if c.isascii())
    return ascii_part or "-"


def _split(v: Any, args: Args) -> Any:
    s, pat = _s("split", v), _pat("split", args)
    if pat == "":
        return ["", *list(s), ""]  # Rust's split("") yields empty ends around every char
    return s.split(pat)


_RUST_FLOAT_RE: Final = regex.compile(
    r"[+-]?(?:inf|infinity|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)",
    regex.IGNORECASE,
)


def parse_rust_f64(s: str) -> float | None:
    """Rust's ``str::parse::<f64>``: no blanks, no underscores, ``inf``/``NaN`` any case."""
    if not _RUST_FLOAT_RE.fullmatch(s):
        return None
    return float(s)


def _saturate_i64(f: float) -> int:
    """Rust's ``f as i64``: NaN is 0, out-of-range values saturate."""
    if math.isnan(f):
        return 0
    if f >= 2.0**63:
        return I64_MAX
    if f < -(2.0**63):
        return I64_MIN
    return int(f)


_DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"


def _from_str_radix(s: str, base: int) -> int | None:
    """Rust's ``i64::from_str_radix``."""
    if not 2 <= base <= 36:
        raise TeraCrash(f"`int` with base {base}: Rust panics on a radix outside 2..=36")
    body = s
    sign = 1
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        return None
    value = 0
    for ch in body.lower():
        d = _DIGITS.find(ch) if ch.isascii() else -1
        if d < 0 or d >= base:
            return None
        value = value * base + d
    value *= sign
    return value if I64_MIN <= value <= I64_MAX else None


def _int(v: Any, args: Args) -> Any:
    default = _opt(args, "default", "int", "i64", lambda x: conv_int(x, 64), 0)
    base = _opt(args, "base", "int", "u32", lambda x: conv_uint(x, 32), 10)
    if isinstance(v, str):
        s = v.strip(RUST_WS)
        prefix = {2: "0b", 8: "0o", 16: "0x"}.get(base)
        if prefix:
            s = _trim_start_matches(s, prefix)
        parsed = _from_str_radix(s, base)
        if parsed is not None:
            return parsed
        if "." in s:
            f = parse_rust_f64(s)
            return default if f is None else _saturate_i64(f)
        return default
    if is_number(v):
        return _saturate_i64(float(v))  # `n.as_f64()` first: large integers lose precision
    raise TeraFailure("Filter `int` received an unexpected type")


def _float(v: Any, args: Args) -> Any:
    default = _opt(args, "default", "float", "f64", conv_f64, 0.0)
    if isinstance(v, str):
        f = parse_rust_f64(v.strip(RUST_WS))
        return f64_value(default if f is None else f)
    if is_number(v):
        return float(v)
    raise TeraFailure("Filter `float` received an unexpected type")


def _str_filter(name: str, fn: Callable[[str], Any]) -> Callable[[Any, Args], Any]:
    return lambda v, args: fn(_s(name, v))


def _pat_filter(name: str, fn: Callable[[str, str], Any]) -> Callable[[Any, Args], Any]:
    return lambda v, args: fn(_s(name, v), _pat(name, args))


# -- arrays ------------------------------------------------------------------------------------


def _nth(v: Any, args: Args) -> Any:
    arr = _vec("nth", v)
    if not arr:
        return ""
    if "n" not in args:
        raise TeraFailure("The `nth` filter has to have an `n` argument")
    n = _get("nth", "n", "usize", args["n"], lambda x: conv_uint(x, 64))
    return arr[n] if n < len(arr) else ""


def _first(v: Any, args: Args) -> Any:
    arr = _vec("first", v)
    return arr[0] if arr else ""


def _last(v: Any, args: Args) -> Any:
    arr = _vec("last", v)
    return arr[-1] if arr else ""


def _join(v: Any, args: Args) -> Any:
    arr = _vec("join", v)
    sep = ""
    if "sep" in args:
        sep = _s("truncate", args["sep"], "sep").replace("\\n", "\n").replace("\\t", "\t")
    return sep.join(display(x) for x in arr)


def _attr(name: str, args: Args, required: str | None = None) -> str:
    if "attribute" not in args:
        if required is not None:
            raise TeraFailure(required)
        return ""
    return _s(name, args["attribute"], "attribute")


def _key_at(value: Any, attribute: str) -> Any:
    found = dotted_pointer(value, attribute)
    if found is MISSING:
        raise TeraFailure(f"attribute '{attribute}' does not reference a field")
    return found


def _sort_key(kind: str, key: Any) -> Any:
    if kind == "number":
        if not is_number(key):
            raise TeraFailure(f"expected number got {show(key)}")
        f = float(key)
        return (math.copysign(1.0, f) < 0, f)  # total order: -0.0 before 0.0
    if kind == "bool":
        if not isinstance(key, bool):
            raise TeraFailure(f"expected bool got {show(key)}")
        return key
    if kind == "string":
        if not isinstance(key, str):
            raise TeraFailure(f"expected string got {show(key)}")
        return key.encode()  # Rust compares strings by bytes
    if not isinstance(key, list):
        raise TeraFailure(f"expected array got {show(key)}")
    return len(key)


def _kind(value: Any, verb: str) -> str:
    if value is None:
        raise TeraFailure(f"Null is not a {verb} value")
    if isinstance(value, bool):
        return "bool"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    raise TeraFailure(f"Object is not a {verb} value")


def _sort(v: Any, args: Args) -> Any:
    arr = _vec("sort", v)
    if not arr:
        return arr
    attribute = _attr("sort", args)
    kind = _kind(_key_at(arr[0], attribute), "sortable")
    keyed = [(_sort_key(kind, _key_at(x, attribute)), x) for x in arr]
    if kind == "number":
        keyed.sort(key=lambda pair: (pair[0][1], not pair[0][0]))
    else:
        keyed.sort(key=lambda pair: pair[0])
    return [x for _, x in keyed]


def _unique(v: Any, args: Args) -> Any:
    arr = _vec("unique", v)
    if not arr:
        return arr
    case_sensitive = _opt(args, "case_sensitive", "unique", "bool", conv_bool, False)
    attribute = _attr("unique", args)
    first = _key_at(arr[0], attribute)
    if first is None:
        raise TeraFailure("Null is not a unique value")
    if isinstance(first, float):
        raise TeraFailure("Unique floats are not implemented")
    if isinstance(first, list):
        raise TeraFailure("Unique arrays are not implemented")
    if isinstance(first, dict):
        raise TeraFailure("Unique objects are not implemented")
    seen: set[Any] = set()
    out: list[Any] = []
    for item in arr:
        key = dotted_pointer(item, attribute)
        if key is MISSING:
            continue
        if _discriminant(key) != _discriminant(first):
            raise TeraFailure("unique filter can't compare multiple types")
        if isinstance(first, str):
            marker: Any = key if case_sensitive else key.lower()
        elif isinstance(first, bool):
            marker = key
        else:
            if not is_i64(key):
                raise TeraFailure(f"expected number got {show(key)}")
            marker = key
        if marker in seen:
            continue
        seen.add(marker)
        out.append(item)
    return out


def _discriminant(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if is_number(v):
        return "number"
    return type(v).__name__


def _group_by(v: Any, args: Args) -> Any:
    arr = _vec("group_by", v)
    if not arr:
        return {}
    key = _attr("group_by", args, "The `group_by` filter has to have an `attribute` argument")
    grouped: dict[str, list[Any]] = {}
    for item in arr:
        found = dotted_pointer(item, key)
        if found is MISSING or found is None:
            continue
        name = found if isinstance(found, str) else show(found)
        grouped.setdefault(name, []).append(item)
    return grouped


def _filter(v: Any, args: Args) -> Any:
    arr = _vec("filter", v)
    if not arr:
        return arr
    key = _attr("filter", args, "The `filter` filter has to have an `attribute` argument")
    wanted = args.get("value")
    out = []
    for item in arr:
        found = dotted_pointer(item, key)
        found = None if found is MISSING else found
        if (found is not None) if wanted is None else json_eq(found, wanted):
            out.append(item)
    return out


def _map(v: Any, args: Args) -> Any:
    arr = _vec("map", v)
    if not arr:
        return arr
    key = _attr("map", args, "The `map` filter has to have an `attribute` argument")
    out = []
    for item in arr:
        found = dotted_pointer(item, key)
        if found is not MISSING and found is not None:
            out.append(found)
    return out


def _slice_index(i: float, length: int) -> int:
    # `i as usize` saturates: negative and NaN are 0
    f = i if i >= 0.0 else length + i
    if math.isnan(f) or f <= 0:
        return 0
    return int(min(f, 2.0**64 - 1))


def _slice(v: Any, args: Args) -> Any:
    arr = _vec("slice", v)
    if not arr:
        return arr
    start = 0
    if "start" in args:
        start = _slice_index(_get("slice", "start", "f64", args["start"], conv_f64), len(arr))
    end = len(arr)
    if "end" in args:
        end = _slice_index(_get("slice", "end", "f64", args["end"], conv_f64), len(arr))
    end = min(end, len(arr))
    return arr[start:end] if start < end else []


def _concat(v: Any, args: Args) -> Any:
    arr = _vec("concat", v)
    if "with" not in args:
        raise TeraFailure("The `concat` filter has to have a `with` argument")
    extra = args["with"]
    return arr + extra if isinstance(extra, list) else [*arr, extra]


# -- numbers -----------------------------------------------------------------------------------


def _abs(v: Any, args: Args) -> Any:
    if is_u64(v):
        return v
    if is_i64(v):
        return v if v == I64_MIN else abs(v)  # i64::MIN.abs() wraps in a release build
    if isinstance(v, float):
        return abs(v)
    raise TeraFailure("Filter `abs` was used on a value that isn't a number.")


def _pluralize(v: Any, args: Args) -> Any:
    num = _get("pluralize", "value", "f64", v, conv_f64)
    plural = _opt(args, "plural", "pluralize", "String", conv_str, "s")
    singular = _opt(args, "singular", "pluralize", "String", conv_str, "")
    return plural if abs(abs(num) - 1.0) > 2.220446049250313e-16 else singular


def _rust_round(x: float) -> float:
    """f64::round: halves away from zero."""
    if not math.isfinite(x):
        return x
    r = math.floor(abs(x) + 0.5)
    if r - abs(x) == 0.5 and abs(x) + 0.5 != r:  # floating point: keep x when exact
        r = math.floor(abs(x))
    return math.copysign(float(r), x)


def _powi(base: float, exp: int) -> float:
    try:
        return base**exp
    except OverflowError:
        return math.inf


def _round(v: Any, args: Args) -> Any:
    num = _get("round", "value", "f64", v, conv_f64)
    method = _opt(args, "method", "round", "String", conv_str, "common")
    precision = _opt(args, "precision", "round", "i32", lambda x: conv_int(x, 32), 0)
    multiplier = 1.0 if precision == 0 else _powi(10.0, precision)
    scaled = multiplier * num
    if method == "common":
        rounded = _rust_round(scaled)
    elif method == "ceil":
        rounded = math.ceil(scaled) if math.isfinite(scaled) else scaled
    elif method == "floor":
        rounded = math.floor(scaled) if math.isfinite(scaled) else scaled
    else:
        raise TeraFailure(
            f"Filter `round` received an incorrect value for arg `method`: got `{method!r}`, "
            f"only common, ceil and floor are allowed"
        )
    with_nan = float(rounded) / multiplier if multiplier != 0 else math.nan
    return f64_value(with_nan)


_SIZE_UNITS: Final = ("kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_UNITS: Final = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def _filesizeformat(v: Any, args: Args) -> Any:
    # humansize 2.x format_size with WINDOWS (1024-based, kB) or BINARY (KiB)
    num = _get("filesizeformat", "value", "usize", v, lambda x: conv_uint(x, 64))
    binary = _opt(args, "binary", "filesizeformat", "bool", conv_bool, False)
    size = float(num)
    scale = 0
    while size >= 1024.0 and scale < len(_SIZE_UNITS):
        size /= 1024.0
        scale += 1
    if scale == 0:
        return f"{num} B"
    unit = (_BINARY_UNITS if binary else _SIZE_UNITS)[scale - 1]
    text = f"{size:.0f}" if size == math.floor(size) else f"{size:.2f}"
    return f"{text} {unit}"


# -- common, objects ---------------------------------------------------------------------------


def _length(v: Any, args: Args) -> Any:
    if isinstance(v, list | dict | str):
        return len(v)
    raise TeraFailure(
        "Filter `length` was used on a value that isn't an array, an object, or a string."
    )


def _reverse(v: Any, args: Args) -> Any:
    if isinstance(v, list | str):
        return v[::-1]
    raise TeraFailure(
        f"Filter `reverse` received an incorrect type for arg `value`: got `{show(v)}` but "
        f"expected Array|String"
    )


def _json_encode(v: Any, args: Args) -> Any:
    pretty = args.get("pretty")
    return to_json(v, pretty=isinstance(pretty, bool) and pretty)


def _as_str(v: Any, args: Args) -> Any:
    return display(v)


def _get_key(v: Any, args: Args) -> Any:
    if "key" not in args:
        raise TeraFailure("The `get` filter has to have an `key` argument")
    key = _s("get", args["key"], "key")
    if not isinstance(v, dict):
        raise TeraFailure("Filter `get` was used on a value that isn't an object")
    if key in v:
        return v[key]
    if "default" in args:
        return args["default"]
    raise TeraFailure(f"Filter `get` tried to get key `{key}` but it wasn't found")


FILTERS: Final[dict[str, Callable[[Any, Args], Any]]] = {
    "upper": _str_filter("upper", str.upper),
    "lower": _str_filter("lower", str.lower),
    "trim": _str_filter("trim", lambda s: s.strip(RUST_WS)),
    "trim_start": _str_filter("trim_start", lambda s: s.lstrip(RUST_WS)),
    "trim_end": _str_filter("trim_end", lambda s: s.rstrip(RUST_WS)),
    "trim_start_matches": _pat_filter("trim_start_matches", _trim_start_matches),
    "trim_end_matches": _pat_filter("trim_end_matches", _trim_end_matches),
    "truncate": _truncate,
    "wordcount": _str_filter("wordcount", lambda s: len(s.split())),
    "replace": _replace,
    "capitalize": _capitalize,
    "title": _title,
    "linebreaksbr": _str_filter(
        "linebreaksbr", lambda s: s.replace("\r\n", "<br>").replace("\n", "<br>")
    ),
    "indent": _indent,
    "striptags": _str_filter("striptags", lambda s: _STRIPTAGS_RE.sub("", s)),
    "spaceless": _str_filter("spaceless", lambda s: _SPACELESS_RE.sub("><", s)),
    "urlencode": _urlencode,
    "urlencode_strict": _urlencode_strict,
    "escape": _escape_html,
    "escape_xml": _escape_xml,
    "slugify": _slugify,
    "addslashes": _addslashes,
    "split": _split,
    "int": _int,
    "float": _float,
    "first": _first,
    "last": _last,
    "nth": _nth,
    "join": _join,
    "sort": _sort,
    "unique": _unique,
    "slice": _slice,
    "group_by": _group_by,
    "filter": _filter,
    "map": _map,
    "concat": _concat,
    "abs": _abs,
    "pluralize": _pluralize,
    "round": _round,
    "filesizeformat": _filesizeformat,
    "length": _length,
    "reverse": _reverse,
    "date": date_filter,
    "json_encode": _json_encode,
    "as_str": _as_str,
    "get": _get_key,
}


# -- tests -------------------------------------------------------------------------------------


def _nargs(name: str, most: int, args: list[Any]) -> None:
    if most == 0 and args:
        raise TeraFailure(
            f"Tester `{name}` was called with some args but this test doesn't take args"
        )
    if len(args) > most:
        raise TeraFailure(
            f"Tester `{name}` was called with {len(args)} args, the max number is {most}"
        )


def _defined(name: str, value: Any) -> None:
    if value is MISSING:
        raise TeraFailure(f"Tester `{name}` was called on an undefined variable")


def _string_of(name: str, part: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TeraFailure(f"Tester `{name}` was called {part} that isn't a string")
    return value


def _simple(name: str, fn: Callable[[Any], bool], defined: bool = True) -> Callable[..., bool]:
    def test(value: Any, args: list[Any]) -> bool:
        _nargs(name, 0, args)
        if defined:
            _defined(name, value)
        return fn(value)

    return test


def _odd(value: Any, args: list[Any]) -> bool:
    _nargs("odd", 0, args)
    _defined("odd", value)
    if not is_number(value):
        raise TeraFailure("Tester `odd` was called on a variable that isn't a number")
    return math.fmod(float(value), 2.0) != 0.0


def _even(value: Any, args: list[Any]) -> bool:
    _nargs("even", 0, args)
    _defined("even", value)
    return not _odd(value, args)


def _divisible_by(value: Any, args: list[Any]) -> bool:
    _nargs("divisibleby", 1, args)
    _defined("divisibleby", value)
    if not is_number(value):
        raise TeraFailure("Tester `divisibleby` was called on a variable that isn't a number")
    if not args or not is_number(args[0]):
        raise TeraFailure("Tester `divisibleby` was called with a parameter that isn't a number")
    p = float(args[0])
    rem = math.fmod(float(value), p) if p != 0 else math.nan
    return rem == 0.0


def _affix(name: str, check: Callable[[str, str], bool]) -> Callable[..., bool]:
    def test(value: Any, args: list[Any]) -> bool:
        _nargs(name, 1, args)
        _defined(name, value)
        s = _string_of(name, "on a variable", value)
        needle = _string_of(name, "with a parameter", args[0] if args else None)
        return check(s, needle)

    return test


def _containing(value: Any, args: list[Any]) -> bool:
    _nargs("containing", 1, args)
    _defined("containing", value)
    if isinstance(value, str):
        return _string_of("containing", "with a parameter", args[0] if args else None) in value
    if isinstance(value, list):
        if not args:
            raise TeraCrash("`containing` without an argument on an array makes Tera crash")
        return any(json_eq(args[0], x) for x in value)
    if isinstance(value, dict):
        return _string_of("containing", "with a parameter", args[0] if args else None) in value
    raise TeraFailure("Tester `containing` can only be used on string, array or map")


# Rust's regex crate has no look-around and no backreferences; it also runs in linear time,
# which Python's engines do not promise: patterns get a time limit.
_RUST_REGEX_UNSUPPORTED: Final = regex.compile(r"\(\?<?[=!]|\\[1-9]|\\k<|\(\?P=|\(\?>|[*+?}][+]")
REGEX_TIMEOUT: Final = 0.25


def _matching(value: Any, args: list[Any]) -> bool:
    _nargs("matching", 1, args)
    _defined("matching", value)
    s = _string_of("matching", "on a variable", value)
    pattern = _string_of("matching", "with a parameter", args[0] if args else None)
    if _RUST_REGEX_UNSUPPORTED.search(pattern):
        raise TeraFailure(
            "Tester `matching`: Invalid regular expression: look-around, backreferences and "
            "possessive or atomic groups are not supported by Rust's regex crate"
        )
    try:
        compiled = regex.compile(pattern, regex.VERSION1)
    except regex.error as exc:
        raise TeraFailure(f"Tester `matching`: Invalid regular expression: {exc}") from None
    try:
        return compiled.search(s, timeout=REGEX_TIMEOUT) is not None
    except TimeoutError:
        raise TeraFailure(
            "Tester `matching`: the regular expression takes too long for mirrord-ls to evaluate"
        ) from None


TESTS: Final[dict[str, Callable[[Any, list[Any]], bool]]] = {
    "defined": _simple("defined", lambda v: v is not MISSING, defined=False),
    "undefined": _simple("undefined", lambda v: v is MISSING, defined=False),
    "string": _simple("string", lambda v: isinstance(v, str)),
    "number": _simple("number", is_number),
    "odd": _odd,
    "even": _even,
    "divisibleby": _divisible_by,
    "iterable": _simple("iterable", lambda v: isinstance(v, list | dict)),
    "object": _simple("object", lambda v: isinstance(v, dict)),
    "starting_with": _affix("starting_with", str.startswith),
    "ending_with": _affix("ending_with", str.endswith),
    "containing": _containing,
    "matching": _matching,
}
