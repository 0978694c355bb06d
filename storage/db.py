"""Opening the alarm database: any SQLAlchemy URL; SQLite files get WAL, foreign keys and their folder created."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from storage.migrations import apply_migrations


@dataclass(frozen=True)
class Database:
    url: str
    engine: Engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed when the block ends, rolled back if it raises."""
        with sessionmaker(self.engine, expire_on_commit=False).begin() as session:
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()


BUSY_TIMEOUT_S = 10  # how long a SQLite connection waits for another writer's lock


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    _switch_to_wal(cursor)  # readers (the agent) never block the importer
    for pragma in (
        "foreign_keys=ON",
        "synchronous=NORMAL",  # safe with WAL, much faster commits
        "cache_size=-65536",  # 64 MiB: the journal's indexes are large
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _switch_to_wal(cursor) -> None:
    """Switching a new database file to WAL takes its exclusive lock. Connections opening the new file together (the
    service and the routine scheduler starting at once) can deadlock on it, and SQLite then answers one of them
    "database is locked" at once instead of waiting: that one tries again, within the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def open_database(url: str) -> Database:
    """Opens (creating if needed) the database at `url` and brings its schema up to date.

    Raises:
        ValueError: when `url` is not a SQLAlchemy URL of an installed driver, or its SQLite folder cannot be made.
        sqlalchemy.exc.OperationalError: when the database cannot be reached.
    """
    engine = make_engine(url)
    apply_migrations(engine)
    return Database(url=url, engine=engine)


def make_engine(url: str) -> Engine:
    """An engine for `url` without touching the schema (for tables other packages own on the same database):
    SQLite files get their folder, WAL and the other pragmas. Raises ValueError like `open_database`."""
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError):
        raise ValueError(f"{url!r} is not a usable database URL (e.g. sqlite:///alarms.sqlite)") from None
    try:
        engine = _create_engine(parsed)
    except ImportError as e:  # the dialect is known to SQLAlchemy but its driver package is not installed
        driver = e.name or parsed.drivername
        raise ValueError(f"{url!r} needs the database driver {driver!r}, which is not installed") from None
    except OSError as e:
        raise ValueError(f"cannot create the folder for database {url!r}: {e.strerror or e}") from None
    return engine


def _create_engine(parsed: URL) -> Engine:
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        if parsed.database and not in_memory:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, poolclass=StaticPool) if in_memory else create_engine(parsed)
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(parsed, pool_pre_ping=True)
