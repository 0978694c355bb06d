"""Alarm-journal import: our CSV layout and a common SCADA journal export, batched and idempotent.

A whole file is one transaction: any bad row means nothing is imported and every bad line is reported. Rows are
inserted in chunks with INSERT ... ON CONFLICT (event_key) DO NOTHING, so importing a file twice adds nothing.
"""

from __future__ import annotations

import base64
import csv
import hashlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.kpi_cache import forget_hours
from storage.models import (
    AlarmDefinition,
    AlarmEvent,
    AlarmSource,
    EventState,
    UTCDateTime,
)
from storage.rows import (
    MAX_REPORTED_ERRORS,
    ImportRejected,
    ImportReport,
    RowError,
    normalize_condition,
    optional_text,
    parse_optional_float,
    parse_priority,
    parse_state,
    priority_from_name,
)
from storage.safe_yaml import non_utf8_line
from storage.tags import row_problem
from storage.timeutil import UTC, parse_timestamp

NATIVE_REQUIRED = {"event_time", "tag", "state"}
SCADA_REQUIRED = {"eventid", "source", "eventtime", "eventstate"}

# SCADA journals name the alarm's state *after* the transition. ClearAcked is either the clear of an acknowledged
# alarm or the acknowledgement of a cleared one; which, depends on whether that alarm event went through ClearUnacked.
_SCADA_STATES = {
    "activeunacked": EventState.ACTIVE,
    "activeacked": EventState.ACKNOWLEDGED,
    "clearunacked": EventState.CLEARED,
}
# SCADA numeric priorities run 0 (diagnostic) .. 4 (critical); ours run 1 (critical) .. 4 (low).
_SCADA_NUMERIC_PRIORITY = {"0": 4, "1": 4, "2": 3, "3": 2, "4": 1}
_GENERIC_TAG_LEAVES = {"PV", "VALUE", "OUT", "STATUS", "ALARM", "ALM"}

EventRow = dict[str, Any]


def detect_journal_layout(header: Iterable[str]) -> str | None:
    names = {h.strip().lower() for h in header}
    if SCADA_REQUIRED <= names:
        return "scada"
    if NATIVE_REQUIRED <= names:
        return "native"
    return None


def event_key(event_time_iso: str, tag: str, condition: str, state: str) -> str:
    """Natural key of an event without an id of its own: same moment, alarm and transition = same event."""
    return _hashed(f"{event_time_iso}|{tag}|{condition}|{state}")


def _hashed(text: str) -> str:
    # 96 bits: collisions stay negligible at billions of events, and a short key keeps the unique index small.
    return "h:" + base64.urlsafe_b64encode(hashlib.blake2b(text.encode(), digest_size=12).digest()).decode()


def _given_key(event_id: str) -> str:
    return event_id if len(event_id) <= 64 else _hashed(event_id)


def import_journal(db: Database, path: str | Path, *, assume_tz: tzinfo = UTC, chunk_size: int = 5000) -> ImportReport:
    """Imports a journal CSV in either layout (detected from the header). Naive times are read in `assume_tz`.

    Raises:
        ImportRejected: bad header or rows (with line numbers); the database is unchanged.
    """
    path = Path(path)
    layout = _read_layout(path)
    known = _known_alarms(db)
    if layout == "scada":
        acked_after_clear = _scada_events_cleared_unacked(db, path)
        parse = _scada_row_parser(assume_tz, acked_after_clear, known)
    else:
        parse = _native_row_parser(assume_tz, known)
    return write_events(db, _parsed_rows(path, parse), source=str(path), layout=layout, chunk_size=chunk_size)


def write_events(
    db: Database,
    rows: Iterable[tuple[int, EventRow | RowError]],
    *,
    source: str = "events",
    layout: str = "generated",
    chunk_size: int = 5000,
) -> ImportReport:
    """Inserts parsed events in one transaction; any RowError in `rows` rolls everything back (ImportRejected)."""
    errors: list[RowError] = []
    bad_rows = 0
    count = 0
    with db.engine.begin() as conn, _big_page_cache(conn):
        writer = _EventWriter(conn, chunk_size)
        for line, row in rows:
            count += 1
            if not isinstance(row, RowError) and (problem := row_problem(row)):
                row = RowError(line, problem)
            if isinstance(row, RowError):
                bad_rows += 1
                if len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(row)
            elif not bad_rows:
                writer.add(row)
        if bad_rows:
            raise ImportRejected(source, errors, bad_rows)
        writer.flush()
        if writer.first is not None:
            forget_hours(conn, writer.first, writer.last)
    return ImportReport("journal", layout, count, writer.inserted, count - writer.inserted)


