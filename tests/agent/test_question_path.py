"""A question's path does each piece of work once: tools converted and bound once per agent, the messages converted
once per model turn, the thread's state read once per question, and `ask` makes no events."""

from __future__ import annotations

import pytest

from agent import chat_model, runner
from agent.scripted import tool_call_text

ANSWER = [tool_call_text("final_answer", {"on_screen": "TI-101.HI is active"})]
LOOK_THEN_ANSWER = [tool_call_text("alarm_definition", {"tag": "TI-101.HI"}), *ANSWER]


@pytest.fixture
def counted(monkeypatch):
    """Counts calls of the functions named, where the question's path calls them."""
    counts: dict[str, int] = {}

    def count(owner, name):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            counts[name] = counts.get(name, 0) + 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, wrapper)

    return counts, count


def test_tools_are_bound_once_for_all_questions(make_agent, hmi_png, counted, alarm_tools):
    counts, count = counted
    agent = make_agent(LOOK_THEN_ANSWER, alarm_tools=alarm_tools, repeat_last=False)
    count(chat_model, "tool_schema")
    agent.ask("What does this alarm mean?", image=hmi_png)
    agent.vlm.replies.extend(LOOK_THEN_ANSWER)
    agent.ask("And now?", image=hmi_png)
    assert counts.get("tool_schema", 0) == 0  # bound when the agent was built
    tools_sent = [request["tools"] for request in agent.vlm.requests]
    assert len(tools_sent) == 4 and all(tools is tools_sent[0] for tools in tools_sent)


def test_messages_are_converted_once_per_model_turn(make_agent, hmi_png, counted, alarm_tools):
    counts, count = counted
    agent = make_agent(LOOK_THEN_ANSWER, alarm_tools=alarm_tools)
    count(chat_model, "to_vlm_messages")
    agent.ask("What does this alarm mean?", image=hmi_png)
    assert len(agent.vlm.requests) == 2
    assert counts["to_vlm_messages"] == 2


def test_ask_reads_the_thread_state_once_and_makes_no_events(make_agent, hmi_png, monkeypatch):
    agent = make_agent(ANSWER)
    reads = []
    get_state = agent.graph.get_state
    monkeypatch.setattr(agent.graph, "get_state", lambda *a, **k: reads.append(1) or get_state(*a, **k))

    def no_events(*args, **kwargs):
        raise AssertionError("ask made an event")

    monkeypatch.setattr(runner, "_events", no_events)
    run = agent.ask("What does this alarm mean?", image=hmi_png)
    assert run.answer.on_screen == "TI-101.HI is active"
    assert len(reads) == 1  # a pending approval to withdraw? the only read of the thread's state


def test_stream_and_ask_end_with_the_same_run(make_agent, hmi_png):
    streamed = make_agent(ANSWER)
    events = list(streamed.stream("What does this alarm mean?", image=hmi_png, thread_id="t1"))
    asked = make_agent(ANSWER).ask("What does this alarm mean?", image=hmi_png, thread_id="t1")
    assert [e.kind for e in events][-1] == "answer"
    assert streamed.result("t1").answer == asked.answer
