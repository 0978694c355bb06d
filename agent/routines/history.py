"""Run history: one row per routine run (or skipped/missed run) in a small table of our own, `routine_runs`.

It lives in the same database as the alarms (settings.db_url) but is created and owned here, not by storage/.
A run's row is written when it starts and updated after every executed action, so a crash still leaves the last
action on record.
"""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from storage.db import make_engine
from storage.timeutil import now_utc

RunStatus = Literal["running", "passed", "failed", "aborted", "skipped"]


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


class _Base(DeclarativeBase):
    pass


class _RunRow(_Base):
    __tablename__ = "routine_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    routine: Mapped[str] = mapped_column(String(200), index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # manual | schedule
    screen: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_step: Mapped[int | None] = mapped_column(Integer)  # 1-based
    failed_step_label: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(Text)
    screenshot: Mapped[str | None] = mapped_column(Text)
    session_dir: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[int] = mapped_column(Integer, default=0)
    last_action: Mapped[str | None] = mapped_column(Text)


class RunRecord(BaseModel):
    """One routine run as the history shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    routine: str
    trigger: str
    screen: int
    mode: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None = None
    failed_step: int | None = None
    failed_step_label: str | None = None
    reason: str | None = None
    screenshot: str | None = None
    session_dir: str | None = None
    actions: int = 0
    last_action: str | None = None

    @field_validator("started_at", "finished_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """SQLite hands back naive datetimes; they were stored as UTC."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    def line(self) -> str:
        """One compact line for `routine history`."""
        when = self.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        text = f"{when}  {self.id}  {self.routine:<24} {self.status:<8} {self.trigger:<8} actions={self.actions}"
        if self.failed_step:
            text += f"  step {self.failed_step} ({self.failed_step_label})"
        if self.reason:
            text += f": {self.reason}"
        return text


class RunHistory:
    """The `routine_runs` table: start, update and finish runs; list them newest first."""

    def __init__(self, url: str):
        self.engine = make_engine(url)
        _Base.metadata.create_all(self.engine)

    def start(self, record: RunRecord) -> RunRecord:
        with Session(self.engine) as session, session.begin():
            session.add(_RunRow(**record.model_dump()))
        return record

    def update(self, run_id: str, **fields) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(_RunRow, run_id)
            if row is None:
                raise KeyError(f"no routine run {run_id!r}")
            for name, value in fields.items():
                setattr(row, name, value)

    def get(self, run_id: str) -> RunRecord | None:
        with Session(self.engine) as session:
            row = session.get(_RunRow, run_id)
            return RunRecord.model_validate(row) if row else None

    def list(self, *, routine: str | None = None, limit: int = 50) -> list[RunRecord]:
        query = select(_RunRow).order_by(_RunRow.started_at.desc()).limit(limit)
        if routine:
            query = query.where(_RunRow.routine == routine)
        with Session(self.engine) as session:
            return [RunRecord.model_validate(row) for row in session.scalars(query)]

    def running(self) -> builtins.list[RunRecord]:  # `list` here is the method above
        return [r for r in self.list(limit=1000) if r.status == "running"]

    def record_skipped(self, routine: str, *, screen: int, mode: str, trigger: str, reason: str) -> RunRecord:
        """A run that never started (screen busy, overlap, missed schedule), kept so the history shows the gap."""
        now = now_utc()
        return self.start(
            RunRecord(
                id=new_run_id(),
                routine=routine,
                trigger=trigger,
                screen=screen,
                mode=mode,
                status="skipped",
                started_at=now,
                finished_at=now,
                reason=reason,
            )
        )

    def close(self) -> None:
        self.engine.dispose()
