"""Opening the database: SQLite folders, WAL and foreign keys, migrations applied once and matching the models."""

import pytest
from sqlalchemy import inspect, text

from storage.db import open_database
from storage.migrations import MIGRATIONS, apply_migrations
from storage.models import Base


def test_sqlite_file_gets_its_folder_wal_and_foreign_keys(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'deep' / 'er' / 'alarms.sqlite'}")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "deep" / "er" / "alarms.sqlite").is_file()
    db.close()


def test_in_memory_sqlite_keeps_one_database():
    db = open_database("sqlite://")
    assert "alarm_events" in inspect(db.engine).get_table_names()


def test_migrations_run_once_and_are_recorded(db):
    with db.engine.connect() as conn:
        names = [row[0] for row in conn.execute(text("SELECT name FROM schema_migrations ORDER BY name"))]
    assert names == [m.name for m in MIGRATIONS]
    assert apply_migrations(db.engine) == []
    reopened = open_database(db.url)
    assert reopened.engine.url == db.engine.url
    reopened.close()


def open_at_once(url: str, openers: int = 6) -> tuple[list, list[Exception]]:
    """`openers` threads calling open_database(url) at the same moment: (the databases, the errors)."""
    import threading

    start, opened, errors = threading.Barrier(openers), [], []

    def open_it():
        start.wait()
        try:
            opened.append(open_database(url))
        except Exception as e:  # collected: the caller's assertion names it
            errors.append(e)

    workers = [threading.Thread(target=open_it) for _ in range(openers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return opened, errors


def test_openers_racing_on_a_new_database_all_get_the_schema_once(db_url):
    """The service and the routine scheduler (or two routines) opening a new database at the same moment."""
    opened, errors = open_at_once(db_url)
    assert errors == [] and len(opened) == 6
    with opened[0].engine.connect() as conn:
        names = [row[0] for row in conn.execute(text("SELECT name FROM schema_migrations"))]
    assert names == [m.name for m in MIGRATIONS]
    for database in opened:
        database.close()


def test_openers_racing_on_new_sqlite_files_all_switch_them_to_wal(tmp_path):
    """Switching a new file to WAL can deadlock two connections, and SQLite then fails one at once ("database is
    locked") instead of waiting; before the retry about one race in ten lost an opener, so 40 races."""
    for attempt in range(40):
        opened, errors = open_at_once(f"sqlite:///{tmp_path / f'alarms-{attempt}.sqlite'}")
        assert errors == [], f"race {attempt}: {errors}"
        with opened[0].engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        for database in opened:
            database.close()


def test_migrated_schema_matches_the_models(db):
    inspector = inspect(db.engine)
    for table in Base.metadata.sorted_tables:
        reflected = {c["name"] for c in inspector.get_columns(table.name)}
        assert reflected == set(table.columns.keys()), table.name
        assert {i.name for i in table.indexes} <= {i["name"] for i in inspector.get_indexes(table.name)}


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y"])
def test_bad_url_is_a_value_error(url):
    with pytest.raises(ValueError, match="not a usable database URL"):
        open_database(url)
