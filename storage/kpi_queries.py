"""SQL aggregations behind the alarm-system report (ISA-18.2 / EEMUA 191 measures). Each query is one pass over the
window's journal rows done by the database; only aggregates (buckets, per-alarm counts) come back to Python.

Times are bucketed without per-row date functions where possible: SQLite stores UTC times as sortable text, so the
first 15 characters (`2025-03-01 12:3`) are the 10-minute bucket and the first 16 the minute.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, and_, bindparam, cast, func, select
from sqlalchemy.orm import aliased

from storage.db import Database
from storage.models import RESTRICTIONS, AlarmEvent, AlarmSource, EventState
from storage.queries import RESTRICTION_STATES
from storage.timeutil import UTC

ACTIVE = EventState.ACTIVE.value
TEN_MINUTES = timedelta(minutes=10)


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    area: str | None = None

    def where(self, *more: ColumnElement[bool]) -> ColumnElement[bool]:
        return self.where_on(AlarmEvent, *more)

    def where_on(self, events, *more: ColumnElement[bool]) -> ColumnElement[bool]:
        """The window's conditions on `events` (AlarmEvent or an alias of it)."""
        conditions = [events.event_time >= self.since, events.event_time < self.until, *more]
        if self.area is not None:
            conditions.append(events.area == self.area)
        return and_(*conditions)


def _bucket(conn: Connection, width: str) -> ColumnElement:
    """The 10-minute ("10m") or minute ("1m") bucket of event_time, as a sortable value."""
    column = AlarmEvent.__table__.c.event_time  # raw column: no result processing of the bucket
    if conn.dialect.name == "sqlite":
        return func.substr(column, 1, 15 if width == "10m" else 16)
    seconds = 600 if width == "10m" else 60
    return func.floor(func.extract("epoch", column) / seconds)


def bucket_start(dialect: str, bucket: Any, width: str) -> datetime:
    """The first moment of a bucket value from `_bucket`."""
    if dialect == "sqlite":
        return datetime.fromisoformat(str(bucket) + ("0:00" if width == "10m" else ":00")).replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(bucket) * (600 if width == "10m" else 60), tz=UTC)


def activations_per_10_minutes(db: Database, window: Window) -> list[tuple[datetime, int]]:
    """(bucket start, activations) for every 10-minute bucket that has any, in time order."""
    with db.engine.connect() as conn:
        bucket = _bucket(conn, "10m").label("bucket")
        rows = conn.execute(
            select(bucket, func.count())
            .where(window.where(AlarmEvent.state == ACTIVE))
            .group_by(bucket)
            .order_by(bucket)
        ).all()
        dialect = conn.dialect.name
    return [(bucket_start(dialect, b, "10m"), n) for b, n in rows]


def activations_by_alarm(db: Database, window: Window) -> list[tuple[str, str, int | None, int]]:
    """(tag, condition, priority, activations) per alarm and priority in the window, most frequent first."""
    count = func.count().label("n")
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(AlarmEvent.tag, AlarmEvent.condition, AlarmEvent.priority, count)
            .where(window.where(AlarmEvent.state == ACTIVE))
            .group_by(AlarmEvent.tag, AlarmEvent.condition, AlarmEvent.priority)
            .order_by(count.desc())
        ).all()
    return [(tag, condition, priority, n) for tag, condition, priority, n in rows]


