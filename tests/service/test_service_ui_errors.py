"""The web UI's answer to a live capture that fails: a one-line message in the page, not Gradio's bare "Error"."""

from __future__ import annotations

import gradio as gr
import pytest

from agent.web.ui import _follow


def test_a_failed_live_capture_is_told_to_the_operator(make_service, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)  # no X server to capture from
    app, model = make_service()
    with pytest.raises(gr.Error, match="cannot capture the screen"):
        list(_follow(app.state, lambda: app.state.service.ask("What is on the screen?", screen=1), [], None))
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
