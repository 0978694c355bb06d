"""The region view (perception/view.py, docs/two-speeds.md): the model sees the picked alarm's crop plus an overview,
and its coordinates on the crop come back to the right screen pixels, in the run and in its replay.

Real parts: the real screen parser on examples/screens/demo.png (parsed once), the real draft rules, the real
simulated action executor, the real recorder and replay, and the real transformers code path on the tiny model;
scripted only: the model's decisions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from agent.draft import compose_draft, pick_alarm
from agent.replay import replay_session
from agent.runner import HmiAgent
from agent.scripted import tool_call_text
from agent.settings import Settings
from perception.coords import model_to_screen
from perception.screen import parse_screen
from perception.view import MAX_ASPECT, View, ViewSetting, region_box
from perception.vlm.transformers_backend import TransformersQwen3VL
from tests.agent.conftest import NoAlarmTools
from tests.hmi_picture import StillScreen
from tools.actions import ScreenActions

DEMO = Path(__file__).resolve().parents[2] / "examples" / "screens" / "demo.png"
ANSWER = tool_call_text("final_answer", {"on_screen": "TIC-101.HH banner", "alarm_tag": "TIC-101.HH"})
QUESTION = "What does this alarm mean?"


@pytest.fixture(scope="module")
def demo_image() -> Image.Image:
    return Image.open(DEMO).convert("RGB")


@pytest.fixture(scope="module")
def demo_parse(demo_image):
    return parse_screen(demo_image)


@pytest.fixture(scope="module")
def banner(demo_parse):
    return pick_alarm(QUESTION, demo_parse, None).element


def _agent(make_agent, demo_image, demo_parse, replies, view, alarm_tools=None):
    actions = ScreenActions(mode="simulated", screen_size=demo_image.size, min_interval=0)
    agent = make_agent(replies, screen_source=StillScreen(demo_image), actions=actions, alarm_tools=alarm_tools,
                       record_sessions=True, view=view)
    agent.screen_parser = lambda image: demo_parse  # the real parse, made once
    return agent


def _crop_coords(point: tuple[int, int], box: tuple[int, int, int, int]) -> tuple[int, int]:
    """A frame pixel as the model's 0-1000 coordinates on the crop `box`."""
    x1, y1, x2, y2 = box
    return round((point[0] - x1) / (x2 - x1) * 1000), round((point[1] - y1) / (y2 - y1) * 1000)


def test_region_box_is_the_draft_picks_banner_padded_with_a_sane_aspect(demo_image, demo_parse, banner):
    draft, _ = compose_draft(QUESTION, demo_parse, None, language="en")
    assert banner.kind == "banner" and list(draft.evidence[0].bbox) == list(banner.bbox)
    view = ViewSetting("region", 256 * 1024, 1280 * 1024).choose(StillScreen(demo_image).grab(), banner)
    x1, y1, x2, y2 = view.box
    bx1, by1, bx2, by2 = banner.bbox
    assert view.overview and x1 <= bx1 and y1 <= by1 and bx2 <= x2 and by2 <= y2
    assert (x2 - x1) / (y2 - y1) <= MAX_ASPECT and (x2 - x1, y2 - y1) != demo_image.size


