"""Re-records the example sessions (regression tests for the agent: `tests/agent/test_example_sessions.py` replays
them strictly). Run after a deliberate prompt/parser change: `python -m examples.sessions.record`.

Each session is a scripted model's decisions (ScriptedModel) against the demo screen and the demo plant database
(examples/plant), recorded exactly as `hmi-agent ask` records.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from agent.runner import HmiAgent
from agent.scripted import ScriptedModel, tool_call_text
from agent.settings import Settings
from examples.screens.generate import demo_screen
from perception.frames import Frame, ScreenGeometry
from storage.db import open_database
from storage.demo import demo_definitions
from storage.demo_manuals import write_demo_manuals
from storage.importing import import_file
from tools.actions import ScreenActions
from tools.alarms import AlarmTools
from tools.manual_files import add_files

HERE = Path(__file__).parent
PLANT = HERE.parent / "plant"
PLANT_NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)  # the demo journal ends in late February 2025

SESSIONS = {
    "alarm-meaning-en": dict(
        question="What does the red alarm mean and has it happened recently?",
        screen_parse=True,
        replies=[
            tool_call_text("alarm_definition", {"tag": "TIC-101.HH"}, text="The banner shows TIC-101.HH, critical, unacknowledged."),
            tool_call_text("alarm_history", {"tag": "TIC-101.HH", "since": "30d"}),
            tool_call_text("final_answer", {
                "on_screen": "TIC-101.HH (reactor R1 temperature high-high, 92.4 °C) is active and unacknowledged.",
                "alarm_tag": "TIC-101.HH", "meaning": "R-101 reactor temperature high-high; the interlock cuts the feed.",
                "recent_history": "Active and unacknowledged since 10:42:07; one earlier activation in the last 30 days "
                                  "(28 Feb, acknowledged in 13 s, cleared after 17 min).",
                "recommended_action": "Check the cooling water pump and valve, put the controller in AUTO, reduce feed if rising.",
                "element_ids": ["BANNER"]}),
        ],
    ),
    "alarm-meaning-zh": dict(
        question="这个红色报警是什么意思？",
        screen_parse=False,
        replies=[
            '<tool_call>{"name": "alarm_definition", "arguments": {"tag": TIC-101.HH}}</tool_call>',  # malformed: retried
            tool_call_text("alarm_definition", {"tag": "TIC-101.HH"}),
            tool_call_text("final_answer", {"on_screen": "TIC-101.HH 反应器温度高高报警，未确认。", "alarm_tag": "TIC-101.HH",
                                            "meaning": "R-101反应器温度高高，联锁将切断进料。",
                                            "recommended_action": "检查冷却水泵和阀门，将控制器切回自动。"}),
        ],
    ),
    "procedure-en": dict(
        question="What is the procedure for this alarm?",
        screen_parse=False,
        replies=[
            tool_call_text("alarm_definition", {"tag": "TIC-101.HH"}, text="The banner shows TIC-101.HH."),
            tool_call_text("search_manuals", {"query": "high temperature alarm procedure", "tag": "TIC-101", "limit": 1}),
            tool_call_text("final_answer", {
                "on_screen": "TIC-101.HH (reactor R1 temperature high-high) is active and unacknowledged.",
                "alarm_tag": "TIC-101.HH", "meaning": "R-101 reactor temperature high-high; the interlock cuts the feed.",
                "recommended_action": "Operating manual p. 5 (4.1 High temperature alarms): check the cooling water pump "
                                      "and valve, put the controller back in AUTO, reduce the feed by 20 % if it keeps "
                                      "rising; at HH do not bypass the interlock, inform the shift supervisor."}),
        ],
    ),
    "ack-simulated": dict(
        question="Acknowledge the reactor alarm",
        screen_parse=False,
        on_screen=True,
        replies=[
            tool_call_text("click", {"x": 1156, "y": 58}, text="ACK is at the top right of the alarm banner, below ALARMS."),
            tool_call_text("final_answer", {"on_screen": "Clicked ACK (simulated: nothing moved).", "alarm_tag": "TIC-101.HH"}),
        ],
    ),
}


class _DemoScreen:
    """The demo picture as if it filled monitor 1 (simulated actions need screen geometry)."""

    def __init__(self, image):
        self.image = image

    def grab(self) -> Frame:
        return Frame(self.image, "screen:1", datetime.now(timezone.utc), ScreenGeometry(0, 0, *self.image.size))


def _with_banner_id(replies: list[str], image) -> list[str]:
    """The model cites the alarm banner by its element number, whatever number the parser gives it."""
    from perception.screen import parse_screen

    banner = next(e.id for e in parse_screen(image).elements if e.kind == "banner")
    return [r.replace('"BANNER"', str(banner)) for r in replies]


def record_all(out: Path = HERE) -> list[Path]:
    image, _ = demo_screen()
    SESSIONS["alarm-meaning-en"]["replies"] = _with_banner_id(SESSIONS["alarm-meaning-en"]["replies"], image)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        db = open_database(f"sqlite:///{Path(scratch) / 'plant.sqlite'}")
        import_file(db, PLANT / "definitions.csv")
        import_file(db, PLANT / "journal.csv")
        add_files(db, write_demo_manuals(Path(scratch) / "manuals", demo_definitions()))  # cited by procedure-en
        for name, spec in SESSIONS.items():
            settings = Settings(data_dir=Path(scratch) / name, screen_parse=spec["screen_parse"], record_sessions=True)
            agent = HmiAgent(
                settings, model=ScriptedModel(spec["replies"]), alarm_tools=AlarmTools(db, clock=lambda: PLANT_NOW),
                actions=ScreenActions(mode="simulated", screen_size=image.size), screen_source=_DemoScreen(image),
            )
            run = agent.ask(spec["question"], image=None if spec.get("on_screen") else image)
            agent.close()
            shutil.rmtree(out / name, ignore_errors=True)
            written.append(Path(shutil.move(run.session_dir, out / name)))
    return written


if __name__ == "__main__":
    for path in record_all():
        print(path)
