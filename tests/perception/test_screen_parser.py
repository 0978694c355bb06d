"""The screen parser (real RapidOCR + OpenCV) on the labelled screens in examples/screens/. Each screen is parsed once
per module (about 1 s each): a representative subset of themes, sizes, languages and degradations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from perception.screen import annotate, parse_screen
from perception.screen.scoring import Score, score_parse

SCREENS = Path(__file__).resolve().parents[2] / "examples" / "screens"
CLEAN = ["demo", "clean_01", "clean_05", "clean_06", "clean_08"]  # grey/light/dark, 1024-1920, en + zh
DEGRADED = ["jpeg_03", "blur_00"]
PHOTOS = ["photo_00", "photo_04"]

pytestmark = pytest.mark.slow


def _truth(name: str) -> dict:
    return json.loads((SCREENS / f"{name}.json").read_text())


def _image(name: str) -> Image.Image:
    return Image.open(SCREENS / _truth(name)["image"]).convert("RGB")


@pytest.fixture(scope="module")
def parses():
    return {name: parse_screen(_image(name)) for name in CLEAN + DEGRADED + PHOTOS}


def _total(parses, names) -> Score:
    total = Score()
    for name in names:
        total += score_parse(parses[name], _truth(name))
    return total


def test_alarm_row_tags_on_clean_screens(parses):
    score = _total(parses, CLEAN)
    assert score.rows >= 35
    assert score.tag_accuracy >= 0.95, score.misread_tags
    assert score.row_precision >= 0.95
    assert score.priorities_right >= 0.9 * score.rows and score.states_right >= 0.9 * score.rows


def test_alarm_row_tags_on_jpeg_blur_and_phone_photos(parses):
    assert _total(parses, DEGRADED).tag_accuracy >= 0.9
    photos = _total(parses, PHOTOS)
    assert photos.tag_accuracy >= 0.85, photos.misread_tags


def test_indicators_banner_and_buttons(parses):
    score = _total(parses, CLEAN + DEGRADED + PHOTOS)
    assert score.indicator_recall >= 0.75 and score.indicator_precision >= 0.9
    assert score.banner_tags_right == score.banners
    assert score.buttons_found >= 0.85 * score.buttons


def test_demo_screen_elements(parses):
    parse = parses["demo"]
    assert {e.kind for e in parse.elements} == {"text", "button", "alarm_indicator", "alarm_row", "banner"}
    assert [e.id for e in parse.elements] == list(range(1, len(parse.elements) + 1))
    (banner,) = parse.of_kind("banner")
    assert (banner.tag, banner.priority, banner.time, banner.value) == ("TIC-101.HH", "1", "10:42:07", "92.4 °C")
    # the banner shows no state word and one frame cannot show a blink: its state is unknown, not "unacked"
    assert (banner.priority_source, banner.state) == ("colour", None)
    row = next(e for e in parse.of_kind("alarm_row") if e.tag == "TIC-101.HH")
    assert row.text == "10:42:07 TIC-101.HH High temperature reactor R1" and row.value == "92.4 °C"
    assert {"ACK", "ACK ALL", "SILENCE", "RESET"} <= {b.text for b in parse.of_kind("button")}
    for element in parse.elements:
        x1, y1, x2, y2 = element.bbox
        assert 0 <= x1 < x2 <= parse.width and 0 <= y1 < y2 <= parse.height
        assert 0.0 <= element.confidence <= 1.0
    hint = next(line for line in parse.hints().splitlines() if f"[{row.id}]" in line)
    assert re.fullmatch(rf'\[{row.id}\] alarm_row "10:42:07 TIC-101.HH High temperature reactor R1" '
                        r'tag=TIC-101.HH prio=1 state=unacked value="92.4 °C" @\(\d+,\d+,\d+,\d+\)', hint)
    assert parse.element(row.id) == row
    marked = annotate(_image("demo"), parse)
    assert marked.size == (parse.width, parse.height)


def test_chinese_alarm_rows(parses):
    parse, truth = parses["clean_05"], _truth("clean_05")
    rows = {e.tag: e for e in parse.of_kind("alarm_row")}
    for expected in truth["alarm_rows"]:
        row = rows[expected["tag"]]
        assert (row.priority, row.state) == (expected["priority"], expected["state"])
        assert expected["description"] in row.text  # Chinese description read back exactly


def test_a_blinking_badge_needs_two_frames():
    on, off = Image.open(SCREENS / "blink_on.png"), Image.open(SCREENS / "blink_off.png")
    truth = _truth("blink_on")
    parse = parse_screen(on, previous=off)
    badges = parse.of_kind("alarm_indicator")
    assert badges and all(b.state in ("blinking", "steady") for b in badges)
    blinking_tags = {b.tag for b in badges if b.state == "blinking" and b.tag}
    unacked = {r["tag"] for r in truth["alarm_rows"] if r["state"] != "acked"}
    assert blinking_tags and blinking_tags <= unacked | {t.split(".")[0] for t in unacked}
    steady_rows = {r["tag"] for r in truth["alarm_rows"] if r["state"] == "acked"}
    assert all(b.state == "steady" for b in badges if b.tag in steady_rows)
    # parsed in the off phase, the unacknowledged badges are still reported (from the lit frame)
    dark_phase = parse_screen(off, previous=on)
    assert len([b for b in dark_phase.of_kind("alarm_indicator") if b.state == "blinking"]) == len(
        [b for b in badges if b.state == "blinking"])
