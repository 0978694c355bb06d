"""The draft answer: the screen parser and the alarm tools alone, no model (agent/draft.py, docs/two-speeds.md).

Real parts: the real parser on the example screens, real AlarmTools over a real SQLite demo plant, the real agent
graph and recorder; only the model's decisions are scripted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from agent.draft import compose_draft, pick_alarm, tags_in
from agent.replay import replay_session
from agent.runner import HmiAgent
from agent.scripted import ScriptedModel, tool_call_text
from agent.settings import Settings
from perception.screen import Element, ScreenParse, parse_screen

SCREENS = Path(__file__).resolve().parents[2] / "examples" / "screens"
QUESTION = "What does this alarm mean and has it happened recently?"


@pytest.fixture(scope="module")
def plant_url(tmp_path_factory) -> str:
    """The demo plant (its definitions and 5 days of journal, standing alarms as the example screens show them)."""
    from storage.db import open_database
    from storage.definitions import upsert_definitions
    from storage.demo import demo_definitions, demo_events
    from storage.journal import write_events

    url = f"sqlite:///{tmp_path_factory.mktemp('plant') / 'plant.sqlite'}"
    db = open_database(url)
    upsert_definitions(db, demo_definitions(42))
    write_events(db, ((0, row) for row in demo_events(5, 1, tags=42)), source="demo", layout="demo")
    db.engine.dispose()
    return url


@pytest.fixture(scope="module")
def lookup(plant_url):
    from storage.db import open_database
    from tools.alarms import AlarmTools

    tools = {t.name: t for t in AlarmTools(open_database(plant_url)).tools()}
    return lambda name, arguments: tools[name](arguments)


@pytest.fixture(scope="module")
def demo_screen():
    return parse_screen(Image.open(SCREENS / "demo.png"))


def _label(name: str) -> dict:
    return json.loads((SCREENS / f"{name}.json").read_text())


def _row(id: int, tag: str, priority: str, state: str, y: int) -> Element:
    return Element(id=id, kind="alarm_row", bbox=(0, y, 600, y + 20), text=f"10:00:00 {tag}", priority=priority,
                   state=state, tag=tag, confidence=0.9)


def test_draft_names_the_banner_alarm_with_meaning_history_and_action(demo_screen, lookup):
    answer, lookups = compose_draft(QUESTION, demo_screen, lookup, language="en")
    assert answer.alarm_tag == _label("demo")["banner"]["tag"] == "TIC-101.HH"
    assert answer.source == "parser" and "the alarm banner" in answer.notes[0]
    assert "reactor temperature" in answer.meaning.lower() and "activation(s) in the last 30 days" in answer.recent_history
    assert answer.recommended_action and "no model" in answer.text
    assert [e.kind for e in answer.evidence] == ["element", "tool", "tool"] and answer.evidence[0].bbox
    assert [(c.name, c.arguments) for c in lookups] == [("alarm_definition", {"tag": "TIC-101.HH"}),
                                                        ("alarm_history", {"tag": "TIC-101.HH", "since": "30d"})]


def test_draft_answers_in_chinese_for_a_chinese_question(demo_screen, lookup):
    answer, _ = compose_draft("这个报警是什么意思？最近发生过吗？", demo_screen, lookup, language="zh")
    assert answer.language == "zh" and answer.alarm_tag == "TIC-101.HH"
    assert "近30天触发" in answer.recent_history and "未使用模型" in answer.text and "报警横幅" in answer.notes[0]


def test_a_tag_named_in_the_question_wins_over_the_banner_even_spelled_loosely(demo_screen, lookup):
    second_row = next(e for e in demo_screen.of_kind("alarm_row") if e.tag != "TIC-101.HH")
    loose = second_row.tag.lower().replace("-", " ")  # "lt 742.pv"
    answer, _ = compose_draft(f"what is {loose}?", demo_screen, lookup, language="en")
    assert answer.alarm_tag.startswith(second_row.tag.split(".")[0]) and "named in the question" in answer.notes[0]
    assert answer.evidence[0].label.startswith(f"[{second_row.id}]")


def test_words_of_a_question_that_look_like_tags_but_are_none_do_not_pick_an_alarm(demo_screen, lookup):
    assert tags_in("has it happened in 7 days? see TIC-101.HH") == ["in 7", "TIC-101.HH"]
    pick = pick_alarm("has it happened in 7 days?", demo_screen, lookup)
    assert pick.rule == "banner"


def test_without_a_banner_the_highest_priority_unacknowledged_row_is_picked():
    screen = ScreenParse(width=600, height=200, elements=[
        _row(1, "PT-1.H", "1", "acked", 0), _row(2, "PT-2.H", "3", "unacked", 20), _row(3, "PT-3.H", "2", "rtn_unacked", 40),
    ])
    pick = pick_alarm(QUESTION, screen, None)
    assert (pick.tag, pick.rule) == ("PT-3.H", "unacked_row")
    only_acked = ScreenParse(width=600, height=200, elements=[_row(1, "PT-1.H", "2", "acked", 0), _row(2, "PT-2.H", "1", "acked", 20)])
    assert (pick_alarm(QUESTION, only_acked, None).tag, pick_alarm(QUESTION, only_acked, None).rule) == ("PT-2.H", "row")


def test_a_screen_without_alarms_gives_a_draft_that_says_so():
    answer, lookups = compose_draft(QUESTION, ScreenParse(width=10, height=10), None, language="en")
    assert answer.alarm_tag is None and "No alarm banner or alarm row" in answer.on_screen and lookups == []


def _agent(tmp_path, plant_url, **kwargs) -> HmiAgent:
    settings = Settings(data_dir=tmp_path / "data", db_url=plant_url, model="nobody/Qwen3-VL-404B")
    return HmiAgent(settings, **kwargs)


@pytest.mark.slow
def test_without_an_installed_model_the_agent_answers_with_the_draft_and_says_how_to_install_one(tmp_path, plant_url):
    agent = _agent(tmp_path, plant_url)
    try:
        events = list(agent.stream(QUESTION, image=SCREENS / "demo.png", thread_id="t1"))
        run = agent.result("t1")
    finally:
        agent.close()
    assert [e.kind for e in events] == ["step", "draft", "answer"]
    assert events[1].data["alarm_tag"] == "TIC-101.HH" and events[1].data["source"] == "parser"
    assert run.answer.source == "parser" and run.answer.alarm_tag == "TIC-101.HH"
    hints = [n for n in run.answer.notes if "hmi-agent model pull 2b" in n]
    assert len(hints) == 1 and "'nobody/Qwen3-VL-404B' is not in the local cache" in hints[0]
    report = replay_session(run.session_dir, strict=True)
    assert report.ok, report.text()


def test_a_chinese_question_without_a_model_gets_the_install_note_in_chinese_and_replays(tmp_path, plant_url):
    agent = _agent(tmp_path, plant_url)
    try:
        run = agent.ask("这个报警是什么意思？", image=SCREENS / "demo.png", thread_id="t1")
    finally:
        agent.close()
    hints = [n for n in run.answer.notes if "hmi-agent model pull 2b" in n]
    assert len(hints) == 1 and hints[0].startswith("未使用模型，本回答为屏幕解析器的草稿。")
    assert "'nobody/Qwen3-VL-404B' is not in the local cache" in hints[0]  # the reason itself, as logged
    report = replay_session(run.session_dir, strict=True)
    assert report.ok, report.text()


def test_backend_none_gives_the_draft_alone(tmp_path, plant_url):
    settings = Settings(data_dir=tmp_path / "data", db_url=plant_url, backend="none", record_sessions=False)
    agent = HmiAgent(settings)
    try:
        run = agent.ask(QUESTION, image=SCREENS / "demo.png")
    finally:
        agent.close()
    assert agent.vlm is None and run.answer.source == "parser" and any("HMI_AGENT_BACKEND=none" in n for n in run.answer.notes)


def _final(tag: str) -> str:
    return tool_call_text("final_answer", {"on_screen": f"{tag} is active", "alarm_tag": tag})


@pytest.mark.slow
def test_the_draft_streams_before_the_model_and_the_model_answer_replaces_it(tmp_path, plant_url):
    agent = _agent(tmp_path, plant_url, model=ScriptedModel([_final("TIC-101.HH")]))
    try:
        kinds = [e.kind for e in agent.stream(QUESTION, image=SCREENS / "demo.png", thread_id="t2")]
        run = agent.result("t2")
    finally:
        agent.close()
    assert kinds[:3] == ["step", "draft", "model"] and kinds[-1] == "answer"
    assert run.answer.source == "model" and not any("the screen parser read" in note for note in run.answer.notes)
    manifest = json.loads((run.session_dir / "manifest.json").read_text())
    assert [e["kind"] for e in manifest["events"] if e["kind"] in ("draft", "model")] == ["draft", "model"]
    report = replay_session(run.session_dir, strict=True)
    assert report.ok, report.text()


def test_a_model_answer_about_another_alarm_than_the_draft_says_so(tmp_path, plant_url):
    agent = _agent(tmp_path, plant_url, model=ScriptedModel([_final("PT-910.L")]))
    try:
        run = agent.ask(QUESTION, image=SCREENS / "demo.png")
    finally:
        agent.close()
    disagreement = "The model answered about PT-910.L, but the screen parser read TIC-101.HH: check the screen."
    assert run.answer.alarm_tag == "PT-910.L" and run.answer.notes.count(disagreement) == 1
    assert f"Note: {disagreement}" in run.answer.text
