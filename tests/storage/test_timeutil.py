"""Parsing and formatting durations, moments and export timestamps."""

from datetime import UTC, datetime, timedelta

import pytest

from storage.timeutil import format_duration, parse_duration, parse_moment, parse_timestamp

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("4w", timedelta(weeks=4)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "7x", "d7", "7d garbage"])
def test_bad_durations_name_the_text(text):
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_moments_are_durations_back_or_timestamps_in_utc():
    assert parse_moment("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_moment("2025-02-01T08:00:00+08:00", NOW) == datetime(2025, 2, 1, 0, 0, tzinfo=UTC)
    naive = parse_moment("2025-02-01 08:00", NOW)
    assert naive.tzinfo is not None and naive.hour == 8
    with pytest.raises(ValueError, match="'yesterday' is neither"):
        parse_moment("yesterday", NOW)


def test_timestamps_in_common_export_layouts():
    assert parse_timestamp("2025-03-01T12:00:00Z") == NOW
    assert parse_timestamp("03/01/2025 12:00:00") == NOW


def test_format_duration():
    assert [format_duration(s) for s in (5, 65, 3600, 90000)] == ["5s", "1m 5s", "1h", "1d 1h"]
