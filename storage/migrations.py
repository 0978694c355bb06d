"""Named, append-only schema migrations. Each runs once, in order, in its own transaction, and is recorded in
`schema_migrations`. Never edit a released migration: append a new one. Migrations describe the tables as they were
at that point (not via `storage.models`), so replaying them on an empty database always yields today's schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    text,
)

from storage.models import SchemaMigration, UTCDateTime
from storage.timeutil import now_utc


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[Connection], None]
    also_recorded_as: tuple[str, ...] = ()  # names a working tree once recorded it under: applied already

    def is_recorded_in(self, applied: set[str]) -> bool:
        return self.name in applied or not applied.isdisjoint(self.also_recorded_as)


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


def _alarm_states_and_sync_cursors(conn: Connection) -> None:
    """Room in `state` for suppressed_by_design / out_of_service, an index for whole-plant reports over a time
    range, and the table where `alarms sync` remembers how far it read each source."""
    if conn.dialect.name == "postgresql":  # SQLite does not enforce VARCHAR lengths
        conn.execute(text("ALTER TABLE alarm_events ALTER COLUMN state TYPE VARCHAR(32)"))
    metadata = MetaData()
    events = Table("alarm_events", metadata, Column("state", String(32)), Column("event_time", UTCDateTime()))
    Index("ix_alarm_events_state_time", events.c.state, events.c.event_time).create(conn)
    Table(
        "alarm_sync_cursors",
        metadata,
        Column("source", String(300), primary_key=True),
        Column("last_id", BigInteger, nullable=False),
        Column("synced_at", UTCDateTime(), nullable=False),
    ).create(conn)


def _documents_and_procedures(conn: Connection) -> None:
    """Manuals, procedures and equipment lists as passages with a full-text index (FTS5 on SQLite, a GIN-indexed
    tsvector on PostgreSQL), and the procedure (document + page or heading) an alarm definition may name."""
    metadata = MetaData()
    Table(
        "documents",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("path", String(1000), nullable=False),
        Column("name", String(300), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("pages", Integer, nullable=False),
        Column("added_at", UTCDateTime(), nullable=False),
        UniqueConstraint("path", name="uq_documents_path"),
    )
    Table(
        "document_passages",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("document_id", Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        Column("seq", Integer, nullable=False),
        Column("page", Integer),
        Column("heading", Text),
        Column("body", Text, nullable=False),
        Column("fields", Text),
        Column("tokens", Text, nullable=False),
        Index("ix_document_passages_document_page", "document_id", "page"),
    )
    metadata.create_all(conn)
    for statement in _FULL_TEXT_DDL[conn.dialect.name]:
        conn.exec_driver_sql(statement)
    for column in ("procedure_document VARCHAR(300)", "procedure_page INTEGER", "procedure_heading TEXT"):
        conn.exec_driver_sql(f"ALTER TABLE alarm_definitions ADD COLUMN {column}")


_FULL_TEXT_DDL = {
    "sqlite": (
        # tokens are pre-segmented (storage.doc_tokens): unicode61 only splits them on the spaces between
        "CREATE VIRTUAL TABLE document_passages_fts USING fts5(tokens, content='document_passages', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
        "CREATE TRIGGER document_passages_fts_insert AFTER INSERT ON document_passages BEGIN "
        "INSERT INTO document_passages_fts(rowid, tokens) VALUES (new.id, new.tokens); END",
        "CREATE TRIGGER document_passages_fts_delete AFTER DELETE ON document_passages BEGIN "
        "INSERT INTO document_passages_fts(document_passages_fts, rowid, tokens) VALUES ('delete', old.id, old.tokens); "
        "END",
    ),
    "postgresql": (
        "ALTER TABLE document_passages ADD COLUMN search tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED",
        "CREATE INDEX ix_document_passages_search ON document_passages USING gin (search)",
    ),
}


def _alarm_kpi_hours(conn: Connection) -> None:
    """The alarm-system report's per-hour cache. Files migrated while 0002 briefly carried this table (recorded as
    0002_alarm_states_sync_cursors_kpi_hours) have it already."""
    Table(
        "alarm_kpi_hours",
        MetaData(),
        Column("hour", String(13), primary_key=True),
        Column("area", String(100), primary_key=True),
        Column("data", Text, nullable=False),
        Column("computed_at", UTCDateTime(), nullable=False),
    ).create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_alarm_definitions_journal_sources", _initial_schema),
    Migration(
        "0002_alarm_states_report_index_sync_cursors",
        _alarm_states_and_sync_cursors,
        also_recorded_as=("0002_alarm_states_sync_cursors_kpi_hours",),
    ),
    Migration("0003_documents_and_procedures", _documents_and_procedures),
    Migration("0004_alarm_kpi_hours", _alarm_kpi_hours),
)


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
            if migration.is_recorded_in(set(conn.scalars(select(SchemaMigration.name)))):
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
