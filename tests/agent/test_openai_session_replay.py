"""Issue 13 item 7: a session recorded on the OpenAI-compatible backend, whose server answers with structured
`tool_calls` (vLLM with a tool parser), records what replay needs: replaying it makes the same calls and answer."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from agent.replay import replay_session
from agent.runner import HmiAgent
from agent.settings import Settings
from perception.vlm.openai_backend import OpenAICompatibleVLM
from tests.openai_server import ScriptedServer, serve
from tests.service.conftest import seed_alarm_db

ANSWER = {
    "on_screen": "Alarm banner TI-101.HI", "alarm_tag": "TI-101.HI", "meaning": "Reactor temperature above 95 C",
    "recent_history": "3 activations in the last 7 days", "recommended_action": "Open cooling valve TV-101",
}
SCRIPT = [
    [("alarm_definition", {"tag": "TI-101.HI"})],
    [("alarm_history", {"tag": "TI-101.HI", "since": "7d"})],
    [("final_answer", ANSWER)],
]


def test_structured_tool_calls_are_recorded_and_replay(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", db_url=seed_alarm_db(tmp_path), screen_parse=False)
    picture = tmp_path / "screen.png"
    Image.new("RGB", (320, 200), "grey").save(picture)
    with serve(ScriptedServer(SCRIPT)) as server:
        agent = HmiAgent(settings, model=OpenAICompatibleVLM(server.url, "qwen"))
        try:
            run = agent.ask("What does this alarm mean and has it happened recently?", image=picture)
        finally:
            agent.close()
    assert run.answer is not None and run.answer.alarm_tag == "TI-101.HI" and run.steps == 3
    manifest = json.loads((Path(run.session_dir) / "manifest.json").read_text())
    raws = [e["raw"] for e in manifest["events"] if e["kind"] == "model"]
    assert all("<tool_call>" in raw for raw in raws)  # was "": the calls came outside the text

    report = replay_session(run.session_dir, strict=True)
    assert report.ok, report.text()
    assert report.steps == 3 and report.answer["alarm_tag"] == "TI-101.HI"
