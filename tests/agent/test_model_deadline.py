"""Issue 13 item 2: every model call has an overall deadline (the question's time left), not a per-read one, and
is cancelled there: a server trickling a byte a second ends the question `limited`, recorded, and the queue moves
on to the next operator's question. The local model's generation stops at the deadline too."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PIL import Image

from agent.runner import HmiAgent
from agent.settings import Settings
from perception.vlm.openai_backend import OpenAICompatibleVLM
from perception.vlm.types import ModelDeadlineError
from tests.openai_server import ScriptedServer, serve

HISTORY = [("alarm_history", {"tag": "TI-101.HI", "since": "7d"})]


def test_trickling_server_is_cut_at_the_overall_deadline():
    with serve(ScriptedServer([HISTORY], trickle_s=0.2)) as server:
        vlm = OpenAICompatibleVLM(server.url, "qwen", timeout=60)
        started = time.monotonic()
        with pytest.raises(ModelDeadlineError, match="did not finish within 1.5 s"):
            vlm.generate([{"role": "user", "content": "hi"}], time_limit_s=1.5)
        assert time.monotonic() - started < 3  # each read came within 0.2 s: a per-read timeout never fires
        vlm.close()


def test_a_slow_server_ends_the_question_limited_and_recorded(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'a.sqlite'}", screen_parse=False,
                        max_seconds=2, backend="openai")
    picture = tmp_path / "screen.png"
    Image.new("RGB", (320, 200), "grey").save(picture)
    with serve(ScriptedServer([HISTORY], trickle_s=0.5)) as server:
        agent = HmiAgent(settings, model=OpenAICompatibleVLM(server.url, "qwen"))
        try:
            for _ in range(2):  # the next question is not held behind the first
                started = time.monotonic()
                run = agent.ask("Has TI-101 happened recently?", image=picture)
                assert time.monotonic() - started < 5
                assert run.answer is not None and run.answer.limited
                manifest = json.loads((Path(run.session_dir) / "manifest.json").read_text())
                calls = [e for e in manifest["events"] if e["kind"] == "model"]
                assert "did not finish within" in calls[-1]["error"]
        finally:
            agent.close()


@pytest.mark.slow
def test_local_generation_stops_at_the_deadline(tiny_qwen3vl_dir):
    from perception.vlm.transformers_backend import TransformersQwen3VL

    vlm = TransformersQwen3VL.load(tiny_qwen3vl_dir, min_pixels=16 * 32 * 32, max_pixels=64 * 32 * 32)
    vlm.model.generation_config.min_new_tokens = 4000  # random weights could stop at once; this one must not
    messages = [{"role": "user", "content": [{"type": "image", "image": Image.new("RGB", (256, 256))},
                                             {"type": "text", "text": "describe"}]}]
    started = time.monotonic()
    with pytest.raises(ModelDeadlineError, match="generation was stopped") as stopped:
        vlm.generate(messages, max_new_tokens=4000, time_limit_s=0.5)
    assert time.monotonic() - started < 10
    assert stopped.value.stats.output_tokens < 4000
