"""`python -m agent.sim [--scenario FILE] [--db URL] [--status-file FILE] [--speed X] [--operator NAME]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.sim.journal import JournalError
from agent.sim.scenario import DEFAULT_SCENARIO, ScenarioError


def run(
    scenario: Path,
    *,
    db_url: str | None,
    status_file: Path | None = None,
    speed: float = 1.0,
    operator: str = "operator",
    start_at: float = 0.0,
    exit_after: float | None = None,
) -> None:
    """Loads the scenario, opens the journal and shows the window until it is closed.

    Raises:
        ScenarioError: the scenario file can't be used.
        JournalError: `db_url` can't be opened.
        tkinter.TclError: there is no display to show the window on.
    """
    from agent.sim.app import HmiWindow
    from agent.sim.journal import Journal
    from agent.sim.plant import Plant
    from agent.sim.scenario import load_scenario

    loaded = load_scenario(scenario)
    plant = Plant(loaded) if db_url is None else Plant(loaded, journal=Journal.open(db_url, area=loaded.area))
    HmiWindow(
        plant, operator=operator, speed=speed, status_file=status_file, start_at=start_at, exit_after=exit_after
    ).run()


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0")
    return value


def main(argv: list[str] | None = None) -> None:
    import tkinter

    parser = argparse.ArgumentParser(prog="python -m agent.sim", description="The simulated HMI.")
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario YAML (default: %(default)s)")
    parser.add_argument("--db", dest="db_url", help="alarm journal database URL; without it nothing is journalled")
    parser.add_argument("--status-file", type=Path, help="JSON file rewritten on every alarm/page/selection change")
    parser.add_argument("--speed", type=_positive, default=1.0, help="scenario seconds per real second")
    parser.add_argument("--start-at", type=float, default=0.0, help="start this many scenario seconds in")
    parser.add_argument("--operator", default="operator", help="name written with acknowledgements")
    parser.add_argument("--exit-after", type=_positive, help="close after this many real seconds")
    args = parser.parse_args(argv)
    try:
        run(**vars(args))
    except (ScenarioError, JournalError, tkinter.TclError) as e:
        print(f"hmi-sim: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
