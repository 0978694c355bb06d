"""The scheduler on a SQLite job store: schedules survive a restart, overlapping runs are refused and recorded,
runs missed by more than the grace time are recorded as missed, several missed runs coalesce into one."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from routine_helpers import ScreenStates, StillScreen, alarm_page, write_routine

from agent.routines.runner import RoutineRunner
from agent.routines.scheduler import RoutineScheduler
from agent.routines.schema import RoutineFileError
from tests.simulator import wait_for

QUICK = "schedule: {every: 1s}\nmode: simulated\nsteps:\n  - assert: {visible: {text: ALARMS}}\n"


def make_scheduler(settings, parser=None) -> RoutineScheduler:
    parser = parser or ScreenStates(alarm_page(p4_unacked=False))
    runner = RoutineRunner(settings, source_factory=lambda screen: StillScreen(), parser=parser)
    return RoutineScheduler(settings, runner=runner)


@pytest.fixture
def started():
    schedulers = []

    def start(scheduler: RoutineScheduler, **kwargs) -> RoutineScheduler:
        scheduler.start(**kwargs)
        schedulers.append(scheduler)
        return scheduler

    yield start
    for scheduler in schedulers:
        scheduler.shutdown(wait=True)


def test_schedules_survive_a_restart(settings, tmp_path, started):
    path = write_routine(tmp_path, "quick", QUICK)
    first = started(make_scheduler(settings), paused=True)
    added = first.add(path)
    first.shutdown()

    second = started(make_scheduler(settings), paused=True)  # a new process would do exactly this
    (job,) = second.jobs()
    assert (job.name, job.path, job.next_run) == ("quick", str(path), added.next_run)
    second.resume()
    second.wait(runs=1, seconds=15)
    runs = second.history.list(routine="quick")
    assert runs and runs[-1].status == "passed" and runs[-1].trigger == "schedule"


def test_an_unscheduled_routine_is_refused(settings, tmp_path, started):
    path = write_routine(tmp_path, "manual", "steps:\n  - capture:\n")
    scheduler = started(make_scheduler(settings), paused=True)
    with pytest.raises(RoutineFileError, match="schedule: missing"):
        scheduler.add(path)


def test_overlapping_runs_are_refused_and_recorded(settings, tmp_path, started):
    release = threading.Event()

    def held_parser(image):  # the first run holds here until its next due time (every second) has been refused
        release.wait(timeout=30)
        return alarm_page(p4_unacked=False)

    path = write_routine(tmp_path, "slow", QUICK)
    scheduler = started(make_scheduler(settings, held_parser))
    scheduler.add(path)
    skipped = wait_for(lambda: [r for r in scheduler.history.list(routine="slow") if r.status == "skipped"],
                       timeout=15, what="the overlapping run to be refused")
    release.set()
    scheduler.wait(runs=2, seconds=15)
    assert skipped[0].reason.startswith("overlap: the run due")
    assert "passed" in {r.status for r in scheduler.history.list(routine="slow")}  # the held run went on


def test_missed_runs_beyond_the_grace_time_are_recorded_and_near_misses_run_once(settings, tmp_path, started):
    settings = settings.model_copy(update={"routine_misfire_grace_s": 5})
    scheduler = started(make_scheduler(settings), paused=True)
    scheduler.add(write_routine(tmp_path, "late", QUICK.replace("every: 1s", "every: 2s")))
    scheduler.add(write_routine(tmp_path, "missed", QUICK.replace("every: 1s", "every: 1h")))
    now = datetime.now(timezone.utc)
    scheduler.scheduler.modify_job("late", next_run_time=now - timedelta(seconds=4.5))  # 3 runs due, within grace
    scheduler.scheduler.modify_job("missed", next_run_time=now - timedelta(minutes=10))
    scheduler.resume()
    scheduler.wait(runs=2, seconds=15)
    scheduler.shutdown()
    late = [r.status for r in scheduler.history.list(routine="late")]
    (missed,) = scheduler.history.list(routine="missed")
    assert late == ["passed"]  # coalesced: the three due runs became one (none refused as an overlap)
    assert missed.status == "skipped" and missed.reason.startswith("missed: due ")
    assert "misfire_grace_time=5s" in missed.reason
