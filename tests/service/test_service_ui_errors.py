"""The web UI's answer to a live capture that fails: a one-line message in the page, not Gradio's bare "Error"."""

from __future__ import annotations


def test_a_failed_live_capture_is_one_message_in_the_status_box(make_service, monkeypatch):
    from dataclasses import fields

    from agent.web.ui import Panels, _follow

    monkeypatch.delenv("DISPLAY", raising=False)  # no X server to capture from
    app, model = make_service()
    panels = Panels(**{f.name: f.name for f in fields(Panels)})  # component names stand in for the components
    updates = list(_follow(app.state, panels, lambda: app.state.service.ask("What is on the screen?", screen=1), [], "en"))
    status = updates[-1]["status"]
    assert "The question could not be answered" in status and "cannot capture the screen" in status
    assert all(set(u) <= {"status", "chat", "waiting"} for u in updates)  # no other panel touched
    assert model.requests == []


def test_the_ui_refuses_uploads_larger_than_the_api_does(make_service):
    from fastapi.testclient import TestClient

    from agent.service.api import MAX_IMAGE_BYTES

    app, _ = make_service(with_ui=True)
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        small = client.post("/gradio_api/upload", files={"files": ("hmi.png", b"x" * 1000, "image/png")})
        assert small.status_code == 200, small.text
        huge = client.post("/gradio_api/upload", files={"files": ("hmi.png", b"x" * (MAX_IMAGE_BYTES + 1), "image/png")})
        assert huge.status_code in (400, 413), huge.status_code