@contextmanager
def _big_page_cache(conn: Connection) -> Iterator[None]:
    """SQLite: 512 MiB of page cache while importing, so index pages stay in memory as the journal grows."""
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA cache_size=-524288")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")


class _EventWriter:
    """Buffers rows and inserts them in chunks, skipping events already stored; records new (tag, condition)s."""

    def __init__(self, conn: Connection, chunk_size: int):
        self.conn = conn
        self.chunk_size = chunk_size
        self.buffer: list[EventRow] = []
        self.sources: dict[tuple[str, str], str | None] = {}
        self.inserted = 0
        self.first = self.last = None  # the time span written: the report's cached hours in it are forgotten
        self._insert_event = _insert_ignoring_duplicates(conn, AlarmEvent, ["event_key"])
        self._insert_source = _insert_ignoring_duplicates(conn, AlarmSource, ["tag", "condition"])

    def add(self, row: EventRow) -> None:
        self.buffer.append(row)
        moment = row["event_time"]
        self.first = moment if self.first is None or moment < self.first else self.first
        self.last = moment if self.last is None or moment > self.last else self.last
        self.sources.setdefault((row["tag"], row["condition"]), row["area"])
        if len(self.buffer) >= self.chunk_size:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.inserted += self._insert_event(self.buffer)
            self.buffer = []
        if self.sources:
            self._insert_source([{"tag": t, "condition": c, "area": a} for (t, c), a in self.sources.items()])
            self.sources = {}


def _insert_ignoring_duplicates(conn: Connection, model: type, key: list[str]) -> Callable[[list[EventRow]], int]:
    """An executemany INSERT that skips rows whose `key` exists; returns how many rows it inserted."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert: Callable[[Any], Insert] = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = insert(model).on_conflict_do_nothing(index_elements=key)
        if dialect == "sqlite":
            return _sqlite_bulk_insert(conn, statement, model)
        # psycopg reports no executemany rowcount; RETURNING (batched by SQLAlchemy) yields the rows inserted.
        returning = statement.returning(getattr(model, key[0]))
        return lambda rows: len(conn.execute(returning, rows).all())

    return _insert_by_lookup(conn, model, key)


def _sqlite_bulk_insert(conn: Connection, statement: Insert, model: type) -> Callable[[list[EventRow]], int]:
    """sqlite3's own executemany with named parameters: SQLAlchemy's per-row parameter processing would cost more
    than SQLite's insert itself. Times are converted to exactly the text UTCDateTime stores."""
    columns = [c.name for c in model.__table__.columns if c.autoincrement is not True]
    named = statement.values({name: bindparam(name) for name in columns})
    sql = str(named.compile(dialect=sqlite.dialect(paramstyle="named")))
    time_columns = [c.name for c in model.__table__.columns if isinstance(c.type, UTCDateTime)]

    def insert_rows(rows: list[EventRow]) -> int:
        if time_columns:
            rows = [{**r, **{c: UTCDateTime.sqlite_text(r[c]) for c in time_columns}} for r in rows]
        return conn.exec_driver_sql(sql, rows).rowcount  # sqlite3 sums the rows executemany changed

    return insert_rows


def _insert_by_lookup(conn: Connection, model: type, key: list[str]) -> Callable[[list[EventRow]], int]:
    """The portable fallback for databases without ON CONFLICT: looks the keys up first (same outcome, slower)."""
    columns = [getattr(model, k) for k in key]

    def insert_new(rows: list[EventRow]) -> int:
        unique = {tuple(r[k] for k in key): r for r in rows}
        keys = list(unique)
        existing = set()
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            existing |= {tuple(r) for r in conn.execute(select(*columns).where(tuple_(*columns).in_(part)))}
        new = [row for k, row in unique.items() if k not in existing]
        if new:
            conn.execute(model.__table__.insert(), new)
        return len(new)

    return insert_new


