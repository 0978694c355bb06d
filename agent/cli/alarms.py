"""`hmi-agent alarms ...`: import definitions and journals, query history and definitions, load a demo plant."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli import UserError, docs_cmds, open_db, settings_of

if TYPE_CHECKING:
    from storage.db import Database

alarms_app = typer.Typer(name="alarms", help="The plant's alarm definitions and alarm journal.", no_args_is_help=True)


class FileKind(StrEnum):
    journal = "journal"
    definitions = "definitions"


def register(app: typer.Typer) -> None:
    from agent.cli import alarm_system

    alarm_system.register(alarms_app)
    app.add_typer(alarms_app, name="alarms")


def _open(ctx: typer.Context) -> Database:
    return open_db(settings_of(ctx).db_url)


@alarms_app.command("import")
def import_file(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Journal CSV (our layout or a SCADA export) or definitions CSV/YAML.")],
    kind: Annotated[
        FileKind | None,
        typer.Option("--kind", help="What the file holds; by default told from its name and header."),
    ] = None,
    timezone: Annotated[str, typer.Option("--timezone", help="Zone of timestamps that carry no offset.")] = "UTC",
    column_map: Annotated[
        list[str] | None,
        typer.Option("--map", help="Vendor export column under another name: LAYOUT_COLUMN=FILE_COLUMN (repeatable)."),
    ] = None,
) -> None:
    """Import alarm definitions or an alarm journal (ours, WinCC, FactoryTalk, AVEVA): all rows or none;
    re-importing skips known events."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from storage.importing import import_file as run_import
    from storage.rows import ImportRejected
    from storage.vendor_journals import parse_column_map

    if not file.is_file():
        raise UserError(f"{file} is not a file")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"--timezone {timezone!r} is not a time zone name such as UTC or Asia/Shanghai") from None
    try:
        mapping = parse_column_map(column_map or [])
    except ValueError as e:
        raise UserError(str(e)) from None
    try:
        report = run_import(_open(ctx), file, kind.value if kind else None, assume_tz=zone, column_map=mapping)
    except ImportRejected as e:
        raise UserError(str(e)) from None
    typer.echo(report.summary())


def _tools(ctx: typer.Context):
    from tools.alarms import AlarmTools

    return AlarmTools(_open(ctx))


def _show(result, as_json: bool) -> None:
    if result.error:
        raise UserError(result.error)
    typer.echo(result.data.model_dump_json(indent=2) if as_json else result.output)


@alarms_app.command("history")
def history(
    ctx: typer.Context,
    tag: Annotated[str, typer.Argument(help="Alarm tag, optionally with condition: TIC-101 or TIC-101.HH.")],
    since: Annotated[str, typer.Option(help="Window start: 30m, 24h, 7d, 4w or an ISO timestamp.")] = "7d",
    until: Annotated[str | None, typer.Option(help="Window end (default now): duration back or ISO timestamp.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=50, help="Most recent occurrences to list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured result as JSON.")] = False,
) -> None:
    """Has this alarm happened recently? Activations, acknowledge/active times, state now, ISA-18.2 flags."""
    _show(_tools(ctx).alarm_history(tag, since, until, limit), as_json)


@alarms_app.command("define")
def define(
    ctx: typer.Context,
    tag: Annotated[str, typer.Argument(help="Alarm tag as read on screen, e.g. TIC101 or TIC-101.HH.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured result as JSON.")] = False,
) -> None:
    """What does this alarm mean? Cause, consequence, corrective action, priority (fuzzy tag match)."""
    _show(_tools(ctx).alarm_definition(tag), as_json)


@alarms_app.command("demo-data")
def demo_data(
    ctx: typer.Context,
    days: Annotated[float, typer.Option(min=1, max=3650, help="Days of history, ending now.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    tags: Annotated[int, typer.Option(min=7, max=5000, help="Number of instrument tags.")] = 42,
    export: Annotated[
        Path | None, typer.Option(help="Write definitions and journals (both CSV layouts) to this folder instead.")
    ] = None,
) -> None:
    """Load a demo plant (definitions in English/Chinese, a journal with chattering, stale and flood alarms)."""
    from storage.definitions import upsert_definitions
    from storage.demo import demo_definitions, demo_events, write_definitions, write_journal_csv
    from storage.journal import write_events

    definitions = demo_definitions(tags)
    if export:
        rows = list(demo_events(days, seed, tags=tags))
        try:
            write_definitions(export / "definitions.yaml", definitions)
            write_definitions(export / "definitions.csv", definitions)
            write_journal_csv(export / "journal.csv", rows)
            write_journal_csv(export / "journal_scada.csv", rows, layout="scada")
            docs_cmds.write_demo_manuals(export / "manuals", definitions)
        except OSError as e:
            raise UserError(f"cannot write to --export {str(export)!r}: {e.strerror or e}") from None
        typer.echo(f"wrote {len(definitions)} definitions, {len(rows)} journal events and the manuals to {export}/")
        return
    db = _open(ctx)
    new, updated = upsert_definitions(db, definitions)
    report = write_events(db, ((0, row) for row in demo_events(days, seed, tags=tags)), source="demo", layout="demo")
    typer.echo(f"definitions: {new} new, {updated} updated; {report.summary()}")
    typer.echo(docs_cmds.load_demo_manuals(db, settings_of(ctx), definitions))
