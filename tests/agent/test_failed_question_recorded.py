"""Issue 13 item 11: a question that fails (here: the model server is down) records its error in its session
before the error reaches the caller; the CLI says it in one line."""

from __future__ import annotations

import json
import socket

import pytest
from PIL import Image

from agent.runner import HmiAgent
from agent.settings import Settings
from perception.vlm.openai_backend import OpenAICompatibleVLM
from perception.vlm.types import ModelServerError


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_failed_question_records_its_error_in_the_session(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'a.sqlite'}", screen_parse=False)
    picture = tmp_path / "screen.png"
    Image.new("RGB", (320, 200), "grey").save(picture)
    agent = HmiAgent(settings, model=OpenAICompatibleVLM(f"http://127.0.0.1:{closed_port()}/v1", "qwen"))
    try:
        with pytest.raises(ModelServerError):
            agent.ask("What does this alarm mean?", image=picture)
    finally:
        agent.close()
    (session,) = settings.sessions_dir.iterdir()
    manifest = json.loads((session / "manifest.json").read_text())
    assert manifest["error"].startswith("ModelServerError: cannot reach the model server")
    assert manifest["finished_at"] and manifest.get("answer") is None