def _read_layout(path: Path) -> str:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), None)
    except UnicodeDecodeError:
        raise ImportRejected(str(path), [RowError(non_utf8_line(path), "not UTF-8 text")]) from None
    if not header:
        raise ImportRejected(str(path), [RowError(1, "empty file: expected a CSV header")])
    layout = detect_journal_layout(header)
    if layout is None:
        raise ImportRejected(
            str(path),
            [
                RowError(
                    1,
                    f"header {header!r} is neither our journal layout (needs {sorted(NATIVE_REQUIRED)}) "
                    f"nor a SCADA export (needs EventId, Source, EventTime, EventState)",
                )
            ],
        )
    return layout


def _parsed_rows(path: Path, parse: Callable[[dict[str, str]], EventRow]) -> Iterator[tuple[int, EventRow | RowError]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader)]
        try:
            for cells in reader:
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    yield line, RowError(line, f"{len(cells)} cells, expected {len(header)} like the header")
                    continue
                try:
                    yield line, parse(dict(zip(header, cells, strict=True)))
                except ValueError as e:
                    yield line, RowError(line, str(e))
        except UnicodeDecodeError:
            line = non_utf8_line(path)
            yield line, RowError(line, "not UTF-8 text")
        except csv.Error as e:  # a cell beyond csv's field size limit
            yield reader.line_num, RowError(reader.line_num, f"unreadable CSV: {e}")


