"""Agent overhead per step, excluding model time: what the graph, the tools, the session recording and the
SQLite checkpointer add around each model call. The model is a ScriptedModel (no inference), so everything
measured is ours.

    .venv/bin/python bench/agent_overhead.py [--questions 10] [--parse]

Each question: 1280x800 demo screen, 4 model turns (alarm_definition, alarm_history, a simulated click, final_answer)
against the demo plant database. Prints seconds per step by node, model time excluded, for: no recording +
in-memory checkpointer, recording + SQLite checkpointer (the default), and (--parse) with OCR screen parsing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from agent.runner import HmiAgent  # noqa: E402
from agent.scripted import ScriptedModel, tool_call_text  # noqa: E402
from agent.settings import Settings  # noqa: E402
from examples.screens.generate import demo_screen  # noqa: E402
from examples.sessions.record import PLANT, PLANT_NOW, _DemoScreen  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.importing import import_file  # noqa: E402
from tools.actions import ScreenActions  # noqa: E402
from tools.alarms import AlarmTools  # noqa: E402

REPLIES = [
    tool_call_text("alarm_definition", {"tag": "TIC-101.HH"}),
    tool_call_text("alarm_history", {"tag": "TIC-101.HH", "since": "30d"}),
    tool_call_text("click", {"x": 903, "y": 74}),
    tool_call_text("final_answer", {"on_screen": "TIC-101.HH active", "alarm_tag": "TIC-101.HH"}),
]
NODES = ("observe", "think", "act", "verify", "answer")


def run_config(name: str, questions: int, scratch: Path, db, *, record: bool, sqlite: bool, parse: bool) -> dict:
    image, _ = demo_screen()
    settings = Settings(data_dir=scratch / name, record_sessions=record, screen_parse=parse)
    per_node = {n: [] for n in (*NODES, "model", "overhead", "wall")}
    for _ in range(questions):
        agent = HmiAgent(
            settings, model=ScriptedModel(REPLIES), checkpointer=None if sqlite else InMemorySaver(),
            alarm_tools=AlarmTools(db, clock=lambda: PLANT_NOW), screen_source=_DemoScreen(image),
            actions=ScreenActions(mode="simulated", screen_size=image.size),
        )
        started = time.perf_counter()
        run = agent.ask("What does the red alarm mean? Acknowledge it.")
        wall = time.perf_counter() - started
        agent.close()
        steps = run.steps
        for node in NODES:
            per_node[node].append(run.timings.get(node, 0.0) / steps)
        per_node["think"][-1] -= run.timings["model"] / steps  # think without the model call itself
        per_node["model"].append(run.timings["model"] / steps)
        per_node["wall"].append(wall / steps)
        per_node["overhead"].append((wall - run.timings["model"]) / steps)
    return {k: statistics.median(v) for k, v in per_node.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--parse", action="store_true", help="also measure with OCR screen parsing (slow)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        db = open_database(f"sqlite:///{scratch / 'plant.sqlite'}")
        import_file(db, PLANT / "definitions.csv")
        import_file(db, PLANT / "journal.csv")
        configs = [("bare: memory checkpointer, no recording", dict(record=False, sqlite=False, parse=False)),
                   ("default: SQLite checkpointer + recording", dict(record=True, sqlite=True, parse=False))]
        if args.parse:
            configs.append(("default + OCR screen parse", dict(record=True, sqlite=True, parse=True)))
        rows = [(label, run_config(f"c{i}", args.questions, scratch, db, **kw)) for i, (label, kw) in enumerate(configs)]
    print(f"agent overhead per step (ms, median of {args.questions} questions x 4 steps; 1280x800 frame; "
          f"{datetime.now(timezone.utc):%Y-%m-%d})")
    header = f"{'configuration':42s}" + "".join(f"{c:>9s}" for c in (*NODES, "overhead", "model"))
    print(header)
    for label, row in rows:
        print(f"{label:42s}" + "".join(f"{row[c] * 1000:9.1f}" for c in (*NODES, "overhead", "model")))
    print("overhead = wall time per step minus model time (graph, tools, PNG encoding, recording, checkpointing)")


if __name__ == "__main__":
    main()
