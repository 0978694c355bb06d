"""`hmi-agent alarms sync --from URL`: copies an Ignition-style alarm journal (tables `alarm_events` and
`alarm_event_data`) from the SCADA's own database into ours, read-only and incrementally.

The source is opened read-only (PostgreSQL: READ ONLY transactions; SQLite: query_only). Its rows are read in id
order in batches; after each batch is written, `alarm_sync_cursors` records the last source id, so the next sync
starts there. Events carry a natural key, so a batch written again after a crash adds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, event, insert, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from storage.db import Database, make_engine
from storage.journal import EventRow, _fill_from_definitions, _known_alarms, split_scada_source, write_events
from storage.models import AlarmSyncCursor, EventState, UTCDateTime
from storage.timeutil import UTC, as_utc, now_utc

# Ignition's eventtype column; 3/4 (enabled/disabled) appear in newer journals.
_EVENT_TYPES = {
    0: EventState.ACTIVE,
    1: EventState.CLEARED,
    2: EventState.ACKNOWLEDGED,
    3: EventState.IN_SERVICE,
    4: EventState.OUT_OF_SERVICE,
}
# Ignition priorities run 0 (diagnostic) .. 4 (critical); ours run 1 (critical) .. 4 (low).
_PRIORITY = {0: 4, 1: 4, 2: 3, 3: 2, 4: 1}
_DATA_PROPERTIES = ("eventValue", "ackUser")
BATCH = 20_000


class SyncError(ValueError):
    """The source cannot be read as an Ignition-style alarm journal; says which table or column is missing."""


@dataclass(frozen=True)
class SyncReport:
    read: int
    imported: int
    last_id: int
    seconds: float

    def summary(self) -> str:
        rate = f", {self.read / self.seconds:,.0f} events/s" if self.seconds > 0 and self.read else ""
        return f"sync: {self.read} source events read, {self.imported} new; at source id {self.last_id}{rate}"


def _parsed(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise ValueError(f"{url!r} is not a usable database URL (e.g. sqlite:///alarms.sqlite)") from None


def source_name(url: str) -> str:
    """The source URL without its password: the cursor's name, and what reports show."""
    return _parsed(url).render_as_string(hide_password=True)


def read_only_engine(url: str) -> Engine:
    """An engine on the SCADA database that cannot write to it (nor create a missing SQLite file).

    Raises:
        ValueError: `url` is not a usable database URL, or names a SQLite file that does not exist.
    """
    parsed = _parsed(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).expanduser().is_file():
            raise ValueError(f"{url!r}: no such SQLite database file")
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA query_only=ON"))
    elif engine.dialect.name == "postgresql":
        engine = engine.execution_options(postgresql_readonly=True)
    return engine


def ignition_tables(events_table: str = "alarm_events", data_table: str = "alarm_event_data") -> tuple[Table, Table]:
    """The two journal tables as Ignition's database journal creates them (the columns the sync reads)."""
    metadata = MetaData()
    events = Table(
        events_table,
        metadata,
        Column("id", Integer, primary_key=True),
        Column("eventid", String(255)),
        Column("source", String(255)),
        Column("displaypath", String(255)),
        Column("priority", Integer),
        Column("eventtype", Integer),
        Column("eventflags", Integer),
        Column("eventtime", UTCDateTime()),
    )
    data = Table(
        data_table,
        metadata,
        Column("id", Integer, index=True),
        Column("propname", String(255)),
        Column("dtype", Integer),
        Column("intvalue", Integer),
        Column("floatvalue", Float),
        Column("strvalue", String(255)),
    )
    return events, data


def sync_from(
    db: Database,
    url: str,
    *,
    events_table: str = "alarm_events",
    data_table: str = "alarm_event_data",
    batch: int = BATCH,
) -> SyncReport:
    """Copies the source's events newer than the last sync into the journal.

    Raises:
        SyncError: the source lacks the tables/columns of an Ignition alarm journal, or an event row is unusable.
        ValueError: `url` is not a usable database URL.
        sqlalchemy.exc.OperationalError: the source cannot be reached.
    """
    started = time.perf_counter()
    name = source_name(url)
    source = read_only_engine(url)
    events, data = ignition_tables(events_table, data_table)
    last_id = _cursor(db, name)
    known = _known_alarms(db)
    read = imported = 0
    try:
        for rows, batch_last in _batches(source, events, data, last_id, batch):
            report = write_events(db, ((0, _event_row(row, known)) for row in rows), source=name, layout="ignition")
            _save_cursor(db, name, batch_last)
            read, imported, last_id = read + len(rows), imported + report.imported, batch_last
    except SQLAlchemyError as e:
        if "no such" in str(e).lower() or "does not exist" in str(e).lower() or "undefined" in str(e).lower():
            reason = str(getattr(e, "orig", e)).strip().splitlines()[0]
            raise SyncError(f"{name} has no Ignition alarm journal ({events_table}, {data_table}): {reason}") from None
        raise
    finally:
        source.dispose()
    return SyncReport(read, imported, last_id, time.perf_counter() - started)


