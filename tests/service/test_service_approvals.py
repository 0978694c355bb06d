"""Approvals over the JSON API (issue 13 items 3 and 4): the approve path on the real pointer (Xvfb), pending actions
listed for any operator view and kept across a restart, an approval bound to its one action and used once, and the
approver taken from a named token (a name in the body is only a note)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from agent.runner import HmiAgent
from agent.scripted import ScriptedModel, tool_call_text
from agent.service.app import create_app
from tests.hmi_picture import StillScreen, render_hmi
from tools.actions import ScreenActions

pytestmark = pytest.mark.anyio

CLICK_ACK = tool_call_text("click", {"x": 859, "y": 875}, text="The ACK button acknowledges TI-101.HI.")
DONE = tool_call_text("final_answer", {"on_screen": "acknowledged"})
ALICE = {"Authorization": "Bearer alice-token-0123456789"}
SHARED = {"Authorization": "Bearer shared-token-0123456789"}


def _app(settings, replies):
    settings = settings.model_copy(update={
        "action_mode": "live", "api_tokens": {"alice": SecretStr("alice-token-0123456789")},
        "api_token": SecretStr("shared-token-0123456789"),
    })
    agent = HmiAgent(settings, model=ScriptedModel(replies, repeat_last=True), screen_source=StillScreen(render_hmi()),
                     actions=ScreenActions(mode="live", screen_size=(640, 400), min_interval=0))
    return create_app(settings, agent=agent), agent


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)), base_url="http://hmi", timeout=30)


def _close(app, agent) -> None:
    app.state.service.queue.close()
    agent.close()


async def _ask_live(client) -> dict:
    response = await client.post("/api/ask", data={"question": "Acknowledge the alarm"}, headers=ALICE)
    assert response.status_code == 200, response.text
    return response.json()


def _events(run: dict, kind: str) -> list[dict]:
    manifest = json.loads((Path(run["session_dir"]) / "manifest.json").read_text())
    return [e for e in manifest["events"] if e["kind"] == kind]


@pytest.mark.xvfb
async def test_approve_from_the_list_clicks_and_records_the_named_token_as_approver(service_settings, xvfb):
    import pyautogui

    app, agent = _app(service_settings, [CLICK_ACK, DONE])
    try:
        async with _client(app) as client:
            run = await _ask_live(client)
            [listed] = (await client.get("/api/approvals", headers=ALICE)).json()
            assert listed["approval_id"] == run["approval"]["approval_id"] and listed["question"] == "Acknowledge the alarm"
            assert listed["expectation"] == "The ACK button acknowledges TI-101.HI." and not listed["expired"]
            url = f"/api/approvals/{listed['approval_id']}/approve"
            done = await client.post(url, json={"operator": "mallory"}, headers=ALICE)
            assert done.status_code == 200, done.text
            assert done.json()["answer"]["on_screen"] == "acknowledged" and pyautogui.position() == (550, 350)
            assert [(a["operator"], a["note"]) for a in _events(run, "approval")] == [("alice", "mallory")]
            assert [t["approved_by"] for t in _events(run, "tool") if t["name"] == "click"] == ["alice"]
            assert (await client.get("/api/approvals", headers=ALICE)).json() == []
            again = await client.post(url, headers=ALICE)  # single use
            assert again.status_code == 404 and "no live action" in again.json()["detail"]
    finally:
        _close(app, agent)


async def test_the_shared_token_approves_as_api_token_not_as_the_body_name(service_settings):
    app, agent = _app(service_settings, [CLICK_ACK, DONE])
    try:
        async with _client(app) as client:
            run = await _ask_live(client)
            url = f"/api/approvals/{run['approval']['approval_id']}/reject"
            assert (await client.post(url, json={"operator": "alice"}, headers=SHARED)).status_code == 200
            assert [(a["operator"], a["note"]) for a in _events(run, "approval")] == [("api-token", "alice")]
    finally:
        _close(app, agent)


async def test_a_pending_action_is_listed_after_a_restart_and_its_rejection_recorded(service_settings):
    app, agent = _app(service_settings, [CLICK_ACK])
    async with _client(app) as client:
        run = await _ask_live(client)
    _close(app, agent)
    app, agent = _app(service_settings, [DONE])
    try:
        async with _client(app) as client:
            [listed] = (await client.get("/api/approvals", headers=ALICE)).json()
            assert listed["thread_id"] == run["thread_id"]
            done = await client.post(f"/api/approvals/{listed['approval_id']}/reject", headers=ALICE)
            assert done.status_code == 200 and done.json()["answer"]["on_screen"] == "acknowledged"
            assert [(a["decision"], a["operator"]) for a in _events(run, "approval")] == [("reject", "alice")]
    finally:
        _close(app, agent)


async def test_an_approval_without_or_with_another_action_id_is_refused(service_settings):
    app, agent = _app(service_settings, [CLICK_ACK, DONE])
    try:
        async with _client(app) as client:
            run = await _ask_live(client)
            url = f"/api/threads/{run['thread_id']}/approve"
            unnamed = await client.post(url, headers=ALICE)
            assert unnamed.status_code == 422 and "approval_id" in unnamed.json()["detail"]
            other = await client.post(url, json={"approval_id": "f" * 24}, headers=ALICE)
            assert other.status_code == 409 and "not for the action waiting now" in other.json()["detail"]
            assert agent.actions.history == [] and len((await client.get("/api/approvals", headers=ALICE)).json()) == 1
            assert (await client.post("/api/approvals/..%2Fetc/approve", headers=ALICE)).status_code == 404
    finally:
        _close(app, agent)


async def test_an_expired_approval_is_refused_with_409(service_settings):
    app, agent = _app(service_settings.model_copy(update={"approval_timeout_s": 0.001}), [CLICK_ACK, DONE])
    try:
        async with _client(app) as client:
            run = await _ask_live(client)
            [listed] = (await client.get("/api/approvals", headers=ALICE)).json()
            assert listed["expired"]
            refused = await client.post(f"/api/approvals/{run['approval']['approval_id']}/approve", headers=ALICE)
            assert refused.status_code == 409 and "approval timeout" in refused.json()["detail"]
            assert agent.actions.history == []
    finally:
        _close(app, agent)
