"""`hmi-agent` command line. Each area registers its commands from its own module; heavy imports stay inside them."""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from agent.settings import Settings

if TYPE_CHECKING:
    from storage.db import Database

QUICK_START = """First steps (docs/cli.md has more):

\b
  hmi-agent alarms demo-data                      # a demo plant's alarm database
  hmi-agent ask "What does the red alarm mean?" --image examples/screens/demo.png
  hmi-agent ask "Has it happened before?" --thread THREAD   # follow up: the id `ask` printed
  hmi-agent serve                                 # web UI and JSON API on http://127.0.0.1:7860
"""

app = typer.Typer(
    name="hmi-agent",
    help="Local, offline visual agent for industrial operator screens (SCADA/HMI).",
    epilog=QUICK_START,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain click help: flags without "<bool>", examples kept as written
)


class UserError(Exception):
    """Bad input from the person at the keyboard: printed as one line, exit code 2, never a traceback."""


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the alarm database.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Qwen3-VL hub id or local directory.")] = None,
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


@functools.cache  # once per process: tests call main() hundreds of times, and typer re-reads every command per call
def _register_commands() -> None:
    from agent.cli import agent_cmds, alarms, docs_cmds, perception_cmds, routine_cmds, service_cmds, sim_cmd

    for module in (agent_cmds, alarms, perception_cmds, sim_cmd, routine_cmds, service_cmds, docs_cmds):
        module.register(app)
    from agent.cli import profile_cmds  # site profiles: `hmi-agent profile ...`

    profile_cmds.register(app)


def main(argv: list[str] | None = None) -> None:
    _register_commands()
    try:
        app(args=argv)
    except UserError as e:
        print(f"hmi-agent: error: {e}", file=sys.stderr)
        sys.exit(2)
    except ValidationError as e:  # a bad HMI_AGENT_* variable or .env entry
        first = e.errors()[0]
        field = ".".join(map(str, first["loc"]))
        print(f"hmi-agent: error: setting {field}={first.get('input')!r}: {first['msg']}", file=sys.stderr)
        sys.exit(2)
    except SettingsError as e:  # a list/dict setting whose value is not JSON, e.g. HMI_AGENT_ALLOWED_REGIONS=x
        print(f"hmi-agent: error: {e}: list settings take JSON, e.g. '[[0, 0, 800, 600]]'", file=sys.stderr)
        sys.exit(2)
