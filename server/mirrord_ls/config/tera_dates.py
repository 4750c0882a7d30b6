"""Tera's ``date`` filter and ``now()`` function: chrono's date parsing and strftime.

tera 1.20 (``src/builtins/filters/common.rs``, ``date``; ``src/builtins/functions.rs``,
``now``) formats with chrono 0.4 and converts time zones with chrono-tz. This module follows
chrono's ``StrftimeItems`` for the specifiers it documents (an unknown one is Tera's
"Invalid date format"), using Python's ``zoneinfo`` for named time zones.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any, Final

from mirrord_ls.config.tera_values import TeraCrash, TeraFailure, is_i64, is_number, show

__all__ = ["date_filter", "now_value"]

_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# One strftime item: %, an optional padding flag, then the specifier (chrono's grammar)
_ITEM_RE: Final = re.compile(r"%([-_0]?)(\.[369]?f|[369]f|:{1,3}z|#z|.)", re.DOTALL)
_SPECS: Final = set("YCymbBhdeaAwuUWGgVjDxFvHkIlPpMSfRTXrZzcs+tn%")


def _check_format(fmt: str) -> None:
    pos = 0
    while True:
        i = fmt.find("%", pos)
        if i < 0:
            return
        m = _ITEM_RE.match(fmt, i)
        if m is None or not (m.group(2)[-1:] in ("f", "z") or m.group(2) in _SPECS):
            raise TeraFailure(f"Invalid date format `{fmt}`")
        if m.group(2) == "#z":
            raise TeraFailure(f"Invalid date format `{fmt}`")
        pos = m.end()


def _pad(value: int, width: int, flag: str, default: str) -> str:
    pad = {"-": "", "_": " ", "0": "0"}.get(flag, default)
    text = str(abs(value))
    if pad:
        text = text.rjust(width, pad)
    return ("-" if value < 0 else "") + text


def _offset_text(offset: dt.timedelta, colons: int) -> str:
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if colons == 0:
        return f"{sign}{hours:02}{minutes:02}"
    if colons == 1:
        return f"{sign}{hours:02}:{minutes:02}"
    if colons == 2:
        return f"{sign}{hours:02}:{minutes:02}:{seconds:02}"
    return f"{sign}{hours:02}"


def _fraction(nanos: int, spec: str) -> str:
    if spec == ".f":
        if nanos == 0:
            return ""
        if nanos % 1_000_000 == 0:
            return f".{nanos // 1_000_000:03}"
        if nanos % 1_000 == 0:
            return f".{nanos // 1_000:06}"
        return f".{nanos:09}"
    digits = int(spec.lstrip(".")[0]) if spec not in ("f",) else 9
    text = f"{nanos:09}"[:digits]
    return ("." if spec.startswith(".") else "") + text


def strftime(when: dt.datetime, fmt: str, nanos: int, naive: bool) -> str:
    """chrono's ``format``: ``naive`` values have no offset (%z on them is a Tera crash)."""
    out: list[str] = []
    pos = 0
    while True:
        i = fmt.find("%", pos)
        if i < 0:
            out.append(fmt[pos:])
            return "".join(out)
        out.append(fmt[pos:i])
        m = _ITEM_RE.match(fmt, i)
        assert m is not None
        flag, spec = m.group(1), m.group(2)
        out.append(_item(when, spec, flag, nanos, naive))
        pos = m.end()


