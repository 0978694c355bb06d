"""Live actions pause for the operator (LangGraph interrupt): reject tells the model, approve clicks for real."""

from __future__ import annotations

import pytest

from agent.scripted import tool_call_text
from tests.hmi_picture import StillScreen, render_hmi
from tools.actions import ScreenActions

CLICK_ACK = tool_call_text("click", {"x": 859, "y": 875})  # the ACK button of render_hmi, 0-1000 scale
DONE = tool_call_text("final_answer", {"on_screen": "done"})


def live_actions():
    return ScreenActions(mode="live", screen_size=(640, 400), min_interval=0)


def test_live_action_waits_for_approval_and_reject_is_told_to_the_model(make_agent):
    agent = make_agent([CLICK_ACK, DONE], actions=live_actions(), action_mode="live")
    run = agent.ask("Acknowledge the alarm")
    assert run.answer is None and run.pending_action.kind == "click"
    assert (run.pending_action.x, run.pending_action.y) == (550, 350)
    done = agent.resume(run.thread_id, "reject", operator="alice")
    assert done.answer.on_screen == "done" and agent.actions.history == []
    told = agent.vlm.requests[1]["messages"][-1]
    assert told["role"] == "tool" and "alice rejected" in told["content"]


def test_resume_after_a_restart_uses_the_checkpointed_thread(make_agent):
    first = make_agent([CLICK_ACK], actions=live_actions(), action_mode="live")
    run = first.ask("Acknowledge the alarm")
    first.close()
    second = make_agent([DONE], actions=live_actions(), action_mode="live")
    assert second.result(run.thread_id).pending_action.x == 550
    assert second.resume(run.thread_id, "reject", operator="bob").answer.on_screen == "done"


def test_bad_decisions_are_refused(make_agent):
    agent = make_agent([CLICK_ACK], actions=live_actions(), action_mode="live")
    run = agent.ask("Acknowledge the alarm")
    with pytest.raises(ValueError, match="maybe"):
        agent.resume(run.thread_id, "maybe", operator="alice")
    with pytest.raises(ValueError, match="no action waiting"):
        agent.resume("other-thread", "approve", operator="alice")


@pytest.mark.xvfb
def test_approved_action_is_executed_and_recorded_with_the_approver(make_agent, xvfb):
    import pyautogui

    agent = make_agent([CLICK_ACK, tool_call_text("click", {"x": 100, "y": 100}), DONE], actions=live_actions(),
                       action_mode="live", screen_source=StillScreen(render_hmi()))
    run = agent.ask("Acknowledge the alarm")
    run = agent.resume(run.thread_id, "approve", operator="alice")
    assert pyautogui.position() == (550, 350)
    assert run.pending_action.x == 64  # the second click waits too; the operator moves it
    run = agent.resume(run.thread_id, {"x": 500, "y": 500}, operator="bob")
    assert pyautogui.position() == (320, 200) and run.answer.on_screen == "done"
    assert [(r.approved_by, r.mode) for r in agent.actions.history] == [("alice", "live"), ("bob", "live")]


def test_time_spent_waiting_for_approval_does_not_count_against_the_time_limit(make_agent):
    now = [1000.0]
    agent = make_agent([CLICK_ACK, DONE], actions=live_actions(), action_mode="live", clock=lambda: now[0], max_seconds=120)
    run = agent.ask("Acknowledge the alarm")
    now[0] += 600  # the operator took ten minutes to decide
    done = agent.resume(run.thread_id, "reject", operator="alice")
    assert not done.answer.limited and done.answer.on_screen == "done"


def test_a_new_question_withdraws_the_action_waiting_for_approval(make_agent):
    agent = make_agent([CLICK_ACK, DONE], actions=live_actions(), action_mode="live")
    run = agent.ask("Acknowledge the alarm")
    follow_up = agent.ask("What is on the screen?", thread_id=run.thread_id)
    assert follow_up.answer.on_screen == "done" and agent.actions.history == []
    messages = agent.vlm.requests[1]["messages"]
    click = next(m for m in messages if m.get("tool_calls"))
    answered = [m for m in messages if m["role"] == "tool" and m["tool_call_id"] == click["tool_calls"][0]["id"]]
    assert len(answered) == 1 and "Not carried out" in answered[0]["content"]  # every tool call gets its result
    with pytest.raises(ValueError, match="no action waiting"):
        agent.resume(run.thread_id, "approve", operator="alice")
