"""The service comes up at once whatever the model's state (issue 13 item 10, docs/two-speeds.md): /healthz says
"loading", "ready" or "unavailable: <why and the fixing command>", and questions get the screen parser's draft
until the model is ready; alarm definitions, history and sessions work meanwhile. Real app, real SQLite, real
agent graph; only the model's decisions are scripted."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from PIL import Image

from agent.scripted import ScriptedModel
from agent.service.app import LOADING_NOTE, create_app
from tests.service.conftest import ASK_REPLIES, png_bytes
from tests.service.test_service_api import client_of

pytestmark = pytest.mark.anyio
QUESTION = "What does TI-101.HI mean?"


async def _health_until(client, done, seconds: float = 120.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        health = (await client.get("/healthz")).json()
        if done(health["model_state"]) or time.monotonic() > deadline:
            return health
        await asyncio.sleep(0.05)


async def _ask(client) -> dict:
    files = {"image": ("screen.png", png_bytes(Image.new("RGB", (320, 200), "grey")), "image/png")}
    response = await client.post("/api/ask", data={"question": QUESTION}, files=files)
    assert response.status_code == 200, response.text
    return response.json()["answer"]


@pytest.mark.slow
async def test_without_the_model_installed_the_service_is_up_says_why_and_answers_with_drafts(service_settings):
    app = create_app(service_settings.model_copy(update={"model": "nobody/Qwen3-VL-404B"}))
    try:
        async with client_of(app) as client:
            health = await _health_until(client, lambda state: state != "loading")
            assert health["ok"] and health["model"] is None
            assert health["model_state"].startswith("unavailable: model 'nobody/Qwen3-VL-404B' is not in the local cache")
            assert "hmi-agent model pull 2b" in health["model_state"]
            answer = await _ask(client)
            assert answer["source"] == "parser" and answer["alarm_tag"].startswith("TI-101") and answer["meaning"]
            assert sum("hmi-agent model pull 2b" in note for note in answer["notes"]) == 1
            assert (await client.get("/api/alarms/TI-101.HI/definition")).status_code == 200
            assert (await client.get("/api/sessions")).json()
    finally:
        app.state.service.agent.close()
        app.state.service.queue.close()


async def test_while_the_model_loads_questions_get_drafts_then_the_model_answers(service_settings, monkeypatch):
    import agent.model_state

    release = threading.Event()
    model = ScriptedModel(ASK_REPLIES)

    def slow_load(settings, *, long_running=False):
        release.wait(60)
        return model, None

    monkeypatch.setattr(agent.model_state, "load_or_explain", slow_load)
    app = create_app(service_settings)
    try:
        async with client_of(app) as client:
            assert (await client.get("/healthz")).json()["model_state"] == "loading"
            draft = await _ask(client)
            assert draft["source"] == "parser" and draft["notes"][-1] == LOADING_NOTE and model.requests == []
            release.set()
            health = await _health_until(client, lambda state: state == "ready", seconds=30)
            assert health["model_state"] == "ready" and health["model"] == "scripted"
            answer = await _ask(client)
            assert answer["source"] == "model" and len(model.requests) == 3
    finally:
        release.set()
        app.state.service.agent.close()
        app.state.service.queue.close()


async def test_backend_none_says_so_in_healthz(service_settings):
    app = create_app(service_settings.model_copy(update={"backend": "none"}))
    try:
        async with client_of(app) as client:
            health = (await client.get("/healthz")).json()
            assert health["model_state"] == "none"
            answer = await _ask(client)
            assert answer["source"] == "parser" and any("HMI_AGENT_BACKEND=none" in n for n in answer["notes"])
    finally:
        app.state.service.agent.close()
        app.state.service.queue.close()


async def test_the_stream_endpoint_sends_the_draft_first_then_the_model_answer_then_the_run(make_service):
    app, model = make_service(screen_parse=True)
    files = {"image": ("screen.png", png_bytes(Image.new("RGB", (320, 200), "grey")), "image/png")}
    async with client_of(app) as client:
        response = await client.post("/api/ask/stream", data={"question": QUESTION}, files=files)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    kinds = [line["kind"] for line in lines]
    assert kinds[:2] == ["step", "draft"] and kinds.index("draft") < kinds.index("model") and kinds[-2:] == ["answer", "run"]
    assert lines[1]["data"]["source"] == "parser" and lines[1]["data"]["alarm_tag"].startswith("TI-101")
    assert lines[-1]["data"]["answer"]["source"] == "model" and len(model.requests) == 3


async def test_the_ui_says_the_model_state_unless_it_is_ready():
    from types import SimpleNamespace

    from agent.web.ui import _model_line

    assert _model_line(SimpleNamespace(model_state=lambda: "ready")) == ""
    line = _model_line(SimpleNamespace(model_state=lambda: "unavailable: model 'x' is not in the local cache"))
    assert line.startswith("Model: unavailable: model 'x' is not in the local cache") and "drafts" in line
