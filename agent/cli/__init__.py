"""`hmi-agent` command line. Each area registers its commands from its own module; heavy imports stay inside them."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from agent.settings import Settings

if TYPE_CHECKING:
    from storage.db import Database

app = typer.Typer(
    name="hmi-agent",
    help="Local, offline visual agent for industrial operator screens (SCADA/HMI).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class UserError(Exception):
    """Bad input from the person at the keyboard: printed as one line, exit code 2, never a traceback."""


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", help="SQLAlchemy URL of the alarm database.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Qwen3-VL hub id or local directory.")] = None,
) -> None:
    overrides = {k: v for k, v in {"db_url": db, "model": model}.items() if v is not None}
    ctx.obj = Settings(**overrides)


def settings_of(ctx: typer.Context) -> Settings:
    return ctx.find_root().obj


def open_db(url: str) -> Database:
    """The alarm database at `url`, opened and migrated; a bad URL or unreachable server is a UserError."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import open_database

    try:
        return open_database(url)
    except ValueError as e:
        raise UserError(str(e)) from None
    except SQLAlchemyError as e:
        raise database_error(url, e) from None


def database_error(url: str, error: Exception) -> UserError:
    """A database that cannot be opened (server down, not a database file) as one line naming the URL."""
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return UserError(f"cannot open database {url!r}: {reason}")


def _register_commands() -> None:
    from agent.cli import agent_cmds, alarms, perception_cmds, routine_cmds, service_cmds, sim_cmd

    for module in (agent_cmds, alarms, perception_cmds, sim_cmd, routine_cmds, service_cmds):
        module.register(app)


def main(argv: list[str] | None = None) -> None:
    _register_commands()
    try:
        app(args=argv)
    except UserError as e:
        print(f"hmi-agent: error: {e}", file=sys.stderr)
        sys.exit(2)
    except ValidationError as e:  # a bad HMI_AGENT_* variable or .env entry
        first = e.errors()[0]
        print(f"hmi-agent: error: setting {'.'.join(map(str, first['loc']))}: {first['msg']}", file=sys.stderr)
        sys.exit(2)
    except SettingsError as e:  # a list/dict setting whose value is not JSON, e.g. HMI_AGENT_ALLOWED_REGIONS=x
        print(f"hmi-agent: error: {e}: list settings take JSON, e.g. '[[0, 0, 800, 600]]'", file=sys.stderr)
        sys.exit(2)
