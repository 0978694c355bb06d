"""Named, append-only schema migrations. Each runs once, in order, in its own transaction, and is recorded in
`schema_migrations`. Never edit a released migration: append a new one. Migrations describe the tables as they were
at that point (not via `storage.models`), so replaying them on an empty database always yields today's schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
)

from storage.models import SchemaMigration, UTCDateTime
from storage.timeutil import now_utc


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[Connection], None]


def _initial_schema(conn: Connection) -> None:
    metadata = MetaData()
    Table(
        "alarm_definitions",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("tag", String(100), nullable=False),
        Column("condition", String(32), nullable=False),
        Column("description", Text, nullable=False),
        Column("description_zh", Text),
        Column("priority", SmallInteger),
        Column("area", String(100)),
        Column("equipment", String(100)),
        Column("probable_cause", Text),
        Column("probable_cause_zh", Text),
        Column("consequence", Text),
        Column("consequence_zh", Text),
        Column("corrective_action", Text),
        Column("corrective_action_zh", Text),
        Column("response_time_s", Integer),
        Column("setpoint", Float),
        Column("units", String(32)),
        UniqueConstraint("tag", "condition", name="uq_alarm_definitions_tag_condition"),
    )
    Table(
        "alarm_events",
        metadata,
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
        Column("event_key", String(64), nullable=False),
        Column("event_time", UTCDateTime(), nullable=False),
        Column("tag", String(100), nullable=False),
        Column("condition", String(32), nullable=False),
        Column("state", String(16), nullable=False),
        Column("priority", SmallInteger),
        Column("value", Float),
        Column("message", Text),
        Column("operator", String(100)),
        Column("area", String(100)),
        UniqueConstraint("event_key", name="uq_alarm_events_event_key"),
        Index("ix_alarm_events_tag_time", "tag", "event_time"),
        Index("ix_alarm_events_area_state_time", "area", "state", "event_time"),
    )
    Table(
        "alarm_sources",
        metadata,
        Column("tag", String(100), nullable=False),
        Column("condition", String(32), nullable=False),
        Column("area", String(100)),
        PrimaryKeyConstraint("tag", "condition", name="pk_alarm_sources"),
    )
    metadata.create_all(conn)


MIGRATIONS: tuple[Migration, ...] = (Migration("0001_alarm_definitions_journal_sources", _initial_schema),)


def apply_migrations(engine: Engine) -> list[str]:
    """Applies the migrations this database has not seen yet; returns their names.

    Several processes or threads may open a new database at once (the service and the routine scheduler starting
    together, two routines loading the agent): every migration transaction holds the database's migration lock and
    looks again, under it, whether another writer has applied that migration meanwhile."""
    with _migration_lock(engine) as conn:
        SchemaMigration.__table__.create(conn, checkfirst=True)
    applied = []
    for migration in MIGRATIONS:
        with _migration_lock(engine) as conn:
            if migration.name in set(conn.scalars(select(SchemaMigration.name))):
                continue
            migration.apply(conn)
            conn.execute(SchemaMigration.__table__.insert().values(name=migration.name, applied_at=now_utc()))
        applied.append(migration.name)
    return applied


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction that one writer at a time holds: SQLite's write lock taken up front (BEGIN IMMEDIATE; others
    wait out the busy timeout), a transaction-scoped advisory lock on PostgreSQL."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # the sqlite3 driver would open its transaction only at the first insert, after the DDL: take it now
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        yield conn


MIGRATION_LOCK_KEY = 0x686D6961  # "hmia": the advisory-lock id hmi-agent's migrations share
