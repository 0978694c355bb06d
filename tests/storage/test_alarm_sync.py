"""`alarms sync --from URL`: an Ignition-style journal in a real SQLite file and a real PostgreSQL schema is copied
read-only and incrementally (only what is new since the last sync), with states, users, values and areas mapped."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, insert, select

from bench.ignition_source import add_occurrences, create_journal
from storage.alarm_sync import SyncError, ignition_tables, read_only_engine, sync_from, sync_position
from storage.models import AlarmEvent
from tests.storage.conftest import scratch_database


@pytest.fixture(params=["sqlite", "postgresql"])
def source_url(request, tmp_path):
    with scratch_database(request.param, tmp_path, "ignition") as url:
        yield url


def _journal(db):
    with db.session() as session:
        return session.scalars(select(AlarmEvent).order_by(AlarmEvent.event_time, AlarmEvent.id)).all()


def test_sync_copies_states_users_values_and_then_only_what_is_new(db, source_url):
    source = create_journal(source_url)
    next_id = add_occurrences(source, 10)
    first = sync_from(db, source_url)
    assert (first.read, first.imported, first.last_id) == (30, 30, 30)
    events = _journal(db)
    assert [(e.tag, e.condition, e.state, e.area) for e in events[:3]] == [
        ("TIC-101", "HH", "active", "Reactor"), ("TIC-101", "HH", "acknowledged", "Reactor"),
        ("TIC-101", "HH", "cleared", "Reactor"),
    ]  # fmt: skip
    assert events[0].value == 100.0 and events[1].operator == "j.smith" and events[0].priority == 2

    assert sync_from(db, source_url).read == 0  # nothing new: the cursor remembers
    add_occurrences(source, 5, first_id=next_id)
    second = sync_from(db, source_url, batch=4)  # several batches, each followed by its cursor
    assert (second.read, second.imported, second.last_id) == (15, 15, 45)
    assert len(_journal(db)) == 45 and sync_position(db, source_url)[0] == 45
    source.dispose()


def test_the_source_is_opened_read_only(source_url):
    create_journal(source_url).dispose()
    events, _ = ignition_tables()
    engine = read_only_engine(source_url)
    with pytest.raises(Exception, match="(?i)read.only|readonly|query_only"):
        with engine.begin() as conn:
            conn.execute(insert(events).values(id=1, eventid="x", source="a/b", eventtype=0))
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(events)) == 0
    engine.dispose()


def test_a_database_without_the_journal_tables_is_named(db, tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    create_engine(empty).connect().close()
    with pytest.raises(SyncError, match="has no Ignition alarm journal"):
        sync_from(db, empty)


def test_a_missing_sqlite_source_is_named_not_created(db, tmp_path):
    missing = tmp_path / "nowhere" / "scada.sqlite"
    with pytest.raises(ValueError, match="no such SQLite database file"):
        sync_from(db, f"sqlite:///{missing}")
    assert not missing.parent.exists()


def test_an_unknown_event_type_rejects_the_batch_and_keeps_the_cursor(db, tmp_path):
    url = f"sqlite:///{tmp_path / 'ignition.sqlite'}"
    source = create_journal(url)
    add_occurrences(source, 2)
    events, _ = ignition_tables()
    with source.begin() as conn:
        conn.execute(insert(events).values(id=7, eventid="e7", source="prov:default:/tag:Reactor/TIC-101:/alm:High",
                                           priority=1, eventtype=9, eventtime=None))  # fmt: skip
    with pytest.raises(SyncError, match="source event id 7: eventtype 9 is not 0-4"):
        sync_from(db, url)
    assert _journal(db) == [] and sync_position(db, url) == (0, None)
    source.dispose()
