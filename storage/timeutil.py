"""Time handling shared by import and queries: everything stored and returned is tz-aware UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

UTC = UTC

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def now_utc() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime, assume: tzinfo = UTC) -> datetime:
    """`moment` in UTC; a naive `moment` is read as local time of `assume` (UTC unless told otherwise)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=assume)
    return moment.astimezone(UTC)


def parse_timestamp(text: str, assume: tzinfo = UTC) -> datetime:
    """ISO 8601 (`2024-03-01T12:00:00Z`, `2024-03-01 12:00:00.123+08:00`, `2024-03-01`) -> aware UTC.

    Raises:
        ValueError: naming the text when it is not a timestamp.
    """
    cleaned = text.strip()
    try:
        return as_utc(datetime.fromisoformat(cleaned), assume)
    except ValueError:
        pass
    for layout in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y %H:%M:%S"):
        try:
            return as_utc(datetime.strptime(cleaned, layout), assume)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a timestamp (expected ISO 8601 such as 2024-03-01T12:00:00Z)")


def parse_duration(text: str) -> timedelta:
    """`90s`, `30m`, `24h`, `7d`, `4w` or combinations such as `1h30m` -> timedelta.

    Raises:
        ValueError: naming the text when it is not a duration.
    """
    cleaned = text.strip().replace(" ", "")
    parts = _DURATION_PART.findall(cleaned)
    if not cleaned or not parts or "".join(n + u for n, u in parts).lower() != cleaned.lower():
        raise ValueError(f"{text!r} is not a duration (expected e.g. 30m, 24h, 7d, 4w)")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts))


def parse_moment(text: str, now: datetime) -> datetime:
    """A duration means that long before `now`; anything else must be an ISO timestamp (naive = UTC)."""
    try:
        return now - parse_duration(text)
    except OverflowError:
        raise ValueError(f"{text!r} reaches back further than the calendar goes") from None
    except ValueError:
        pass
    try:
        return parse_timestamp(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a duration (30m, 24h, 7d, 4w) nor an ISO timestamp") from None


def format_duration(seconds: float) -> str:
    """Compact human duration: 45s, 12m 5s, 3h 20m, 2d 4h."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {s}s" if s else f"{minutes}m"
    hours, m = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {m}m" if m else f"{hours}h"
    days, h = divmod(hours, 24)
    return f"{days}d {h}h" if h else f"{days}d"
