"""Issue 13 item 3: an approved live action is recorded in its session with its approver, whatever happened in
between (33 other questions evicting the run's context, a restart); an approval names one exact action, is used
once, and expires."""

from __future__ import annotations

import json

import pytest

from agent.approval import ApprovalRefused
from agent.runner import KEPT_CONTEXTS
from agent.scripted import tool_call_text
from tools.actions import ScreenActions

CLICK_ACK = tool_call_text("click", {"x": 859, "y": 875}, text="Acknowledging TI-101.HI should turn its row steady.")
DONE = tool_call_text("final_answer", {"on_screen": "acknowledged"})


def live_actions():
    return ScreenActions(mode="live", screen_size=(640, 400), min_interval=0)


def _manifest(run) -> dict:
    return json.loads((run.session_dir / "manifest.json").read_text())


def _approved_click_is_recorded(manifest: dict, approver: str) -> None:
    approvals = [e for e in manifest["events"] if e["kind"] == "approval"]
    clicks = [e for e in manifest["events"] if e["kind"] == "tool" and e["name"] == "click"]
    assert [(a["decision"], a["operator"]) for a in approvals] == [("approve", approver)]
    assert [(c["executed"], c["approved_by"]) for c in clicks] == [(True, approver)]
    assert manifest["answer"]["on_screen"] == "acknowledged"


@pytest.mark.xvfb
def test_an_approval_after_33_other_questions_is_recorded_in_its_session(make_agent, xvfb):
    import pyautogui

    agent = make_agent([CLICK_ACK, DONE], repeat_last=True, actions=live_actions(), action_mode="live")
    pending = agent.ask("Acknowledge the alarm")
    for n in range(KEPT_CONTEXTS + 1):  # the pending run's context is evicted
        agent.ask(f"What is on the screen? ({n})")
    done = agent.resume(pending.thread_id, "approve", operator="alice", approval_id=pending.approval.approval_id)
    assert pyautogui.position() == (550, 350)
    assert done.session_dir == pending.session_dir
    _approved_click_is_recorded(_manifest(pending), "alice")


@pytest.mark.xvfb
def test_an_approval_after_a_restart_is_recorded_in_its_session(make_agent, xvfb):
    first = make_agent([CLICK_ACK], actions=live_actions(), action_mode="live")
    pending = first.ask("Acknowledge the alarm")
    first.close()
    second = make_agent([DONE], actions=live_actions(), action_mode="live")
    second.resume(pending.thread_id, "approve", operator="bob", approval_id=pending.approval.approval_id)
    _approved_click_is_recorded(_manifest(pending), "bob")
    assert second.actions.history[0].approved_by == "bob"


def test_the_pending_approval_says_what_it_acts_on_and_what_the_model_expects(make_agent):
    agent = make_agent([CLICK_ACK], actions=live_actions(), action_mode="live")
    approval = agent.ask("Acknowledge the alarm").approval
    assert approval.action.kind == "click" and (approval.action.x, approval.action.y) == (550, 350)
    assert approval.expectation == "Acknowledging TI-101.HI should turn its row steady."
    assert len(approval.approval_id) == 24 and approval.session


def test_an_approval_for_another_action_is_refused_and_nothing_runs(make_agent):
    agent = make_agent([CLICK_ACK, DONE], actions=live_actions(), action_mode="live")
    run = agent.ask("Acknowledge the alarm")
    with pytest.raises(ApprovalRefused, match="not for the action waiting now"):
        agent.resume(run.thread_id, "approve", operator="alice", approval_id="0" * 24)
    assert agent.actions.history == [] and agent.result(run.thread_id).pending_action is not None


def test_an_approval_is_single_use(make_agent):
    agent = make_agent([CLICK_ACK, CLICK_ACK, DONE], actions=live_actions(), action_mode="live")
    run = agent.ask("Acknowledge the alarm")
    first_id = run.approval.approval_id
    again = agent.resume(run.thread_id, "reject", operator="alice", approval_id=first_id)
    assert again.approval.approval_id != first_id  # the model asked for the same click again: a new approval
    with pytest.raises(ApprovalRefused, match="not for the action waiting now"):
        agent.resume(run.thread_id, "approve", operator="alice", approval_id=first_id)
    assert agent.actions.history == []


def test_an_expired_approval_is_refused_but_can_still_be_rejected(make_agent):
    now = [1000.0]
    agent = make_agent([CLICK_ACK, DONE], actions=live_actions(), action_mode="live", clock=lambda: now[0],
                       approval_timeout_s=60)
    run = agent.ask("Acknowledge the alarm")
    now[0] += 61
    with pytest.raises(ApprovalRefused, match="longer than the approval timeout"):
        agent.resume(run.thread_id, "approve", operator="alice", approval_id=run.approval.approval_id)
    with pytest.raises(ApprovalRefused, match="timeout"):
        agent.resume(run.thread_id, {"x": 500, "y": 500}, operator="alice", approval_id=run.approval.approval_id)
    done = agent.resume(run.thread_id, "reject", operator="alice", approval_id=run.approval.approval_id)
    assert done.answer.on_screen == "acknowledged" and agent.actions.history == []
