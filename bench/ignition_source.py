"""An Ignition-style alarm journal (alarm_events + alarm_event_data) filled with generated occurrences, for the sync
tests and bench/alarm_sync.py. Each occurrence is three source events: active (with eventValue), ack (with
ackUser), clear."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, create_engine, insert

from storage.alarm_sync import ignition_tables

START = datetime(2025, 2, 1, tzinfo=UTC)
TAGS = [("Reactor", "TIC-101", "High High"), ("Reactor", "PIC-102", "Low"), ("Distillation", "LIC-203", "High"),
        ("Utilities", "P-607", "Trip")]  # fmt: skip


def create_journal(url: str) -> Engine:
    engine = create_engine(url)
    events, data = ignition_tables()
    events.metadata.create_all(engine)
    return engine


def add_occurrences(engine: Engine, count: int, first_id: int = 1, chunk: int = 20_000) -> int:
    """Appends `count` occurrences (3 events each) with ids from `first_id`; returns the next free id."""
    events, data = ignition_tables()
    next_id = first_id
    for start in range(0, count, chunk):
        event_rows, data_rows = [], []
        for n in range(start, min(start + chunk, count)):
            area, tag, alarm = TAGS[n % len(TAGS)]
            moment = START + timedelta(seconds=30 * (first_id + 3 * n))
            event_id = str(uuid.UUID(int=first_id * 1_000_003 + n))
            source = f"prov:default:/tag:{area}/{tag}:/alm:{alarm}"
            for offset, (event_type, prop, value) in enumerate(
                ((0, "eventValue", 100.0 + n % 50), (2, "ackUser", "usr-prov:default:/usr:j.smith"), (1, None, None))
            ):
                event_rows.append(dict(id=next_id, eventid=event_id, source=source, displaypath=f"{tag} {alarm}",
                                       priority=3, eventtype=event_type, eventflags=0,
                                       eventtime=moment + timedelta(seconds=10 * offset)))  # fmt: skip
                if prop == "eventValue":
                    data_rows.append(dict(id=next_id, propname=prop, dtype=1, floatvalue=value, strvalue=None))
                elif prop:
                    data_rows.append(dict(id=next_id, propname=prop, dtype=2, floatvalue=None, strvalue=value))
                next_id += 1
        with engine.begin() as conn:
            conn.execute(insert(events), event_rows)
            conn.execute(insert(data), data_rows)
    return next_id
