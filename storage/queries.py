"""Read-side queries of the alarm tools. Each one is bounded by an index: (tag, event_time) for one alarm's
history, (area, state, event_time) for flood detection, and the small definitions / sources tables for lookups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, func, or_, select, union

from storage.db import Database
from storage.models import RESTRICTIONS, AlarmDefinition, AlarmEvent, AlarmSource, EventState


class EventRecord(NamedTuple):
    event_time: datetime
    condition: str
    state: str
    priority: int | None
    value: float | None
    message: str | None
    operator: str | None
    area: str | None


_EVENT_COLUMNS = (
    AlarmEvent.event_time,
    AlarmEvent.condition,
    AlarmEvent.state,
    AlarmEvent.priority,
    AlarmEvent.value,
    AlarmEvent.message,
    AlarmEvent.operator,
    AlarmEvent.area,
)


def known_alarms(db: Database) -> list[tuple[str, str]]:
    """Every (tag, condition) that has a definition or appears in the journal."""
    statement = union(
        select(AlarmDefinition.tag, AlarmDefinition.condition), select(AlarmSource.tag, AlarmSource.condition)
    )
    with db.engine.connect() as conn:
        return [(t, c) for t, c in conn.execute(statement)]


def catalog_version(db: Database) -> tuple[int, int]:
    """Changes whenever `known_alarms` can: definitions and sources are only ever added or updated in place."""
    statement = select(
        select(func.count()).select_from(AlarmDefinition).scalar_subquery(),
        select(func.count()).select_from(AlarmSource).scalar_subquery(),
    )
    with db.engine.connect() as conn:
        definitions_count, sources_count = conn.execute(statement).one()
    return definitions_count, sources_count


def definitions(db: Database, keys: Sequence[tuple[str, str]]) -> list[AlarmDefinition]:
    """The definitions of these (tag, condition)s, in the order asked for; missing ones are left out."""
    if not keys:
        return []
    with db.session() as session:
        found = session.scalars(
            select(AlarmDefinition).where(
                or_(*(and_(AlarmDefinition.tag == t, AlarmDefinition.condition == c) for t, c in keys))
            )
        ).all()
    by_key = {(d.tag, d.condition): d for d in found}
    return [by_key[k] for k in keys if k in by_key]


def _alarm_filter(tag: str, condition: str | None):
    return (
        AlarmEvent.tag == tag if condition is None else and_(AlarmEvent.tag == tag, AlarmEvent.condition == condition)
    )


def events_between(
    db: Database, tag: str, condition: str | None, since: datetime, until: datetime
) -> list[EventRecord]:
    """All transitions of one alarm (all its conditions when `condition` is None) in [since, until], oldest first."""
    statement = (
        select(*_EVENT_COLUMNS)
        .where(_alarm_filter(tag, condition), AlarmEvent.event_time >= since, AlarmEvent.event_time <= until)
        .order_by(AlarmEvent.event_time, AlarmEvent.id)
    )
    with db.engine.connect() as conn:
        return [EventRecord(*row) for row in conn.execute(statement)]


def latest_events(db: Database, tag: str, condition: str, until: datetime, limit: int) -> list[EventRecord]:
    """The last `limit` transitions of one alarm at or before `until`, oldest first (to replay its state)."""
    statement = (
        select(*_EVENT_COLUMNS)
        .where(_alarm_filter(tag, condition), AlarmEvent.event_time <= until)
        .order_by(AlarmEvent.event_time.desc(), AlarmEvent.id.desc())
        .limit(limit)
    )
    with db.engine.connect() as conn:
        return [EventRecord(*row) for row in reversed(conn.execute(statement).all())]


RESTRICTION_STATES = tuple(s.value for s in RESTRICTIONS)


def latest_restriction_events(db: Database, tag: str, condition: str, until: datetime, limit: int) -> list[EventRecord]:
    """The last `limit` shelve/suppress/out-of-service transitions of one alarm at or before `until`, oldest first:
    a shelving can lie further back than the transitions `latest_events` replays (a chattering alarm)."""
    statement = (
        select(*_EVENT_COLUMNS)
        .where(_alarm_filter(tag, condition), AlarmEvent.event_time <= until, AlarmEvent.state.in_(RESTRICTION_STATES))
        .order_by(AlarmEvent.event_time.desc(), AlarmEvent.id.desc())
        .limit(limit)
    )
    with db.engine.connect() as conn:
        return [EventRecord(*row) for row in reversed(conn.execute(statement).all())]


def conditions_of(db: Database, tag: str) -> list[str]:
    statement = union(
        select(AlarmDefinition.condition).where(AlarmDefinition.tag == tag),
        select(AlarmSource.condition).where(AlarmSource.tag == tag),
    )
    with db.engine.connect() as conn:
        return sorted(conn.scalars(statement))


def area_of(db: Database, tag: str) -> str | None:
    with db.engine.connect() as conn:
        for table in (AlarmDefinition, AlarmSource):
            area = conn.scalar(select(table.area).where(table.tag == tag, table.area.is_not(None)).limit(1))
            if area:
                return area
    return None


def area_activations(db: Database, area: str, ranges: Sequence[tuple[datetime, datetime]]) -> list[datetime]:
    """Activation times of every alarm in `area` inside the given (start, end) ranges, sorted; never the whole area."""
    if not ranges:
        return []
    statement = select(AlarmEvent.event_time).where(
        AlarmEvent.area == area,
        AlarmEvent.state == EventState.ACTIVE.value,
        or_(*(AlarmEvent.event_time.between(lo, hi) for lo, hi in ranges)),
    )  # no ORDER BY: SQLite would then walk the area's whole index in order instead of probing each range
    with db.engine.connect() as conn:
        return sorted(conn.scalars(statement))
