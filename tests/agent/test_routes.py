"""Each route of the graph with a scripted model: direct answer, tool → answer, retries, limits, approvals, threads."""

from __future__ import annotations

import itertools

from agent.scripted import tool_call_text

FINAL = tool_call_text("final_answer", {"on_screen": "TI-101.HI high alarm is active", "alarm_tag": "TI-101.HI",
                                         "meaning": "reactor temperature above 95 C", "recommended_action": "check cooling"})


def test_plain_text_reply_is_the_answer(make_agent, hmi_png):
    agent = make_agent(["The screen shows a high temperature alarm on TI-101."])
    run = agent.ask("What is on the screen?", image=hmi_png)
    assert run.answer.on_screen.startswith("The screen shows")
    assert run.answer.language == "en" and not run.answer.limited and run.steps == 1


def test_final_answer_tool_gives_the_structured_answer(make_agent, hmi_png):
    agent = make_agent([FINAL])
    run = agent.ask("What does this alarm mean?", image=hmi_png)
    assert run.answer.alarm_tag == "TI-101.HI"
    assert "Meaning: reactor temperature above 95 C" in run.answer.text


def test_unparsable_reply_is_corrected_then_answered(make_agent, hmi_png):
    agent = make_agent(['<tool_call>{"name": "final_answer", "arguments": {on_screen: x}}</tool_call>', FINAL])
    run = agent.ask("What does this alarm mean?", image=hmi_png)
    assert run.answer.alarm_tag == "TI-101.HI" and run.steps == 2
    correction = agent.vlm.requests[1]["messages"][-1]
    assert correction["role"] == "user" and "could not be used" in correction["content"]


def test_bad_arguments_and_unknown_tool_go_back_as_tool_errors(make_agent, hmi_png):
    agent = make_agent([tool_call_text("final_answer", {"alarm_tag": "X"}), tool_call_text("open_valve", {}), FINAL])
    run = agent.ask("What does this alarm mean?", image=hmi_png)
    assert run.answer.alarm_tag == "TI-101.HI"
    second, third = agent.vlm.requests[1]["messages"][-1], agent.vlm.requests[2]["messages"][-1]
    assert second["role"] == "tool" and "bad arguments for final_answer" in second["content"] and "on_screen" in second["content"]
    assert "no tool named 'open_valve'" in third["content"]


def test_repeated_mistakes_stop_with_a_limited_answer(make_agent, hmi_png):
    agent = make_agent(["<tool_call>{broken</tool_call>"], repeat_last=True, max_retries=2)
    run = agent.ask("What does this alarm mean?", image=hmi_png)
    assert run.answer.limited and run.steps == 3
    assert "unusable model replies" in run.answer.on_screen


def test_step_limit_gives_a_limited_answer(make_agent, hmi_png):
    agent = make_agent([tool_call_text("press_key", {"key": "f5"})], repeat_last=True, max_steps=3)
    run = agent.ask("Keep looking")  # the (still) screen: simulated key presses succeed, so only the step limit stops it
    assert run.answer.limited and run.steps == 3 and "step limit" in run.answer.on_screen
    assert len(agent.actions.history) == 3


def test_time_limit_gives_a_limited_answer(make_agent, hmi_png):
    ticks = itertools.count(0, 50)  # every clock read is 50 s later
    agent = make_agent([tool_call_text("press_key", {"key": "f5"})], repeat_last=True, clock=lambda: next(ticks), max_seconds=120)
    run = agent.ask("Keep looking")
    assert run.answer.limited and "time limit" in run.answer.on_screen and run.steps < agent.settings.max_steps


def test_chinese_question_gets_a_chinese_answer(make_agent, hmi_png):
    agent = make_agent([tool_call_text("final_answer", {"on_screen": "反应器温度高报警", "alarm_tag": "TI-101.HI"})])
    run = agent.ask("这个报警是什么意思？", image=hmi_png)
    assert run.answer.language == "zh"
    assert run.answer.text.startswith("画面内容：反应器温度高报警")
    assert "Chinese" in agent.vlm.requests[0]["messages"][0]["content"]


def test_follow_up_on_the_same_thread_sees_the_earlier_turns(make_agent, hmi_png):
    agent = make_agent([FINAL, tool_call_text("final_answer", {"on_screen": "no repeats last month"})])
    first = agent.ask("What does this alarm mean?", image=hmi_png)
    second = agent.ask("and last month?", image=hmi_png, thread_id=first.thread_id)
    assert second.answer.on_screen == "no repeats last month"
    texts = [str(m["content"]) for m in agent.vlm.requests[1]["messages"]]
    assert any("What does this alarm mean?" in t for t in texts) and any("check cooling" in t for t in texts)
    assert sum(m["role"] == "user" for m in agent.vlm.requests[1]["messages"]) == 2


def test_stream_yields_events_for_live_uis(make_agent, alarm_tools, hmi_png):
    from tools.actions import ScreenActions

    agent = make_agent([tool_call_text("alarm_definition", {"tag": "TI-101.HI"}), tool_call_text("click", {"x": 859, "y": 875})],
                       alarm_tools=alarm_tools, action_mode="live",
                       actions=ScreenActions(mode="live", screen_size=(640, 400), min_interval=0))
    events = list(agent.stream("Acknowledge TI-101", thread_id="t1"))
    assert [e.kind for e in events] == ["step", "model", "tool_call", "tool_result", "model", "tool_call", "approval"]
    assert events[3].data["text"].startswith("'TI-101.HI' matched") and not events[3].data["error"]
    assert events[-1].data["action"]["reason"] == "left-click (550, 350)"


def test_the_thread_checkpoint_keeps_only_the_screenshots_the_model_still_sees(make_agent):
    click = tool_call_text("click", {"x": 500, "y": 500})  # simulated: each result carries a drawn picture
    agent = make_agent([click, click, FINAL, click, FINAL])
    thread = agent.ask("Click the middle twice").thread_id
    agent.ask("And once more", thread_id=thread)
    images = [b for m in agent.history(thread) if isinstance(m.content, list) for b in m.content if b.get("type") == "image"]
    assert len(images) == 2  # older ones were never sent again (to_vlm_messages keeps the last 2) — nor stored
    last_request = agent.vlm.requests[-1]["messages"]
    assert sum(1 for m in last_request if isinstance(m["content"], list) for b in m["content"] if b["type"] == "image") == 2
    assert any(b.get("text") == "[earlier screenshot omitted]" for m in last_request if isinstance(m["content"], list) for b in m["content"])
