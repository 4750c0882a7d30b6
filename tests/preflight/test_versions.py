"""Versions and licence dates read as mirrord's Rust crates read them.

Cases follow the crates' code: semver `src/parse.rs` (`Version::from_str`,
`numeric_identifier`, `identifier`) and `src/eval.rs` (`matches_req`); chrono
`src/naive/date/mod.rs` (`FromStr for NaiveDate`) and `src/format/parse.rs`
(`parse_internal`).
"""

from __future__ import annotations

import datetime

import pytest

from mirrord_ls.cluster.preflight.versions import Version, parse_naive_date, parse_version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3.250.0", Version(3, 250, 0)),
        ("0.0.0", Version(0, 0, 0)),
        ("1.26.0-rc.1", Version(1, 26, 0, "rc.1")),
        ("1.2.3-alpha.0a+build.007", Version(1, 2, 3, "alpha.0a")),  # build may lead with 0
        ("1.2.3+sha.5114f85", Version(1, 2, 3)),
        ("1.2.3-0", Version(1, 2, 3, "0")),
    ],
)
def test_versions_the_semver_crate_accepts(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v1.2.3",  # numeric_identifier: UnexpectedChar
        "1.2",  # UnexpectedEnd(Patch)
        "01.2.3",  # LeadingZero(Major)
        "1.02.3",
        "1.2.3-01",  # identifier: all-digit pre-release segment with a leading zero
        "1.2.3-",  # EmptySegment(Pre)
        "1.2.3-a..b",
        "1.2.3+",  # EmptySegment(Build)
        " 1.2.3",
        "1.2.3 ",
        "1.2.3\n",
        "1.2.3.4",
        "18446744073709551616.0.0",  # Overflow: beyond u64
        "\uff11.2.3",  # ASCII digits only (a fullwidth one)
    ],
)
def test_versions_the_semver_crate_refuses(text):
    assert parse_version(text) is None


@pytest.mark.parametrize(
    ("version", "minimum", "ok"),
    [
        ("1.26.0", (1, 26, 0), True),
        ("1.25.9", (1, 26, 0), False),
        ("2.0.0", (1, 11, 0), True),
        ("1.27.0-rc.1", (1, 11, 0), False),  # eval.rs: pre-releases match no plain comparator
        ("1.26.0+build", (1, 26, 0), True),
    ],
)
def test_at_least_as_semver_matches_req(version, minimum, ok):
    parsed = parse_version(version)
    assert parsed is not None
    assert parsed.satisfies_at_least(minimum) is ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", datetime.date(2026, 3, 1)),
        ("2026-3-1", datetime.date(2026, 3, 1)),  # Pad::Zero parses 1-2 digits
        (" 2026 - 03 - 01 ", datetime.date(2026, 3, 1)),  # Item::Space and trim_start
        ("2024-02-29", datetime.date(2024, 2, 29)),
        ("+2026-01-01", datetime.date(2026, 1, 1)),
        ("+12026-01-01", datetime.date.max),  # a signed year takes any width; good for ever
        ("-0001-12-31", datetime.date.min),  # before year 1: long expired
        ("0000-01-01", datetime.date.min),
    ],
)
def test_dates_chrono_accepts(text, expected):
    assert parse_naive_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-02-30",
        "2025-02-29",
        "2026-13-01",
        "2026-00-10",
        "20260-01-01",  # an unsigned year stops after 4 digits, then "-" is missing
        "2026-001-01",
        "2026/01/01",
        "2026-01-01T00:00:00Z",  # TooLong
        "01-01-2026",
        "2026-01",
    ],
)
def test_dates_chrono_refuses(text):
    assert parse_naive_date(text) is None
