"""The real transformers Qwen3-VL code path (tiny random weights) through the whole graph and the CLI.

Its text is gibberish: assert that the run ends gracefully and is recorded, never on the words.
"""

from __future__ import annotations

import json

import pytest

from agent.runner import HmiAgent
from agent.settings import Settings
from perception.vlm.transformers_backend import TransformersQwen3VL
from tests.agent.conftest import NoAlarmTools
from tests.hmi_picture import render_hmi


@pytest.fixture(scope="module")
def tiny_model(tiny_qwen3vl_dir):
    return TransformersQwen3VL.load(tiny_qwen3vl_dir, device="cpu", min_pixels=64 * 32 * 32, max_pixels=128 * 32 * 32)


def test_tiny_qwen3vl_runs_through_the_graph(tiny_model, tmp_path):
    settings = Settings(data_dir=tmp_path, screen_parse=False, max_new_tokens=12, max_steps=2)
    agent = HmiAgent(settings, model=tiny_model, alarm_tools=NoAlarmTools())
    run = agent.ask("What does this alarm mean?", image=render_hmi((320, 200)))
    agent.close()
    assert run.answer is not None and run.answer.language == "en" and 1 <= run.steps <= 2
    manifest = json.loads((run.session_dir / "manifest.json").read_text())
    calls = [e for e in manifest["events"] if e["kind"] == "model"]
    assert calls and all(isinstance(c["raw"], str) for c in calls)
    stats = [c["stats"] or {} for c in calls]
    assert stats[0]["vision_tokens"] > 0 and stats[0]["input_tokens"] > stats[0]["vision_tokens"]
    assert 0 < stats[0]["output_tokens"] <= 12


def test_cli_ask_with_a_model_directory_prints_the_answer_json(tiny_qwen3vl_dir, tmp_path, monkeypatch, capsys):
    from agent.cli import main

    render_hmi((320, 200)).save(tmp_path / "screen.png")
    monkeypatch.setenv("HMI_AGENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HMI_AGENT_DB_URL", f"sqlite:///{tmp_path / 'plant.sqlite'}")
    monkeypatch.setenv("HMI_AGENT_MAX_NEW_TOKENS", "8")
    monkeypatch.setenv("HMI_AGENT_MAX_STEPS", "1")
    monkeypatch.setenv("HMI_AGENT_SCREEN_PARSE", "false")
    monkeypatch.setenv("HMI_AGENT_DEVICE", "cpu")
    monkeypatch.setenv("HMI_AGENT_MAX_PIXELS", str(128 * 32 * 32))
    monkeypatch.setenv("HMI_AGENT_MIN_PIXELS", str(64 * 32 * 32))
    with pytest.raises(SystemExit) as exit_:
        main(["ask", "这是什么报警？", "--image", str(tmp_path / "screen.png"), "--model", str(tiny_qwen3vl_dir), "--json"])
    assert exit_.value.code == 0
    run = json.loads(capsys.readouterr().out)
    assert run["answer"]["language"] == "zh" and run["steps"] == 1 and run["session_dir"]


def test_cli_without_the_model_installed_answers_with_the_draft_and_says_once_how_to_install_it(tmp_path, monkeypatch, capsys):
    from agent.cli import main

    render_hmi((320, 200)).save(tmp_path / "screen.png")
    monkeypatch.setenv("HMI_AGENT_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exit_:
        main(["--db", f"sqlite:///{tmp_path / 'alarms.sqlite'}", "ask", "what?", "--image", str(tmp_path / "screen.png"),
              "--model", "nobody/Qwen3-VL-404B"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "screen parser, no model" in out
    assert out.count("'nobody/Qwen3-VL-404B' is not in the local cache") == 1 and "hmi-agent model pull 2b" in out


@pytest.mark.xvfb
def test_cli_watch_answers_when_the_screen_is_new(xvfb, tiny_qwen3vl_dir, tmp_path, monkeypatch, capsys):
    from agent.cli import main

    for name, value in {"DATA_DIR": str(tmp_path), "DB_URL": f"sqlite:///{tmp_path / 'plant.sqlite'}", "MAX_NEW_TOKENS": "4",
                        "MAX_STEPS": "1", "SCREEN_PARSE": "false", "DEVICE": "cpu", "MIN_PIXELS": str(32 * 32 * 32),
                        "MAX_PIXELS": str(64 * 32 * 32)}.items():
        monkeypatch.setenv(f"HMI_AGENT_{name}", value)
    with pytest.raises(SystemExit) as exit_:
        main(["watch", "what changed?", "--interval", "0.1", "--max-answers", "1", "--json", "--model", str(tiny_qwen3vl_dir)])
    assert exit_.value.code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and '"answer"' in lines[0]


def test_load_vlm_compiles_decode_only_where_asked_and_possible(tiny_qwen3vl_dir, tmp_path, monkeypatch):
    from agent.model_state import load_vlm
    from perception.vlm.types import ModelLoadError

    warmed = []
    monkeypatch.setattr(TransformersQwen3VL, "warm_up", lambda self, *a, **k: warmed.append(self) or 0.0)
    settings = Settings(data_dir=tmp_path, model=str(tiny_qwen3vl_dir), device="cpu")
    assert settings.model_compile == "auto"
    one_shot, service = load_vlm(settings), load_vlm(settings, long_running=True)
    assert not one_shot.compile_decode and not service.compile_decode  # no CUDA here: nothing to compile
    assert warmed == []  # a CPU warm-up prefill would cost more than it saves
    with pytest.raises(ModelLoadError, match="compile='on' needs a CUDA GPU") as error:
        load_vlm(settings.model_copy(update={"model_compile": "on"}))
    assert "model pull" not in str(error.value)
    hub_id = settings.model_copy(update={"model": "Qwen/Qwen3-VL-4B-Instruct", "model_compile": "on"})
    with pytest.raises(ModelLoadError, match="compile='on' needs a CUDA GPU") as error:
        load_vlm(hub_id)  # not mistaken for a model missing from the cache
    assert "model pull" not in str(error.value)


def test_a_failed_warm_up_does_not_stop_a_service_from_starting(tiny_qwen3vl_dir, tmp_path, monkeypatch, caplog):
    import logging

    from agent.model_state import load_vlm

    def out_of_memory(self, *args, **kwargs):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(TransformersQwen3VL, "device_is_cuda", lambda self: True)
    monkeypatch.setattr(TransformersQwen3VL, "warm_up", out_of_memory)
    with caplog.at_level(logging.WARNING, logger="agent.runner"):
        model = load_vlm(Settings(data_dir=tmp_path, model=str(tiny_qwen3vl_dir), device="cpu"), long_running=True)
    assert isinstance(model, TransformersQwen3VL)
    assert "model warm-up failed (RuntimeError: CUDA out of memory" in caplog.text