def _item(when: dt.datetime, spec: str, flag: str, nanos: int, naive: bool) -> str:
    year, month, day = when.year, when.month, when.day
    if spec.endswith("f"):
        return _fraction(nanos, spec)
    if spec.endswith("z") or spec == "Z":
        if naive or when.utcoffset() is None:
            raise TeraCrash("formatting a date without a time zone with %z or %Z makes Tera crash")
        offset = when.utcoffset()
        assert offset is not None
        if spec == "Z":
            name = when.tzname()
            return (
                name if name and not name.startswith(("UTC+", "UTC-")) else _offset_text(offset, 1)
            )
        return _offset_text(offset, spec.count(":"))
    simple: dict[str, Any] = {
        "Y": lambda: _year(year, flag),
        "C": lambda: _pad(year // 100, 2, flag, "0"),
        "y": lambda: _pad(year % 100, 2, flag, "0"),
        "m": lambda: _pad(month, 2, flag, "0"),
        "b": lambda: _MONTHS[month - 1][:3],
        "h": lambda: _MONTHS[month - 1][:3],
        "B": lambda: _MONTHS[month - 1],
        "d": lambda: _pad(day, 2, flag, "0"),
        "e": lambda: _pad(day, 2, flag, " "),
        "a": lambda: _DAYS[when.weekday()][:3],
        "A": lambda: _DAYS[when.weekday()],
        "w": lambda: str((when.weekday() + 1) % 7),
        "u": lambda: str(when.weekday() + 1),
        "U": lambda: _pad(int(when.strftime("%U")), 2, flag, "0"),
        "W": lambda: _pad(int(when.strftime("%W")), 2, flag, "0"),
        "G": lambda: _year(when.isocalendar()[0], flag),
        "g": lambda: _pad(when.isocalendar()[0] % 100, 2, flag, "0"),
        "V": lambda: _pad(when.isocalendar()[1], 2, flag, "0"),
        "j": lambda: _pad(when.timetuple().tm_yday, 3, flag, "0"),
        "D": lambda: strftime(when, "%m/%d/%y", nanos, naive),
        "x": lambda: strftime(when, "%m/%d/%y", nanos, naive),
        "F": lambda: strftime(when, "%Y-%m-%d", nanos, naive),
        "v": lambda: strftime(when, "%e-%b-%Y", nanos, naive),
        "H": lambda: _pad(when.hour, 2, flag, "0"),
        "k": lambda: _pad(when.hour, 2, flag, " "),
        "I": lambda: _pad((when.hour + 11) % 12 + 1, 2, flag, "0"),
        "l": lambda: _pad((when.hour + 11) % 12 + 1, 2, flag, " "),
        "P": lambda: "am" if when.hour < 12 else "pm",
        "p": lambda: "AM" if when.hour < 12 else "PM",
        "M": lambda: _pad(when.minute, 2, flag, "0"),
        "S": lambda: _pad(when.second, 2, flag, "0"),
        "R": lambda: strftime(when, "%H:%M", nanos, naive),
        "T": lambda: strftime(when, "%H:%M:%S", nanos, naive),
        "X": lambda: strftime(when, "%H:%M:%S", nanos, naive),
        "r": lambda: strftime(when, "%I:%M:%S %p", nanos, naive),
        "c": lambda: strftime(when, "%a %b %e %H:%M:%S %Y", nanos, naive),
        "+": lambda: strftime(when, "%Y-%m-%dT%H:%M:%S%.f%:z", nanos, naive),
        "s": lambda: str(_timestamp(when, naive)),
        "t": lambda: "\t",
        "n": lambda: "\n",
        "%": lambda: "%",
    }
    return str(simple[spec]())


def _year(year: int, flag: str) -> str:
    if 0 <= year <= 9999:
        return _pad(year, 4, flag, "0")
    return ("+" if year > 0 else "") + _pad(year, 4, flag, "0")


def _timestamp(when: dt.datetime, naive: bool) -> int:
    if naive:
        when = when.replace(tzinfo=dt.UTC)
    return int((when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds())


_RFC3339_RE: Final = re.compile(
    r"([+-]?\d{4,})-(\d{1,2})-(\d{1,2})[Tt ](\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d+)?"
    r"[ ]?(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)"
)
_NAIVE_RE: Final = re.compile(
    r"([+-]?\d{4,})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2})(?::(\d{1,2})(\.\d+)?)?"
)
_DATE_RE: Final = re.compile(r"([+-]?\d{1,})-(\d{1,2})-(\d{1,2})")


def _nanos(fraction: str | None) -> int:
    if not fraction:
        return 0
    return int(fraction[1:10].ljust(9, "0"))


def _parse_offset(text: str) -> dt.timezone:
    """chrono's FixedOffset: its %Z is the offset itself (``+00:00``, never ``UTC``)."""
    if text in ("Z", "z", "UTC"):
        offset = dt.timedelta(0)
    else:
        sign = -1 if text[0] == "-" else 1
        digits = text[1:].replace(":", "")
        offset = sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return dt.timezone(offset, _offset_text(offset, 1))


def _zone(args: Mapping[str, Any]) -> dt.tzinfo | None:
    if "timezone" not in args:
        return None
    name = args["timezone"]
    if not isinstance(name, str):
        raise TeraFailure(
            f"Filter `date` received an incorrect type for arg `timezone`: got `{show(name)}` "
            f"but expected a String"
        )
    try:
        if name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError, OSError):
        raise TeraFailure(f"Error parsing `{name}` as a timezone") from None


def date_filter(value: Any, args: Mapping[str, Any]) -> Any:
    fmt = args.get("format", "%Y-%m-%d")
    if not isinstance(fmt, str):
        raise TeraFailure(
            f"Filter `date` received an incorrect type for arg `format`: got `{show(fmt)}` but "
            f"expected a String"
        )
    _check_format(fmt)
    zone = _zone(args)
    try:
        if is_number(value):
            if not is_i64(value):
                raise TeraFailure(f"Filter `date` was invoked on a float: {show(value)}")
            when = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=value)
            if zone is not None:
                return strftime(when.replace(tzinfo=dt.UTC).astimezone(zone), fmt, 0, False)
            return strftime(when, fmt, 0, True)
        if isinstance(value, str):
            return _format_string(value, fmt, zone)
    except (OverflowError, ValueError):
        raise TeraFailure(
            f"the date {show(value)} is outside the range mirrord-ls can evaluate"
        ) from None
    raise TeraFailure(
        f"Filter `date` received an incorrect type for arg `value`: got `{show(value)}` but "
        f"expected i64|u64|String"
    )


