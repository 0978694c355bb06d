"""The report's per-hour aggregates (table alarm_kpi_hours): read, stored, and forgotten when events are written
into an hour. An hour is only stored when no event arrived in it while it was being computed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, select

from storage.db import Database
from storage.models import AlarmEvent, AlarmKpiHour
from storage.timeutil import UTC, now_utc


def hour_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


def forget_hours(conn: Connection, first: datetime, last: datetime) -> None:
    """Called by every journal write, in its transaction: the hours it touched must be computed again."""
    conn.execute(delete(AlarmKpiHour).where(AlarmKpiHour.hour.between(hour_key(first), hour_key(last))))


def journal_position(db: Database) -> int:
    """The newest event id: what an hour's computation saw."""
    with db.engine.connect() as conn:
        return conn.scalar(select(func.max(AlarmEvent.id))) or 0


def cached_hours(db: Database, since: datetime, until: datetime, area: str) -> dict[str, dict[str, Any]]:
    """The stored hours in [since, until) of `area` ("" = the whole plant), by hour key."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(AlarmKpiHour.hour, AlarmKpiHour.data).where(
                AlarmKpiHour.hour >= hour_key(since), AlarmKpiHour.hour < hour_key(until), AlarmKpiHour.area == area
            )
        )
        return {hour: json.loads(data) for hour, data in rows}


def store_hour(db: Database, start: datetime, area: str, data: dict[str, Any], seen_up_to: int, end: datetime) -> None:
    """Keeps `data` for the hour at `start` unless an event newer than `seen_up_to` landed in it meanwhile."""
    with db.engine.begin() as conn:
        newer = conn.scalar(
            select(exists().where(and_(AlarmEvent.id > seen_up_to, AlarmEvent.event_time >= start,
                                       AlarmEvent.event_time < end)))
        )  # fmt: skip
        if newer:
            return
        key = hour_key(start)
        conn.execute(delete(AlarmKpiHour).where(AlarmKpiHour.hour == key, AlarmKpiHour.area == area))
        conn.execute(insert(AlarmKpiHour).values(hour=key, area=area, data=json.dumps(data), computed_at=now_utc()))
