"""`hmi-agent routine validate|run|schedule|unschedule|list|history|replay`."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import UserError, open_db, settings_of

routine_app = typer.Typer(
    help="Scheduled RPA routines: YAML steps run against a screen, recorded, replayable.", no_args_is_help=True
)

FileArg = Annotated[Path, typer.Argument(help="Routine YAML file.")]


def _check_database(ctx: typer.Context) -> None:
    """Fails with one line before the scheduler or run history touch an unusable --db."""
    open_db(settings_of(ctx).db_url).engine.dispose()


def _load(path: Path):
    from agent.routines.schema import RoutineFileError, load_routine

    try:
        return load_routine(path)
    except RoutineFileError as e:
        raise UserError(str(e)) from None


def _examples(*lines: str) -> str:
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines) + "\n"


@routine_app.command(epilog=_examples("hmi-agent routine validate examples/routines/*.yaml"))
def validate(files: Annotated[list[Path], typer.Argument(help="Routine YAML files.")]) -> None:
    """Checks routine files: prints `ok` per file, or every problem with its line and field (exit 2)."""
    from agent.routines.schema import RoutineFileError, load_routine

    bad = False
    for path in files:
        try:
            routine = load_routine(path)
        except RoutineFileError as e:
            typer.echo(str(e), err=True)
            bad = True
            continue
        when = routine.schedule.summary() if routine.schedule else "no schedule (run by hand)"
        typer.echo(f"{path}: ok: {routine.name}, {len(routine.steps)} steps, {when}")
        if routine.schedule and routine.mode == "live" and routine.has_actions and not routine.pre_authorised:
            typer.echo(
                f"{path}: warning: live actions without pre_authorised: true are refused in scheduled runs", err=True
            )
    if bad:
        raise typer.Exit(2)


@routine_app.command(
    epilog=_examples(
        "hmi-agent routine run examples/routines/shift_alarm_check.yaml",
        "hmi-agent routine run examples/routines/ack_low_priority_alarm.yaml --live --screen 1",
    )
)
def run(
    ctx: typer.Context,
    file: FileArg,
    live: Annotated[
        bool, typer.Option("--live", help="Drive the real mouse and keyboard (default: simulated).")
    ] = False,
    screen: Annotated[
        int | None, typer.Option("--screen", min=0, help="Monitor number; overrides the routine.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Approve this run's live actions without asking.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run record as JSON.")] = False,
) -> None:
    """Runs a routine once now, a progress line per step as it starts and ends (stderr); exit 1 unless it passed."""
    _check_database(ctx)
    from agent.cli.progress import Progress
    from agent.routines.runner import RoutineRunner

    settings = settings_of(ctx)
    routine = _load(file)
    if screen is not None:
        routine = routine.model_copy(update={"screen": screen})
    mode = "live" if live else (routine.mode or settings.action_mode)
    authorised = routine.pre_authorised
    if mode == "live" and routine.has_actions and not authorised:
        authorised = yes or typer.confirm(
            f"Run {routine.name}'s actions LIVE on screen {routine.screen}?", default=False
        )
    progress = Progress(enabled=not as_json)
    progress.say(f"routine {routine.name}: {len(routine.steps)} steps on screen {routine.screen}, {mode}")
    record = RoutineRunner(settings, progress=progress.say).run(
        routine,
        routine_text=file.read_text(encoding="utf-8"),
        routine_path=file.resolve(),
        mode=mode,
        authorised=authorised,
    )
    typer.echo(record.model_dump_json(indent=2) if as_json else f"{record.line()}\nsession: {record.session_dir}")
    if record.status != "passed":
        raise typer.Exit(1)


@routine_app.command(
    epilog=_examples(
        "hmi-agent routine schedule examples/routines/*.yaml",
        "hmi-agent routine schedule --max-runs 3",
    )
)
def schedule(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None, typer.Argument(help="Routine files to (re)schedule; none: run the stored schedules.")
    ] = None,
    max_runs: Annotated[
        int | None, typer.Option("--max-runs", min=1, help="Stop after this many runs (skipped ones count).")
    ] = None,
    for_seconds: Annotated[float | None, typer.Option("--for", min=0, help="Stop after this many seconds.")] = None,
) -> None:
    """Runs the scheduler in the foreground until Ctrl-C; schedules are kept in the database across restarts."""
    _check_database(ctx)
    from agent.routines.scheduler import RoutineScheduler
    from agent.routines.schema import RoutineFileError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    scheduler = RoutineScheduler(settings_of(ctx))
    scheduler.start(paused=True)  # add jobs before anything can fire
    try:
        for path in files or []:
            try:
                typer.echo(f"scheduled: {scheduler.add(path).line()}")
            except RoutineFileError as e:
                raise UserError(str(e)) from None
        jobs = scheduler.jobs()
        if not jobs:
            raise UserError(
                "nothing is scheduled: give routine files, e.g. `hmi-agent routine schedule examples/routines/*.yaml`"
            )
        for job in jobs:
            typer.echo(f"  {job.line()}")
        typer.echo("scheduler running; Ctrl-C stops it (a run in progress finishes first)")
        previous = signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop = Ctrl-C
        scheduler.resume()
        try:
            scheduler.wait(runs=max_runs, seconds=for_seconds)
        except KeyboardInterrupt:
            typer.echo("stopping: waiting for a run in progress to finish")
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        scheduler.shutdown(wait=True)
    typer.echo(f"scheduler stopped after {scheduler.finished} runs")


@routine_app.command()
def unschedule(ctx: typer.Context, names: Annotated[list[str], typer.Argument(help="Routine names.")]) -> None:
    """Removes routines from the stored schedule."""
    _check_database(ctx)
    from agent.routines.scheduler import RoutineScheduler

    scheduler = RoutineScheduler(settings_of(ctx))
    scheduler.start(paused=True)
    try:
        missing = [name for name in names if not scheduler.remove(name)]
    finally:
        scheduler.shutdown(wait=False)
    if missing:
        raise UserError(f"not scheduled: {', '.join(missing)}")
    typer.echo(f"unscheduled: {', '.join(names)}")


@routine_app.command("list")
def list_jobs(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="JSON lines.")] = False) -> None:
    """Scheduled routines and their next run."""
    _check_database(ctx)
    from agent.routines.scheduler import RoutineScheduler

    scheduler = RoutineScheduler(settings_of(ctx))
    scheduler.start(paused=True)  # paused: reads the store, runs nothing
    try:
        jobs = scheduler.jobs()
    finally:
        scheduler.shutdown(wait=False)
    if not jobs and not as_json:
        typer.echo("no routines scheduled")
    for job in jobs:
        typer.echo(job.model_dump_json() if as_json else job.line())


@routine_app.command(
    epilog=_examples(
        "hmi-agent routine history",
        "hmi-agent routine history --name shift_alarm_check --limit 5",
    )
)
def history(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Only this routine.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array.")] = False,
) -> None:
    """Past runs, newest first, with status (passed / failed / aborted / skipped / running)."""
    _check_database(ctx)
    from agent.routines.history import RunHistory

    records = RunHistory(settings_of(ctx).db_url).list(routine=name, limit=limit)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return
    if not records:
        typer.echo("no routine runs recorded" + (f" for {name}" if name else ""))
        return
    typer.echo(_history_table(records))


HISTORY_COLUMNS = ("STARTED", "RUN", "ROUTINE", "STATUS", "TRIGGER", "ACTIONS", "WHY (failed step: reason)")


def _history_table(records) -> str:
    """Past runs under a header, columns as wide as their widest cell; the reason, often long, comes last."""
    rows = [HISTORY_COLUMNS]
    for r in records:
        why = f"step {r.failed_step} ({r.failed_step_label})" if r.failed_step else ""
        why += f"{': ' if why else ''}{r.reason}" if r.reason else ""
        started = r.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        rows.append((started, r.id, r.routine, r.status, r.trigger, str(r.actions), why))
    widths = [max(len(row[i]) for row in rows) for i in range(len(HISTORY_COLUMNS) - 1)]
    return "\n".join(
        ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]).rstrip()
        for row in rows
    )


@routine_app.command()
def replay(session: Annotated[Path, typer.Argument(help="A routine run's session folder.")]) -> None:
    """Re-runs a recorded routine run against its recorded frames and compares the actions; exit 1 on a difference."""
    from agent.routines.replay import replay_run

    try:
        report = replay_run(session)
    except (FileNotFoundError, ValueError) as e:
        raise UserError(str(e)) from None
    typer.echo(report.text())
    if not report.matches:
        raise typer.Exit(1)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    app.add_typer(routine_app, name="routine")