def _batches(source: Engine, events: Table, data: Table, after: int, size: int) -> Iterator[tuple[list[dict], int]]:
    """Source events with id > `after` in id order, `size` at a time, with their eventValue and ackUser."""
    columns = [events.c.id, events.c.eventid, events.c.source, events.c.priority, events.c.eventtype,
               events.c.eventtime]  # fmt: skip
    while True:
        with source.connect() as conn:
            rows = [dict(zip(_COLUMNS, r, strict=True)) for r in conn.execute(
                select(*columns).where(events.c.id > after).order_by(events.c.id).limit(size)
            )]  # fmt: skip
            if not rows:
                return
            details = conn.execute(
                select(data.c.id, data.c.propname, data.c.intvalue, data.c.floatvalue, data.c.strvalue).where(
                    data.c.id.between(rows[0]["id"], rows[-1]["id"]), data.c.propname.in_(_DATA_PROPERTIES)
                )
            )
            extra: dict[int, dict] = {}
            for event_id, prop, int_value, float_value, str_value in details:
                value = float_value if float_value is not None else int_value if int_value is not None else str_value
                extra.setdefault(event_id, {})[prop] = value
        for row in rows:
            row.update(extra.get(row["id"], {}))
        after = rows[-1]["id"]
        yield rows, after


_COLUMNS = ("id", "eventid", "source", "priority", "eventtype", "eventtime")
# A journal names few alarms many times: split each source path once.
_split_source = lru_cache(maxsize=65536)(split_scada_source)


def _event_row(row: dict, known: dict) -> EventRow:
    state = _EVENT_TYPES.get(row["eventtype"])
    if state is None:
        raise SyncError(f"source event id {row['id']}: eventtype {row['eventtype']!r} is not 0-4")
    try:
        tag, area, condition = _split_source(row["source"] or "")
    except ValueError as e:
        raise SyncError(f"source event id {row['id']}: {e}") from None
    user = row.get("ackUser")
    value = row.get("eventValue")
    moment = row["eventtime"]
    if moment.tzinfo is None:  # Ignition writes the gateway's UTC time into a plain timestamp column
        moment = as_utc(moment, UTC)
    result = {
        "event_key": f"ign:{row['eventid']}/{row['eventtype']}",
        "event_time": moment,
        "tag": tag,
        "condition": condition,
        "state": state.value,
        "priority": _PRIORITY.get(row["priority"]),
        "value": value if isinstance(value, (int, float)) else None,
        "message": None,
        "operator": str(user).rsplit(":", 1)[-1] if user and state is EventState.ACKNOWLEDGED else None,
        "area": area,
    }
    return _fill_from_definitions(result, known)


def _cursor(db: Database, name: str) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(select(AlarmSyncCursor.last_id).where(AlarmSyncCursor.source == name)) or 0


def _save_cursor(db: Database, name: str, last_id: int) -> None:
    values = {"last_id": last_id, "synced_at": now_utc()}
    with db.engine.begin() as conn:
        moved = conn.execute(update(AlarmSyncCursor).where(AlarmSyncCursor.source == name).values(values)).rowcount
        if not moved:
            conn.execute(insert(AlarmSyncCursor).values(source=name, **values))


def sync_position(db: Database, url: str) -> tuple[int, datetime | None]:
    """(last source id synced, when) for `url`; (0, None) before the first sync."""
    with db.engine.connect() as conn:
        found = conn.execute(
            select(AlarmSyncCursor.last_id, AlarmSyncCursor.synced_at).where(AlarmSyncCursor.source == source_name(url))
        ).first()
    return (found[0], found[1]) if found else (0, None)
