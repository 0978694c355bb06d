"""The JSON API end to end: a real HmiAgent (scripted model decisions), real SQLite alarms, real session records."""

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
from tests.service.conftest import png_bytes
from tools.actions import ScreenActions

pytestmark = pytest.mark.anyio

ALICE_TOKEN = "alice-token-0123456789"


def client_of(app, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url="http://hmi", timeout=30)


async def ask(client, question: str, png: bytes | None, **form) -> httpx.Response:
    files = {"image": ("hmi.png", png, "image/png")} if png is not None else None
    return await client.post("/api/ask", data={"question": question, **form}, files=files)


async def test_ask_with_an_upload_answers_with_evidence_and_records_the_session(make_service):
    app, model = make_service()
    async with client_of(app) as client:
        response = await ask(client, "What does this alarm mean and has it happened recently?", png_bytes(render_hmi()))
        assert response.status_code == 200, response.text
        run = response.json()
        assert run["answer"]["alarm_tag"] == "TI-101.HI" and run["steps"] == 3 and run["pending_action"] is None
        assert "Open cooling valve TV-101" in run["answer"]["text"]
        tool_messages = [m for m in model.requests[2]["messages"] if m["role"] == "tool"]
        assert "Reactor temperature high" in tool_messages[0]["content"]  # the real definition reached the model
        manifest = json.loads((Path(run["session_dir"]) / "manifest.json").read_text())
        assert manifest["thread_id"] == run["thread_id"] and manifest["answer"]["alarm_tag"] == "TI-101.HI"

        follow_up = await ask(client, "这个报警最近发生过吗？", png_bytes(render_hmi()), thread_id=run["thread_id"])
        assert follow_up.status_code == 200 and follow_up.json()["thread_id"] == run["thread_id"]
        assert follow_up.json()["answer"]["language"] == "zh"


async def test_bad_uploads_and_questions_are_clear_400s(make_service):
    app, _ = make_service()
    async with client_of(app) as client:
        bad = await ask(client, "what is this?", b"not a picture")
        assert bad.status_code == 400 and bad.json()["detail"] == "'hmi.png' is not a readable PNG or JPEG image"
        assert (await ask(client, "", png_bytes(render_hmi()))).status_code == 422
        assert (await ask(client, "  \n ", png_bytes(render_hmi()))).status_code == 422  # blank is empty too


async def test_a_screen_that_cannot_be_captured_is_a_clear_400(make_service, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)  # no X server to capture from
    app, model = make_service()
    async with client_of(app) as client:
        response = await ask(client, "What is on the screen?", None, screen=3)
        assert response.status_code == 400 and "screen" in response.json()["detail"]
        assert model.requests == []


async def test_alarm_definition_and_history_come_from_the_database(make_service):
    app, _ = make_service()
    async with client_of(app) as client:
        definition = (await client.get("/api/alarms/TI-101.HI/definition")).json()
        assert definition["definitions"][0]["description_zh"] == "反应器温度高"
        history = (await client.get("/api/alarms/TI-101/history", params={"since": "7d", "limit": 5})).json()
        assert history["activations"] == 3 and len(history["recent"]) == 3
        unknown = await client.get("/api/alarms/XX-999/definition")
        assert unknown.status_code == 404 and "'XX-999'" in unknown.json()["detail"]


async def test_sessions_list_detail_and_frames(make_service):
    app, _ = make_service()
    async with client_of(app) as client:
        run = (await ask(client, "What does this alarm mean?", png_bytes(render_hmi()))).json()
        session_id = Path(run["session_dir"]).name
        listing = (await client.get("/api/sessions")).json()
        assert [s["id"] for s in listing] == [session_id] and listing[0]["answer"].startswith("On screen")
        manifest = (await client.get(f"/api/sessions/{session_id}")).json()
        kinds = [e["kind"] for e in manifest["events"]]
        assert kinds.count("model") == 3 and kinds.count("tool") == 3  # definition, history, final_answer
        frame = await client.get(f"/api/sessions/{session_id}/files/{manifest['frames'][0]['file']}")
        assert frame.status_code == 200 and frame.content.startswith(b"\x89PNG")
        for path in ("/api/sessions/nope", f"/api/sessions/{session_id}/files/..%2F..%2Fsecret.png", f"/api/sessions/{session_id}/files/manifest.json"):
            assert (await client.get(path)).status_code == 404, path


async def test_parse_returns_numbered_elements(make_service):
    app, _ = make_service()
    async with client_of(app) as client:
        response = await client.post("/api/parse", files={"image": ("hmi.png", png_bytes(render_hmi()), "image/png")})
    assert response.status_code == 200, response.text
    parse = response.json()
    assert (parse["width"], parse["height"]) == (640, 400)
    assert [e["id"] for e in parse["elements"]] == list(range(1, len(parse["elements"]) + 1))
    assert any("TI-101" in e["text"] for e in parse["elements"])


async def test_a_pending_live_action_is_rejected_by_alices_token_and_an_unknown_thread_is_a_404(service_settings):
    settings = service_settings.model_copy(update={"action_mode": "live", "api_tokens": {"alice": SecretStr(ALICE_TOKEN)}})
    model = ScriptedModel([tool_call_text("click", {"x": 859, "y": 875}), tool_call_text("final_answer", {"on_screen": "left as is"})])
    agent = HmiAgent(
        settings, model=model, screen_source=StillScreen(render_hmi()),
        actions=ScreenActions(mode="live", screen_size=(640, 400), min_interval=0),
    )
    app = create_app(settings, agent=agent)
    try:
        async with client_of(app) as client:
            client.headers["Authorization"] = f"Bearer {ALICE_TOKEN}"
            run = (await ask(client, "Acknowledge the alarm", None)).json()  # live screen
            assert run["answer"] is None and run["pending_action"]["kind"] == "click"
            nothing = await client.post("/api/threads/other-thread/approve", json={"approval_id": "0" * 24})
            assert nothing.status_code == 404 and "no action waiting" in nothing.json()["detail"]
            done = await client.post(f"/api/threads/{run['thread_id']}/reject", json={"operator": "bob"})
            assert done.status_code == 200 and done.json()["answer"]["on_screen"] == "left as is"
            assert "alice rejected" in model.requests[1]["messages"][-1]["content"]  # the token's name, not the body's
            assert (await client.post(f"/api/threads/{run['thread_id']}/maybe")).status_code == 422
    finally:
        app.state.service.queue.close()
        agent.close()


async def test_openapi_schema_lists_the_api(make_service):
    app, _ = make_service()
    async with client_of(app) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    for path in ("/api/ask", "/api/parse", "/api/alarms/{tag}/history", "/api/alarms/{tag}/definition", "/api/sessions",
                 "/api/sessions/{session_id}", "/api/threads/{thread_id}/{decision}"):
        assert path in paths, path


def test_the_approver_is_who_the_credentials_say_and_a_body_name_is_only_a_note():
    from starlette.requests import Request

    from agent.service.api import Decision, _approver

    logged_in = Request({"type": "http", "hmi_user": "op"})
    assert _approver(logged_in, Decision(operator="alice")) == ("op", "alice")
    assert _approver(logged_in, Decision()) == ("op", None)
    assert _approver(Request({"type": "http"}), Decision(operator="alice", note="night shift")) == ("anonymous", "alice / night shift")
