"""Upgrading files that earlier versions created: each history below is frozen as those versions recorded it (names
and steps), so renaming or editing a released migration makes these tests fail."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select, text

from storage import migrations
from storage.db import make_engine, open_database
from storage.models import AlarmEvent, Base

RELEASED_NAMES = (
    "0001_alarm_definitions_journal_sources",
    "0002_alarm_states_report_index_sync_cursors",
    "0003_documents_and_procedures",
)


def _kpi_hours_in_0002(conn):
    migrations._alarm_states_and_sync_cursors(conn)
    migrations._alarm_kpi_hours(conn)


EARLIER_HISTORIES = {
    "first release (0001 only)": (("0001_alarm_definitions_journal_sources", migrations._initial_schema),),
    "0001-0003 as first recorded": (
        ("0001_alarm_definitions_journal_sources", migrations._initial_schema),
        ("0002_alarm_states_report_index_sync_cursors", migrations._alarm_states_and_sync_cursors),
        ("0003_documents_and_procedures", migrations._documents_and_procedures),
    ),
    "0002 briefly holding the KPI cache": (
        ("0001_alarm_definitions_journal_sources", migrations._initial_schema),
        ("0002_alarm_states_sync_cursors_kpi_hours", _kpi_hours_in_0002),
        ("0003_documents_and_procedures", migrations._documents_and_procedures),
    ),
}


def _create_as_earlier_version(url, history):
    """Builds the file the way an earlier version did, with one alarm event in its journal."""
    engine = make_engine(url)
    with engine.begin() as conn:
        migrations.SchemaMigration.__table__.create(conn)
        for name, apply in history:
            apply(conn)
            conn.execute(migrations.SchemaMigration.__table__.insert().values(name=name, applied_at=datetime.now(UTC)))
        conn.execute(
            text(
                "INSERT INTO alarm_events (event_key, event_time, tag, condition, state) "
                "VALUES ('k1', '2025-01-01 00:00:00.000000', 'LIC-203', 'HI', 'active')"
            )
        )
    engine.dispose()


def test_released_migration_names_never_change():
    assert tuple(m.name for m in migrations.MIGRATIONS[: len(RELEASED_NAMES)]) == RELEASED_NAMES


@pytest.mark.parametrize("history", EARLIER_HISTORIES, ids=list(EARLIER_HISTORIES))
def test_file_of_an_earlier_version_upgrades_to_the_models_keeping_its_rows(db_url, history):
    _create_as_earlier_version(db_url, EARLIER_HISTORIES[history])
    db = open_database(db_url)
    try:
        inspector = inspect(db.engine)
        for table in Base.metadata.sorted_tables:
            assert {c["name"] for c in inspector.get_columns(table.name)} == set(table.columns.keys()), table.name
            assert {i.name for i in table.indexes} <= {i["name"] for i in inspector.get_indexes(table.name)}
        with db.session() as session:
            assert session.scalars(select(AlarmEvent.tag)).all() == ["LIC-203"]
        assert migrations.apply_migrations(db.engine) == []
    finally:
        db.close()