def test_a_click_on_the_crop_lands_on_the_screen_pixel_it_points_at(make_agent, demo_image, demo_parse, banner):
    box = region_box(demo_image.size, tuple(banner.bbox))
    target = ((banner.bbox[0] + banner.bbox[2]) // 2, (banner.bbox[1] + banner.bbox[3]) // 2)
    x, y = _crop_coords(target, box)
    agent = _agent(make_agent, demo_image, demo_parse, [tool_call_text("click", {"x": x, "y": y}), ANSWER], "region")
    run = agent.ask(QUESTION)
    clicks = [a for a in agent.actions.history if a.action.kind == "click"]
    assert len(clicks) == 1 and clicks[0].outcome.startswith("simulated")
    landed = (clicks[0].action.x, clicks[0].action.y)
    assert abs(landed[0] - target[0]) <= 1 and abs(landed[1] - target[1]) <= 1, (landed, target)
    assert landed != model_to_screen((x, y), StillScreen(demo_image).grab())  # the whole-screen reading is elsewhere
    request = agent.vlm.requests[0]["messages"]
    sizes = [item["image"].size for m in request for item in (m["content"] if isinstance(m["content"], list) else [])
             if item.get("type") == "image"]
    assert sizes[0] == (box[2] - box[0], box[3] - box[1]) and sizes[1][0] < demo_image.size[0]
    manifest = json.loads((run.session_dir / "manifest.json").read_text())
    assert manifest["settings"]["view"]["mode"] == "region"
    assert [e["view"]["box"] for e in manifest["events"] if e["kind"] == "view"] == [list(box)] * 2  # observe, verify


def test_replay_of_a_region_view_session_is_identical(make_agent, alarm_tools, demo_image, demo_parse, banner,
                                                      monkeypatch):
    box = region_box(demo_image.size, tuple(banner.bbox))
    x, y = _crop_coords((box[0] + 100, box[1] + 20), box)
    click = tool_call_text("click", {"x": x, "y": y})
    run = _agent(make_agent, demo_image, demo_parse, [click, ANSWER], "region", alarm_tools).ask(QUESTION)
    monkeypatch.setattr("agent.runner._default_parser", lambda settings: lambda image: demo_parse)
    report = replay_session(run.session_dir, strict=True)
    assert report.ok, report.text()
    assert report.steps == run.steps == 2


def test_full_view_setting_shows_the_whole_screen_and_maps_clicks_as_before(make_agent, demo_image, demo_parse):
    agent = _agent(make_agent, demo_image, demo_parse, [tool_call_text("click", {"x": 500, "y": 50}), ANSWER], "full")
    run = agent.ask(QUESTION)
    frame = StillScreen(demo_image).grab()
    click = next(a for a in agent.actions.history if a.action.kind == "click")
    assert (click.action.x, click.action.y) == model_to_screen((500, 50), frame)
    first = agent.vlm.requests[0]["messages"]
    images = [i for m in first for i in (m["content"] if isinstance(m["content"], list) else []) if i.get("type") == "image"]
    assert [i["image"].size for i in images] == [demo_image.size]
    assert not [e for e in json.loads((run.session_dir / "manifest.json").read_text())["events"] if e["kind"] == "view"]


def test_auto_takes_the_region_only_when_the_pixel_budget_is_below_the_screens(demo_image, banner):
    frame = StillScreen(demo_image).grab()  # 1280x800: 1,000 tokens at native size
    assert not ViewSetting("auto", 256 * 1024, 1280 * 1024).choose(frame, banner).overview
    assert ViewSetting("auto", 256 * 1024, 512 * 1024).choose(frame, banner).overview
    assert not ViewSetting("region", 256 * 1024, 512 * 1024).choose(frame, None).overview  # no alarm: whole screen


def test_full_view_maps_model_coordinates_exactly_as_model_to_screen(demo_image):
    frame = StillScreen(demo_image).grab()
    for point in [(0, 0), (500, 50), (999, 1000), (1000, 0)]:
        assert View.full(frame).to_screen(point, frame) == model_to_screen(point, frame)


@pytest.mark.slow
def test_tiny_model_on_cpu_gets_the_region_and_overview_through_transformers(tiny_qwen3vl_dir, tmp_path, demo_image,
                                                                           demo_parse):
    model = TransformersQwen3VL.load(tiny_qwen3vl_dir, device="cpu", min_pixels=64 * 32 * 32, max_pixels=1280 * 32 * 32)
    settings = Settings(data_dir=tmp_path, screen_parse=False, max_new_tokens=8, max_steps=1)  # view: auto
    agent = HmiAgent(settings, model=model, alarm_tools=NoAlarmTools(), screen_parser=lambda image: demo_parse,
                     screen_source=StillScreen(demo_image))
    run = agent.ask(QUESTION)
    agent.close()
    manifest = json.loads((run.session_dir / "manifest.json").read_text())
    assert manifest["settings"]["view"]["mode"] == "region"  # auto, settled on a CPU
    call = next(e for e in manifest["events"] if e["kind"] == "model")
    images = [size for m in call["request"]["messages"] for size in m["images"]]
    assert len(images) == 2 and "first image is a region" in call["request"]["messages"][1]["text"]
    assert 0 < call["stats"]["vision_tokens"] < 1000  # the full 1280x800 screen alone is 1000
