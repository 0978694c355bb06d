"""End to end on a virtual display: the simulated HMI runs, the agent captures it with mss, a scripted decision
grounds ACK (0-1000 point), the operator approves, pyautogui clicks for real, the screen and the journal show the
acknowledgement, and the recorded session replays identically."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from agent.replay import replay_session
from agent.runner import HmiAgent
from agent.scripted import ScriptedModel, tool_call_text
from agent.settings import Settings
from perception.capture import ScreenSource
from storage.db import open_database
from tests.simulator import ONE_ALARM_SCENARIO, running_simulator, wait_for
from tools.actions import ScreenActions
from tools.alarms import AlarmTools

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]  # a simulator process on a virtual display


@pytest.fixture
def simulator(xvfb, tmp_path, sqlite_url):
    with running_simulator(tmp_path, sqlite_url, ONE_ALARM_SCENARIO, operator="tester",
                           ready=lambda status: status.get("banner"), ready_what="the simulator's first alarm") as status:
        yield status


def test_agent_acknowledges_the_alarm_on_the_simulator_after_approval(simulator, sqlite_url, tmp_path):
    import pyautogui

    x1, y1, x2, y2 = simulator()["buttons"]["ACK"]
    point = {"x": round((x1 + x2) / 2 / 1280 * 1000), "y": round((y1 + y2) / 2 / 800 * 1000)}  # Qwen's 0-1000 scale
    model = ScriptedModel([tool_call_text("click", point, text="The ACK button is at the bottom left."),
                           tool_call_text("final_answer", {"on_screen": "LT-1 high-high alarm, now acknowledged",
                                                           "alarm_tag": "LT-1.HH"})])
    settings = Settings(data_dir=tmp_path / "data", screen_parse=False, action_mode="live", min_action_interval=0.2)
    agent = HmiAgent(settings, model=model, alarm_tools=AlarmTools(open_database(sqlite_url)), screen_source=ScreenSource(),
                     actions=ScreenActions(mode="live", allowed_regions=[(0, 720, 1280, 800)], min_interval=0.2))

    run = agent.ask("Acknowledge the drum level alarm")
    assert run.pending_action.kind == "click" and simulator()["banner"] is not None  # nothing clicked yet
    run = agent.resume(run.thread_id, "approve", operator="shift-lead")
    agent.close()

    px, py = pyautogui.position()
    assert run.answer.alarm_tag == "LT-1.HH" and x1 <= px < x2 and y1 <= py < y2
    acked = wait_for(lambda: simulator()["banner"] is None and simulator(), what="the acknowledgement")
    assert acked["alarms"][0]["state"] == "ACKED"
    assert agent.actions.history[0].approved_by == "shift-lead"
    tool_result, verify = model.requests[1]["messages"][-2:]  # the click's result, then the look after it
    assert tool_result["role"] == "tool" and "done" in tool_result["content"][0]["text"]
    assert verify["content"][0]["type"] == "image" and "the screen changed" in verify["content"][1]["text"]
    with create_engine(sqlite_url).connect() as conn:
        states = conn.execute(text("SELECT state, operator FROM alarm_events ORDER BY id")).all()
    assert [tuple(r) for r in states] == [("active", None), ("acknowledged", "tester")]

    report = replay_session(run.session_dir, strict=True)
    assert report.ok, report.text()
