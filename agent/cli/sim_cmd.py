"""`hmi-agent sim`: start the simulated HMI (agent.sim) against the alarm journal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("sim")
    def sim(
        ctx: typer.Context,
        scenario: Annotated[
            Path | None, typer.Option("--scenario", help="Scenario YAML (default: the feed unit).")
        ] = None,
        db: Annotated[
            str | None, typer.Option("--db", help="Journal database URL (default: the agent's database).")
        ] = None,
        speed: Annotated[float, typer.Option("--speed", min=0.01, help="Scenario seconds per real second.")] = 1.0,
        operator: Annotated[str, typer.Option("--operator", help="Name written with acknowledgements.")] = "operator",
        status_file: Annotated[
            Path | None, typer.Option("--status-file", help="JSON state, rewritten on changes.")
        ] = None,
    ) -> None:
        """Start the simulated HMI: a Tk process unit whose alarms go into the alarm journal."""
        import tkinter

        from agent.cli import UserError, settings_of
        from agent.sim.__main__ import run
        from agent.sim.journal import JournalError
        from agent.sim.scenario import DEFAULT_SCENARIO, ScenarioError

        try:
            run(
                scenario or DEFAULT_SCENARIO,
                db_url=db or settings_of(ctx).db_url,
                status_file=status_file,
                speed=speed,
                operator=operator,
            )
        except (ScenarioError, JournalError, tkinter.TclError) as e:
            raise UserError(str(e)) from None
        except OSError as e:  # --status-file in a folder that is missing or not writable
            raise UserError(f"cannot write {e.filename}: {e.strerror or e}") from None
