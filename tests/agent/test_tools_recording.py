"""Alarm tools over a real SQLite file, session recording, and replay (identical, and strict on a drifted prompt)."""

from __future__ import annotations

import json

import pytest

from agent import prompts
from agent.replay import replay_session
from agent.scripted import tool_call_text

LOOKUPS = [
    tool_call_text("alarm_definition", {"tag": "TI-101.HI"}),
    tool_call_text("alarm_history", {"tag": "TI-101.HI", "since": "30d"}),
    tool_call_text("final_answer", {"on_screen": "TI-101.HI is active and unacknowledged", "alarm_tag": "TI-101.HI",
                                    "meaning": "Reactor temperature high", "recent_history": "2 activations in 30 days",
                                    "recommended_action": "Check cooling water flow and reduce feed"}),
]


def test_alarm_tools_answer_from_the_database(make_agent, alarm_tools, hmi_png):
    agent = make_agent(LOOKUPS, alarm_tools=alarm_tools)
    run = agent.ask("What does this alarm mean and has it happened recently?", image=hmi_png)
    definition, history = (agent.vlm.requests[i]["messages"][-1] for i in (1, 2))
    assert definition["role"] == "tool" and "Check cooling water flow" in definition["content"]
    assert "2 activation(s)" in history["content"]
    assert run.answer.recent_history == "2 activations in 30 days"
    assert [e.label for e in run.answer.evidence] == ["Plant definition of TI-101.HI", "Alarm journal of TI-101.HI, last 30 days"]
    assert [(e.tool, e.arguments) for e in run.answer.evidence][1] == ("alarm_history", {"tag": "TI-101.HI", "since": "30d"})
    assert {t["function"]["name"] for t in agent.vlm.requests[0]["tools"]} >= {"alarm_history", "click", "final_answer"}


def test_a_session_is_recorded_step_by_step(make_agent, alarm_tools, hmi_png):
    agent = make_agent(LOOKUPS, alarm_tools=alarm_tools, record_sessions=True)
    run = agent.ask("What does this alarm mean?", image=hmi_png)
    manifest = json.loads((run.session_dir / "manifest.json").read_text())
    kinds = [e["kind"] for e in manifest["events"] if e["kind"] != "node"]
    assert kinds == ["frame", "model", "tool", "model", "tool", "model", "tool"]
    model = next(e for e in manifest["events"] if e["kind"] == "model")
    assert model["raw"] == LOOKUPS[0] and model["request"]["messages"][1]["images"] == [[640, 400]]
    assert (run.session_dir / manifest["frames"][0]["file"]).is_file()
    assert manifest["answer"]["alarm_tag"] == "TI-101.HI" and manifest["steps"] == 3
    assert {e["name"] for e in manifest["events"] if e["kind"] == "node"} == {"observe", "think", "act", "answer"}


def test_a_recorded_session_replays_identically(make_agent, alarm_tools):
    replies = [tool_call_text("click", {"x": 859, "y": 875}), *LOOKUPS]
    agent = make_agent(replies, alarm_tools=alarm_tools, record_sessions=True)
    run = agent.ask("Acknowledge the alarm, then tell me what it means")  # the (still) screen: a simulated click
    report = replay_session(run.session_dir, strict=True)
    assert report.ok, report.text()
    assert report.steps == 4 and report.answer["alarm_tag"] == "TI-101.HI"


def test_strict_replay_fails_with_a_diff_when_the_prompt_drifted(make_agent, alarm_tools, hmi_png, monkeypatch):
    agent = make_agent(LOOKUPS, alarm_tools=alarm_tools, record_sessions=True)
    session = agent.ask("What does this alarm mean?", image=hmi_png).session_dir
    monkeypatch.setattr(prompts, "SYSTEM_PROMPT", prompts.SYSTEM_PROMPT.replace("control-room operator", "plant operator"))
    strict = replay_session(session, strict=True)
    assert not strict.ok and "drifted" in strict.mismatches[0].detail and "+" in strict.mismatches[0].detail
    assert "plant operator" in strict.mismatches[0].detail
    with pytest.warns(UserWarning, match="drifted"):
        lenient = replay_session(session)
    assert not lenient.ok and lenient.answer["alarm_tag"] == "TI-101.HI"
    assert [m.kind for m in lenient.mismatches] == ["prompt"] * 3
