"""`hmi-agent alarms sync | follow | report | handover`: live alarm sources and the alarm-system report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from agent.cli import UserError, database_error, open_db, settings_of


def register(alarms_app: typer.Typer) -> None:
    alarms_app.command("sync")(sync)
    alarms_app.command("follow")(follow)
    alarms_app.command("report")(report)
    alarms_app.command("handover")(handover)


def sync(
    ctx: typer.Context,
    source: Annotated[str, typer.Option("--from", help="SQLAlchemy URL of the SCADA's database (read only).")],
    events_table: Annotated[str, typer.Option(help="The journal's events table.")] = "alarm_events",
    data_table: Annotated[str, typer.Option(help="The journal's event data table.")] = "alarm_event_data",
) -> None:
    """Copy new events from an Ignition-style alarm journal (alarm_events + alarm_event_data), read-only and
    incrementally: each sync starts where the last one stopped."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.alarm_sync import SyncError, sync_from

    db = open_db(settings_of(ctx).db_url)
    try:
        result = sync_from(db, source, events_table=events_table, data_table=data_table)
    except (SyncError, ValueError) as e:
        raise UserError(str(e)) from None
    except SQLAlchemyError as e:
        raise database_error(source, e) from None
    typer.echo(result.summary())


def follow(
    ctx: typer.Context,
    endpoint: Annotated[str, typer.Argument(help="OPC UA server, e.g. opc.tcp://scada:4840.")],
    seconds: Annotated[
        float | None, typer.Option(min=0.1, help="Stop after this long (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Subscribe to OPC UA Alarms & Conditions and write each event to the journal as it arrives (ConditionRefresh
    on connect, reconnect with back-off)."""
    from storage.opcua_follow import follow_alarms, valid_endpoint

    try:
        valid_endpoint(endpoint)
    except ValueError as e:
        raise UserError(str(e)) from None
    db = open_db(settings_of(ctx).db_url)
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)  # a dropped link is reported on one line below
    typer.echo(f"following alarms of {endpoint} (Ctrl-C to stop)")
    try:
        stats = follow_alarms(db, endpoint, seconds=seconds, on_status=typer.echo)
    except KeyboardInterrupt:
        return
    typer.echo(stats.summary())


def _window(since: str, until: str | None) -> tuple:
    from storage.timeutil import now_utc, parse_moment

    now = now_utc()
    try:
        start = parse_moment(since, now)
        end = parse_moment(until, now) if until else now
    except ValueError as e:
        raise UserError(str(e)) from None
    if start >= end:
        raise UserError(f"--since {since!r} ({start:%Y-%m-%d %H:%M}Z) is not before the end ({end:%Y-%m-%d %H:%M}Z)")
    return start, end


def report(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help="Window start: 30d, 7d, 24h or an ISO timestamp.")] = "30d",
    until: Annotated[str | None, typer.Option(help="Window end (default now).")] = None,
    area: Annotated[str | None, typer.Option(help="Only this plant area.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write the report with charts to this HTML file.")] = None,
) -> None:
    """The alarm system's health by ISA-18.2 / EEMUA 191: rates, floods, bad actors, chattering, stale, priorities,
    shelving and time to acknowledge, each against its benchmark."""
    from tools.alarm_kpis import alarm_system_report

    start, end = _window(since, until)
    result = alarm_system_report(open_db(settings_of(ctx).db_url), start, end, area)
    if html:
        from agent.alarm_report_html import render_report

        try:
            html.write_text(render_report(result), encoding="utf-8")
        except OSError as e:
            raise UserError(f"cannot write --html {str(html)!r}: {e.strerror or e}") from None
        typer.echo(f"wrote {html}")
        return
    typer.echo(result.model_dump_json(indent=2) if as_json else result.as_text())


def handover(
    ctx: typer.Context,
    hours: Annotated[float, typer.Option(min=0.25, max=24 * 14, help="Length of the shift, ending now.")] = 8,
    area: Annotated[str | None, typer.Option(help="Only this plant area.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the handover as JSON.")] = False,
) -> None:
    """Shift handover: new alarms, still active and stale alarms, who acknowledged what, the shift's bad actors,
    and what is shelved, suppressed or out of service."""
    from tools.alarm_kpis import shift_handover

    start, end = _window(f"{hours}h", None)
    result = shift_handover(open_db(settings_of(ctx).db_url), start, end, area)
    typer.echo(result.model_dump_json(indent=2) if as_json else result.as_text())
