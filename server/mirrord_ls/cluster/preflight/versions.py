"""Versions and dates exactly as mirrord's Rust crates read them.

mirrord reads `spec.operator_version` and `spec.protocol_version` with the
`semver` crate and `spec.license.expire_at` with chrono's `NaiveDate`. Python's
version libraries disagree with both on edge cases (leading zeros, pre-releases
against `>=` requirements, whitespace inside dates), and a preflight check that
reads a value differently from mirrord would call a working cluster broken, so
the few rules are written out here with the crate code they follow.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

# semver crate `parse.rs`, `Version::from_str`: MAJOR.MINOR.PATCH, no leading zero in a
# number (`numeric_identifier`, LeadingZero), each fitting u64; an optional `-pre` whose
# all-digit segments have no leading zero (`identifier`, Position::Pre) and an optional
# `+build` (leading zeros allowed); no whitespace, no `v` prefix.
_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
_SEMVER = re.compile(
    rf"({_NUM})\.({_NUM})\.({_NUM})"
    rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?"
    rf"(?:\+({_BUILD_ID}(?:\.{_BUILD_ID})*))?",
    re.ASCII,
)
_U64_MAX = 2**64 - 1


@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: str = ""

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")

    def satisfies_at_least(self, minimum: tuple[int, int, int]) -> bool:
        """Does this version match the requirement `>=X.Y.Z`, as the semver crate matches?

        semver `eval.rs`, `matches_req`: a pre-release version only satisfies a requirement
        when a comparator with the same major.minor.patch carries a pre-release too, which
        mirrord's `>=1.11.0`-style requirements never do: `1.27.0-rc.1` fails them all.
        """
        if self.pre:
            return False
        return (self.major, self.minor, self.patch) >= minimum


def parse_version(text: str) -> Version | None:
    """The version, or None where `semver::Version::from_str` returns an error."""
    m = _SEMVER.fullmatch(text)
    if m is None:
        return None
    major, minor, patch = (int(m.group(i)) for i in (1, 2, 3))
    if max(major, minor, patch) > _U64_MAX:
        return None  # semver ErrorKind::Overflow
    return Version(major, minor, patch, m.group(4) or "")


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# chrono's NaiveDate range (`NaiveDate::MIN`/`MAX`): -262143-01-01 to +262142-12-31.
_CHRONO_MIN_YEAR, _CHRONO_MAX_YEAR = -262143, 262142
_NUMBER = re.compile(r"[0-9]+", re.ASCII)


def _number(text: str, pos: int, max_digits: int | None) -> tuple[int, int] | None:
    """chrono `scan::number`: 1..max digits (ASCII); more digits are left for the next item."""
    m = _NUMBER.match(text, pos)
    if m is None:
        return None
    digits = m.group(0) if max_digits is None else m.group(0)[:max_digits]
    return int(digits), pos + len(digits)


def parse_naive_date(text: str) -> datetime.date | None:
    """A licence `expire_at` as chrono's `NaiveDate::from_str` reads it, or None on error.

    chrono `naive/date/mod.rs`, `FromStr for NaiveDate`: items Year, Space, "-", Month,
    Space, "-", Day, Space, parsed by `format/parse.rs` `parse_internal`: whitespace may
    precede every number and separator and end the text; a year without a sign has at
    most 4 digits, with a sign any number; month and day 1-2 digits; then
    `Parsed::to_naive_date` checks the calendar. Years chrono accepts beyond Python's
    1..9999 become `date.min`/`date.max`: long expired, or good for ever.
    """
    pos = len(text) - len(text.lstrip())
    sign = 1
    if text.startswith(("-", "+"), pos):
        sign = -1 if text[pos] == "-" else 1
        got = _number(text, pos + 1, None)
    else:
        got = _number(text, pos, 4)
    if got is None:
        return None
    year, pos = got
    year *= sign
    parts = [year]
    for _ in ("month", "day"):
        pos += len(text[pos:]) - len(text[pos:].lstrip())
        if not text.startswith("-", pos):
            return None
        pos += 1
        pos += len(text[pos:]) - len(text[pos:].lstrip())
        got = _number(text, pos, 2)
        if got is None:
            return None
        value, pos = got
        parts.append(value)
    if text[pos:].strip():
        return None  # chrono ParseErrorKind::TooLong
    year, month, day = parts
    if not _CHRONO_MIN_YEAR <= year <= _CHRONO_MAX_YEAR or not 1 <= month <= 12:
        return None
    days = 29 if month == 2 and _is_leap(year) else _DAYS[month - 1]
    if not 1 <= day <= days:
        return None
    if year < datetime.MINYEAR:
        return datetime.date.min
    if year > datetime.MAXYEAR:
        return datetime.date.max
    return datetime.date(year, month, day)
