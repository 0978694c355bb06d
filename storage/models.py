"""Typed SQLAlchemy models of the alarm database. The schema itself is created by `storage.migrations`;
`tests/storage/test_db.py` checks that the two agree."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.timeutil import UTC

# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere the journal needs 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out. SQLite keeps naive UTC text (sortable, indexable); PostgreSQL `timestamptz`."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} reached the database; convert with storage.timeutil.as_utc")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    @staticmethod
    def sqlite_text(value: datetime) -> str:
        """What SQLite stores for `value` (SQLAlchemy's DATETIME text), for bulk inserts that bypass bind processing."""
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EventState(StrEnum):
    """One journal row is one transition into one of these states (ISA-18.2 alarm state model)."""

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"  # return to normal
    SHELVED = "shelved"
    UNSHELVED = "unshelved"
    SUPPRESSED = "suppressed"  # by the operator or by logic, for a while
    UNSUPPRESSED = "unsuppressed"
    SUPPRESSED_BY_DESIGN = "suppressed_by_design"  # by plant state logic (e.g. the unit is shut down)
    UNSUPPRESSED_BY_DESIGN = "unsuppressed_by_design"
    OUT_OF_SERVICE = "out_of_service"  # taken out of service for maintenance
    IN_SERVICE = "in_service"  # returned to service


# The transitions that restrict an alarm (it would not annunciate): state -> (starts the restriction?, its kind).
RESTRICTIONS: dict[EventState, tuple[bool, str]] = {
    EventState.SHELVED: (True, "shelved"),
    EventState.UNSHELVED: (False, "shelved"),
    EventState.SUPPRESSED: (True, "suppressed"),
    EventState.UNSUPPRESSED: (False, "suppressed"),
    EventState.SUPPRESSED_BY_DESIGN: (True, "suppressed_by_design"),
    EventState.UNSUPPRESSED_BY_DESIGN: (False, "suppressed_by_design"),
    EventState.OUT_OF_SERVICE: (True, "out_of_service"),
    EventState.IN_SERVICE: (False, "out_of_service"),
}

PRIORITY_NAMES = {1: "critical", 2: "high", 3: "medium", 4: "low"}


class Base(DeclarativeBase):
    pass


class SchemaMigration(Base):
    __tablename__ = "schema_migrations"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlarmDefinition(Base):
    """One configured alarm (tag + condition) in the master alarm database. `*_zh` columns hold Chinese text."""

    __tablename__ = "alarm_definitions"
    __table_args__ = (UniqueConstraint("tag", "condition", name="uq_alarm_definitions_tag_condition"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag: Mapped[str] = mapped_column(String(100))
    condition: Mapped[str] = mapped_column(String(32), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_zh: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int | None] = mapped_column(SmallInteger)  # 1 critical .. 4 low
    area: Mapped[str | None] = mapped_column(String(100))
    equipment: Mapped[str | None] = mapped_column(String(100))
    probable_cause: Mapped[str | None] = mapped_column(Text)
    probable_cause_zh: Mapped[str | None] = mapped_column(Text)
    consequence: Mapped[str | None] = mapped_column(Text)
    consequence_zh: Mapped[str | None] = mapped_column(Text)
    corrective_action: Mapped[str | None] = mapped_column(Text)
    corrective_action_zh: Mapped[str | None] = mapped_column(Text)
    response_time_s: Mapped[int | None] = mapped_column(Integer)  # allowed operator response time
    setpoint: Mapped[float | None] = mapped_column(Float)
    units: Mapped[str | None] = mapped_column(String(32))
    # the response procedure in the indexed manuals (storage.documents): a document and its page or heading
    procedure_document: Mapped[str | None] = mapped_column(String(300))
    procedure_page: Mapped[int | None] = mapped_column(Integer)
    procedure_heading: Mapped[str | None] = mapped_column(Text)


class AlarmEvent(Base):
    """One state transition of one alarm in the journal. `event_key` is the natural id that makes re-imports no-ops."""

    __tablename__ = "alarm_events"
    __table_args__ = (
        Index("ix_alarm_events_tag_time", "tag", "event_time"),
        Index("ix_alarm_events_area_state_time", "area", "state", "event_time"),
        Index("ix_alarm_events_state_time", "state", "event_time"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime())
    tag: Mapped[str] = mapped_column(String(100))
    condition: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int | None] = mapped_column(SmallInteger)
    value: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(String(100))
    area: Mapped[str | None] = mapped_column(String(100))


class AlarmSource(Base):
    """Every (tag, condition) seen in the journal, kept at import so tag lookup never scans the journal."""

    __tablename__ = "alarm_sources"

    tag: Mapped[str] = mapped_column(String(100), primary_key=True)
    condition: Mapped[str] = mapped_column(String(32), primary_key=True)
    area: Mapped[str | None] = mapped_column(String(100))


class AlarmSyncCursor(Base):
    """Where `alarms sync` stopped reading one source database: the last source row id it has written."""

    __tablename__ = "alarm_sync_cursors"

    source: Mapped[str] = mapped_column(String(300), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlarmKpiHour(Base):
    """The alarm-system report's aggregates of one whole UTC hour (one area, or "" for the whole plant), kept so a
    30-day report reads 720 rows instead of the events again. Writing events into an hour forgets its rows."""

    __tablename__ = "alarm_kpi_hours"

    hour: Mapped[str] = mapped_column(String(13), primary_key=True)  # YYYY-MM-DDTHH
    area: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[str] = mapped_column(Text)  # JSON of tools.alarm_kpis.Partial
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