def _known_alarms(db: Database) -> dict[tuple[str, str], tuple[str | None, int | None]]:
    """(tag, condition) -> (area, priority) from the definitions, to fill in what a journal row leaves out."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(AlarmDefinition.tag, AlarmDefinition.condition, AlarmDefinition.area, AlarmDefinition.priority)
        )
        known = {(t, c): (a, p) for t, c, a, p in rows}
    for (tag, _), (area, _) in list(known.items()):
        known.setdefault((tag, ""), (area, None))
    return known


def _fill_from_definitions(row: EventRow, known: dict) -> EventRow:
    if row["area"] is None or row["priority"] is None:
        area, priority = known.get((row["tag"], row["condition"])) or known.get((row["tag"], ""), (None, None))
        row["area"] = row["area"] or area
        row["priority"] = row["priority"] or priority
    return row


def _native_row_parser(assume_tz: tzinfo, known: dict) -> Callable[[dict[str, str]], EventRow]:
    def parse(cells: dict[str, str]) -> EventRow:
        tag = cells["tag"].strip()
        if not tag:
            raise ValueError("tag is empty")
        event_time = parse_timestamp(cells["event_time"], assume_tz)
        condition = normalize_condition(cells.get("condition", ""))
        state = parse_state(cells["state"])
        given = cells.get("event_id", "").strip()
        row = {
            "event_key": _given_key(given) if given else event_key(event_time.isoformat(), tag, condition, state),
            "event_time": event_time,
            "tag": tag,
            "condition": condition,
            "state": state.value,
            "priority": parse_priority(cells.get("priority", "")),
            "value": parse_optional_float(cells.get("value", ""), "value"),
            "message": optional_text(cells.get("message")),
            "operator": optional_text(cells.get("operator")),
            "area": optional_text(cells.get("area")),
        }
        return _fill_from_definitions(row, known)

    return parse


def split_scada_source(source: str) -> tuple[str, str | None, str]:
    """`prov:default:/tag:Reactor/TIC-101/PV:/alm:High High` -> ("TIC-101", "Reactor", "HH").

    Also takes plain paths such as `Reactor/TIC-101` (no area when there is a single segment, no condition
    without an `:/alm:` part).
    """
    path, _, alarm = source.strip().partition(":/alm:")
    if ":/tag:" in path:
        path = path.split(":/tag:", 1)[1]
    elif path.startswith("prov:"):
        path = path.split(":", 2)[-1].lstrip("/")
    segments = [s for s in path.replace("\\", "/").split("/") if s.strip()]
    if len(segments) > 1 and segments[-1].strip().upper() in _GENERIC_TAG_LEAVES:
        segments.pop()
    if not segments:
        raise ValueError(f"Source {source!r} names no tag")
    area = segments[0].strip() if len(segments) > 1 else None
    return segments[-1].strip(), area, normalize_condition(alarm) if alarm.strip() else ""


def _scada_priority(text: str) -> int | None:
    cleaned = text.strip()
    if not cleaned:
        return None
    if cleaned in _SCADA_NUMERIC_PRIORITY:
        return _SCADA_NUMERIC_PRIORITY[cleaned]
    priority = priority_from_name(cleaned)
    if priority is None:
        raise ValueError(f"Priority {text!r} is not Diagnostic/Low/Medium/High/Critical or 0-4")
    return priority


def _scada_state(text: str, event_id: str, acked_after_clear: set[str]) -> EventState:
    key = text.strip().replace(" ", "").lower()
    if key == "clearacked":
        return EventState.ACKNOWLEDGED if event_id in acked_after_clear else EventState.CLEARED
    if key in _SCADA_STATES:
        return _SCADA_STATES[key]
    try:
        return parse_state(text)
    except ValueError:
        raise ValueError(
            f"EventState {text!r} is not ActiveUnacked, ActiveAcked, ClearUnacked, ClearAcked or a plain state"
        ) from None


def _scada_events_cleared_unacked(db: Database, path: Path) -> set[str]:
    """EventIds that went through ClearUnacked: their ClearAcked row is the acknowledgement, not the clear.
    The ClearUnacked row may sit in this file or in an earlier export already imported (incremental exports)."""
    found, clear_acked, spellings = set(), set(), {"ClearUnacked"}
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.DictReader(f)
        reader.fieldnames = [h.strip().lower() for h in reader.fieldnames or []]
        try:
            for row in reader:
                state = (row.get("eventstate") or "").strip()
                event_id = (row.get("eventid") or "").strip()
                if state.replace(" ", "").lower() == "clearunacked":
                    found.add(event_id)
                    spellings.add(state)
                elif state.replace(" ", "").lower() == "clearacked":
                    clear_acked.add(event_id)
        except csv.Error:
            pass  # the import's own pass over the rows reports the unreadable line
    return found | _stored_cleared_unacked(db, clear_acked - found, spellings)


def _stored_cleared_unacked(db: Database, event_ids: set[str], spellings: set[str]) -> set[str]:
    """Those of `event_ids` whose ClearUnacked row is already in the journal (found by its event key)."""
    by_key = {_given_key(f"{event_id}/{spelling}"): event_id for event_id in event_ids for spelling in spellings}
    keys, stored = list(by_key), set()
    with db.engine.connect() as conn:
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            found = conn.scalars(select(AlarmEvent.event_key).where(AlarmEvent.event_key.in_(part)))
            stored |= {by_key[key] for key in found}
    return stored


def _scada_user(text: str) -> str | None:
    cleaned = text.strip()
    return optional_text(cleaned.rsplit(":", 1)[-1] if "/usr:" in cleaned else cleaned)


def _scada_row_parser(
    assume_tz: tzinfo, acked_after_clear: set[str], known: dict
) -> Callable[[dict[str, str]], EventRow]:
    def parse(cells: dict[str, str]) -> EventRow:
        event_id = cells["eventid"].strip()
        if not event_id:
            raise ValueError("EventId is empty")
        tag, area, condition = split_scada_source(cells["source"])
        if cells.get("name", "").strip() and not condition:
            condition = normalize_condition(cells["name"])
        state = _scada_state(cells["eventstate"], event_id, acked_after_clear)
        row = {
            "event_key": _given_key(f"{event_id}/{cells['eventstate'].strip()}"),
            "event_time": parse_timestamp(cells["eventtime"], assume_tz),
            "tag": tag,
            "condition": condition,
            "state": state.value,
            "priority": _scada_priority(cells.get("priority", "")),
            "value": parse_optional_float(cells.get("eventvalue", ""), "EventValue"),
            "message": optional_text(cells.get("displaypath")),
            "operator": _scada_user(cells.get("ackuser", "")) if state is EventState.ACKNOWLEDGED else None,
            "area": area,
        }
        return _fill_from_definitions(row, known)

    return parse
