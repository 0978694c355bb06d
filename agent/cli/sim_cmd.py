"""`hmi-agent sim`: start the simulated HMI (examples/hmi_sim) against the alarm journal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

CHECKOUT = Path(__file__).resolve().parents[2]


def register(app: typer.Typer) -> None:
    @app.command("sim")
    def sim(
        ctx: typer.Context,
        scenario: Annotated[Optional[Path], typer.Option("--scenario", help="Scenario YAML (default: the feed unit).")] = None,
        db: Annotated[Optional[str], typer.Option("--db", help="Journal database URL (default: the agent's database).")] = None,
        speed: Annotated[float, typer.Option("--speed", min=0.01, help="Scenario seconds per real second.")] = 1.0,
        operator: Annotated[str, typer.Option("--operator", help="Name written with acknowledgements.")] = "operator",
        status_file: Annotated[Optional[Path], typer.Option("--status-file", help="JSON state, rewritten on changes.")] = None,
    ) -> None:
        """Start the simulated HMI: a Tk process unit whose alarms go into the alarm journal."""
        import tkinter

        from agent.cli import UserError, settings_of

        if not (CHECKOUT / "examples" / "hmi_sim").is_dir():
            raise UserError("the simulated HMI lives in the source checkout (examples/hmi_sim); run hmi-agent from a clone")
        if str(CHECKOUT) not in sys.path:  # examples/ is not an installed package
            sys.path.insert(0, str(CHECKOUT))
        from examples.hmi_sim.__main__ import run
        from examples.hmi_sim.journal import JournalError
        from examples.hmi_sim.scenario import DEFAULT_SCENARIO, ScenarioError

        try:
            run(scenario or DEFAULT_SCENARIO, db_url=db or settings_of(ctx).db_url, status_file=status_file, speed=speed, operator=operator)
        except (ScenarioError, JournalError, tkinter.TclError) as e:
            raise UserError(str(e)) from None
        except OSError as e:  # --status-file in a folder that is missing or not writable
            raise UserError(f"cannot write {e.filename}: {e.strerror or e}") from None
