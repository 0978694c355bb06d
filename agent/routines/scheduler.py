"""Scheduled routines: APScheduler 3 BackgroundScheduler with a SQLAlchemyJobStore, so schedules survive restarts.

Semantics (see docs/routines.md, Scheduling):
- a job per routine, id = routine name; the store keeps the routine *file path* and its trigger; each run re-reads
  the file (edits to steps apply at the next run; a changed schedule needs `routine schedule FILE` again);
- overlap: `max_instances=1` per routine (a run still going when the next is due → that one is `skipped`) and the
  per-screen lock (two routines on one screen → the second is `skipped`);
- misfires: a run due while the scheduler was down or busy still starts if it is at most `misfire_grace_time`
  seconds late (settings.routine_misfire_grace_s); later than that it is recorded as `skipped` (missed);
  `coalesce=True` folds several missed runs of one routine into one.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from pydantic import BaseModel

from agent.routines.history import RunRecord
from agent.routines.runner import RoutineRunner
from agent.routines.schema import Problem, RoutineFileError, load_routine
from agent.settings import Settings
from storage.db import make_engine

log = logging.getLogger(__name__)
JOB_TABLE = "routine_jobs"

# Jobs in the store hold only a file path; the job function finds the scheduler that runs it here.
_active: RoutineScheduler | None = None


def run_scheduled(path: str) -> str:
    """The stored job function (referenced by name in the job store): runs one routine file now."""
    if _active is None:
        raise RuntimeError("a routine job ran without a started RoutineScheduler")
    return _active.run_file(Path(path)).status


class ScheduledRoutine(BaseModel):
    name: str
    path: str
    trigger: str
    next_run: datetime | None  # None: paused

    def line(self) -> str:
        when = self.next_run.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if self.next_run else "paused"
        return f"{self.name:<24} next {when:<26} {self.trigger}  {self.path}"


class RoutineScheduler:
    """Owns the APScheduler instance; `start()` makes it the one `run_scheduled` uses (one per process)."""

    def __init__(self, settings: Settings, *, runner: RoutineRunner | None = None, workers: int = 4) -> None:
        self.settings = settings
        self.runner = runner or RoutineRunner(settings, long_running=True)
        self.history = self.runner.history
        self.grace = settings.routine_misfire_grace_s
        self.scheduler = BackgroundScheduler(
            # the same engine set-up as the run history: WAL and a busy timeout, since both write from threads
            jobstores={"default": SQLAlchemyJobStore(engine=make_engine(settings.db_url), tablename=JOB_TABLE)},
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": self.grace},
        )
        self.scheduler.add_listener(
            self._on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR
        )
        self.finished = 0  # run records produced (any status, skipped included)
        self._changed = threading.Condition()

    # ------------------------------------------------------------------ lifecycle

    def start(self, *, paused: bool = False) -> None:
        global _active
        if _active is not None and _active is not self:
            raise RuntimeError("another RoutineScheduler is already running in this process")
        _active = self
        self.runner.recover_interrupted()
        self.scheduler.start(paused=paused)

    def resume(self) -> None:
        self.scheduler.resume()

    def shutdown(self, *, wait: bool = True) -> None:
        global _active
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if _active is self:
            _active = None

    # ------------------------------------------------------------------ jobs

    def add(self, path: Path) -> ScheduledRoutine:
        """Schedules (or re-schedules) a routine file; raises RoutineFileError when it is invalid or unscheduled."""
        path = Path(path).resolve()
        routine = load_routine(path)
        if routine.schedule is None:
            raise RoutineFileError(path, [Problem(line=None, field="schedule", message="missing: nothing to schedule")])
        job = self.scheduler.add_job(
            run_scheduled,
            trigger=routine.schedule.trigger(),
            args=[str(path)],
            id=routine.name,
            name=routine.name,
            replace_existing=True,
        )
        log.info("scheduled %s (%s) from %s", routine.name, routine.schedule.summary(), path)
        return self._describe(job)

    def remove(self, name: str) -> bool:
        if self.scheduler.get_job(name) is None:
            return False
        self.scheduler.remove_job(name)
        return True

    def jobs(self) -> list[ScheduledRoutine]:
        return sorted((self._describe(job) for job in self.scheduler.get_jobs()), key=lambda j: j.name)

    @staticmethod
    def _describe(job) -> ScheduledRoutine:
        return ScheduledRoutine(
            name=job.id, path=job.args[0], trigger=str(job.trigger), next_run=getattr(job, "next_run_time", None)
        )

    # ------------------------------------------------------------------ runs

    def run_file(self, path: Path) -> RunRecord:
        """Runs a scheduled routine file once (called from a scheduler worker thread)."""
        try:
            routine = load_routine(path)
            text = path.read_text(encoding="utf-8")
        except RoutineFileError as e:  # edited into an invalid state since it was scheduled: say so in the history
            record = self.history.record_skipped(
                path.stem, screen=0, mode="-", trigger="schedule", reason=f"routine file invalid now: {e}"
            )
            log.error("scheduled routine %s not run: %s", path, e)
            return record
        return self.runner.run(routine, routine_text=text, routine_path=path, trigger="schedule")

    def _on_event(self, event: JobEvent) -> None:
        if event.code in (EVENT_JOB_MISSED, EVENT_JOB_MAX_INSTANCES):
            job = self.scheduler.get_job(event.job_id)
            due = event.scheduled_run_time if event.code == EVENT_JOB_MISSED else event.scheduled_run_times[0]
            if event.code == EVENT_JOB_MISSED:
                reason = f"missed: due {due:%Y-%m-%d %H:%M:%S %Z}, more than misfire_grace_time={self.grace}s late"
            else:
                reason = f"overlap: the run due {due:%H:%M:%S} found the previous run of {event.job_id} still going"
            screen, mode = self._screen_and_mode(job)
            log.warning("routine %s skipped: %s", event.job_id, reason)
            self.history.record_skipped(event.job_id, screen=screen, mode=mode, trigger="schedule", reason=reason)
        elif event.code == EVENT_JOB_ERROR:
            log.error("routine %s job raised: %s", event.job_id, event.exception)
        with self._changed:
            self.finished += 1
            self._changed.notify_all()

    def _screen_and_mode(self, job) -> tuple[int, str]:
        try:
            routine = load_routine(Path(job.args[0]))
        except (RoutineFileError, AttributeError):
            return 0, "-"
        return routine.screen, routine.mode or self.settings.action_mode

    def wait(self, *, runs: int | None = None, seconds: float | None = None) -> None:
        """Blocks until `runs` run records were produced or `seconds` passed (both None: until interrupted)."""
        with self._changed:
            self._changed.wait_for(lambda: runs is not None and self.finished >= runs, timeout=seconds)