def _format_string(s: str, fmt: str, zone: dt.tzinfo | None) -> str:
    if "T" in s:
        m = _RFC3339_RE.fullmatch(s)
        if m is not None:
            y, mo, d, h, mi, sec = (int(m.group(i)) for i in range(1, 7))
            when = dt.datetime(y, mo, d, h, mi, min(sec, 59), tzinfo=_parse_offset(m.group(8)))
            if zone is not None:
                when = when.astimezone(zone)
            return strftime(when, fmt, _nanos(m.group(7)), False)
        m = _NAIVE_RE.fullmatch(s)
        if m is not None:
            y, mo, d, h, mi = (int(m.group(i)) for i in range(1, 6))
            sec = int(m.group(6) or 0)
            when = dt.datetime(y, mo, d, h, mi, min(sec, 59), tzinfo=dt.UTC)
            return strftime(when, fmt, _nanos(m.group(7)), False)
        raise TeraFailure(f'Error parsing `"{s}"` as rfc3339 date or naive datetime')
    m = _DATE_RE.fullmatch(s)
    if m is None:
        raise TeraFailure(f'Error parsing `"{s}"` as YYYY-MM-DD date')
    when = dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=dt.UTC)
    return strftime(when, fmt, 0, False)


def now_value(args: Mapping[str, Any], clock: dt.datetime | None = None) -> Any:
    """``now(utc=false, timestamp=false)``: an RFC 3339 string, or seconds since the epoch."""
    flags = {}
    for name in ("utc", "timestamp"):
        value = args.get(name, False)
        if not isinstance(value, bool):
            raise TeraFailure(
                f"Function `now` received {name}={show(value)} but `{name}` can only be a boolean"
            )
        flags[name] = value
    current = clock or dt.datetime.now(dt.UTC)
    current = current if flags["utc"] else current.astimezone()
    if flags["timestamp"]:
        return int(current.timestamp())
    # chrono's to_rfc3339: as many fraction digits as needed (0, 3, 6 or 9), `+00:00` not `Z`
    nanos = current.microsecond * 1000
    base = current.strftime("%Y-%m-%dT%H:%M:%S")
    offset = current.utcoffset() or dt.timedelta(0)
    return base + _fraction(nanos, ".f") + _offset_text(offset, 1)