def chatter_candidates(db: Database, window: Window, threshold: int) -> list[tuple[str, str]]:
    """Alarms with `threshold` activations inside two neighbouring calendar minutes somewhere in the window: every
    alarm with `threshold` activations within 60 s is among them (the exact test runs on their times)."""
    with db.engine.connect() as conn:
        minute = _bucket(conn, "1m").label("minute")
        per_minute = (
            select(AlarmEvent.tag, AlarmEvent.condition, minute, func.count().label("n"))
            .where(window.where(AlarmEvent.state == ACTIVE))
            .group_by(AlarmEvent.tag, AlarmEvent.condition, minute)
            .subquery()
        )
        # a pair of neighbouring minutes needs at least ceil(threshold / 2) in one of them
        rows = conn.execute(
            select(per_minute.c.tag, per_minute.c.condition)
            .where(per_minute.c.n >= (threshold + 1) // 2)
            .group_by(per_minute.c.tag, per_minute.c.condition)
        ).all()
    return [tuple(r) for r in rows]


def activation_times(db: Database, window: Window, tag: str, condition: str) -> list[datetime]:
    with db.engine.connect() as conn:
        return list(
            conn.scalars(
                select(AlarmEvent.event_time)
                .where(
                    window.where(AlarmEvent.tag == tag, AlarmEvent.condition == condition, AlarmEvent.state == ACTIVE)
                )
                .order_by(AlarmEvent.event_time)
            )
        )


def _seconds_between(conn: Connection, later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    if conn.dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _whole_seconds(seconds: ColumnElement) -> ColumnElement:
    """Rounded: SQLite's julianday arithmetic leaves 29.99999 for 30 s."""
    return cast(func.round(seconds), Integer)


def _previous(row: Any, condition: Callable[[Any], ColumnElement[bool]], column: str) -> ColumnElement:
    """The `column` of this alarm's latest event before `row` that meets `condition`: one backward probe of the
    (tag, event_time) index, across any window edge."""
    earlier = aliased(AlarmEvent)
    return (
        select(getattr(earlier, column))
        .where(earlier.tag == row.tag, earlier.condition == row.condition, earlier.event_time <= row.event_time,
               earlier.id != row.id, condition(earlier))
        .order_by(earlier.event_time.desc(), earlier.id.desc())
        .limit(1)
        .scalar_subquery()
    )  # fmt: skip


def acknowledgement_delays(db: Database, window: Window) -> list[tuple[int, int]]:
    """[(whole seconds, acknowledgements)] from each acknowledgement in the window back to the activation it
    acknowledged (the alarm's latest activation before it, even one before the window)."""
    ack = aliased(AlarmEvent)
    activated = _previous(ack, lambda e: e.state == ACTIVE, "event_time")
    with db.engine.connect() as conn:
        pairs = (
            select(ack.event_time.label("acked"), activated.label("activated"))
            .where(window.where_on(ack, ack.state == EventState.ACKNOWLEDGED.value))
            .subquery()
        )
        delay = _whole_seconds(_seconds_between(conn, pairs.c.acked, pairs.c.activated)).label("delay")
        rows = conn.execute(select(delay, func.count()).where(pairs.c.activated.is_not(None)).group_by(delay)).all()
    return [(int(seconds), n) for seconds, n in rows]


def fleeting_activations(db: Database, window: Window, fleeting_s: float) -> int:
    """Clears in the window that came less than `fleeting_s` after the alarm's activation with nothing between
    (no acknowledgement)."""
    clear = aliased(AlarmEvent)
    anything = lambda e: e.state.in_((ACTIVE, EventState.ACKNOWLEDGED.value, EventState.CLEARED.value))  # noqa: E731
    with db.engine.connect() as conn:
        pairs = (
            select(clear.event_time.label("cleared"), _previous(clear, anything, "state").label("before"),
                   _previous(clear, anything, "event_time").label("before_at"))
            .where(window.where_on(clear, clear.state == EventState.CLEARED.value))
            .subquery()
        )  # fmt: skip
        return (
            conn.scalar(
                select(func.count()).where(
                    pairs.c.before == ACTIVE, _seconds_between(conn, pairs.c.cleared, pairs.c.before_at) < fleeting_s
                )
            )
            or 0
        )


def occupied_hours(db: Database, window: Window) -> set[str]:
    """The UTC hours ("YYYY-MM-DDTHH") in the window that hold any event (state index, no table rows read)."""
    column = AlarmEvent.__table__.c.event_time
    with db.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        hour = (func.substr(column, 1, 13) if sqlite else func.date_trunc("hour", column)).label("hour")
        found = conn.scalars(
            select(hour).where(window.where(AlarmEvent.state.in_([s.value for s in EventState]))).distinct()
        ).all()
    return {h.replace(" ", "T") if sqlite else h.astimezone(UTC).strftime("%Y-%m-%dT%H") for h in found}


def acknowledgements_by_operator(db: Database, window: Window) -> list[tuple[str, int]]:
    count = func.count().label("n")
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(AlarmEvent.operator, count)
            .where(window.where(AlarmEvent.state == EventState.ACKNOWLEDGED.value))
            .group_by(AlarmEvent.operator)
            .order_by(count.desc())
        ).all()
    return [(operator or "(unknown)", n) for operator, n in rows]


@dataclass(frozen=True)
class AlarmStatus:
    """One alarm's state at the end of the window."""

    tag: str
    condition: str
    area: str | None
    active_since: datetime | None  # None: not standing
    restrictions: tuple[tuple[str, datetime, str | None], ...]  # (kind state, since, by)


def alarm_statuses(db: Database, until: datetime, area: str | None) -> list[AlarmStatus]:
    """Every known alarm (of `area`) that is standing or restricted at `until`: one index probe per alarm for its
    last activation/clear, one query (state index) for all shelve/suppress/out-of-service transitions."""
    sources = select(AlarmSource.tag, AlarmSource.condition, AlarmSource.area)
    if area is not None:
        sources = sources.where(AlarmSource.area == area)
    with db.engine.connect() as conn:
        restricting: dict[tuple[str, str], list] = {}
        for tag, condition, state, moment, by in conn.execute(
            select(AlarmEvent.tag, AlarmEvent.condition, AlarmEvent.state, AlarmEvent.event_time, AlarmEvent.operator)
            .where(AlarmEvent.state.in_(RESTRICTION_STATES), AlarmEvent.event_time <= until)
            .order_by(AlarmEvent.event_time, AlarmEvent.id)
        ):
            restricting.setdefault((tag, condition), []).append((state, moment, by))
        statuses = []
        for tag, condition, source_area in conn.execute(sources).all():
            since = _standing_since(conn, tag, condition, until)
            held = _open(restricting.get((tag, condition), []))
            if since or held:
                statuses.append(AlarmStatus(tag, condition, source_area, since, held))
    return statuses


_LAST_ACTIVATION_OR_CLEAR = (
    select(AlarmEvent.state, AlarmEvent.event_time)
    .where(
        AlarmEvent.tag == bindparam("tag"),
        AlarmEvent.condition == bindparam("condition"),
        AlarmEvent.event_time <= bindparam("until"),
        AlarmEvent.state.in_((ACTIVE, EventState.CLEARED.value)),
    )
    .order_by(AlarmEvent.event_time.desc())
    .limit(1)
)  # fmt: skip  built once: it runs once per known alarm


def _standing_since(conn: Connection, tag: str, condition: str, until: datetime) -> datetime | None:
    """When the alarm last activated, if its last activation/clear at `until` is an activation."""
    last = conn.execute(_LAST_ACTIVATION_OR_CLEAR, {"tag": tag, "condition": condition, "until": until}).first()
    return last[1] if last and last[0] == ACTIVE else None


# the transition that ends each restriction -> the one that started it
_ENDS = {
    end.value: next(s.value for s, (starts, k) in RESTRICTIONS.items() if starts and k == kind)
    for end, (starting, kind) in RESTRICTIONS.items()
    if not starting
}


def _open(transitions: Sequence[tuple[str, datetime, str | None]]) -> tuple[tuple[str, datetime, str | None], ...]:
    """The restrictions still in force after these transitions (oldest first), each with its first moment."""
    held: dict[str, tuple[str, datetime, str | None]] = {}
    for state, moment, by in transitions:
        if state in _ENDS:
            held.pop(_ENDS[state], None)
        else:
            held.setdefault(state, (state, moment, by))
    return tuple(held.values())
