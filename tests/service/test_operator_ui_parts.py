"""The operator UI's parts without a browser: the answer card (language, words, escaping, draft and notes), the
progress lines, the history window, and the evidence picture (numbers beside their element, readable labels)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PIL import Image

from agent.answer import Answer, Evidence, tool_evidence_label
from agent.web.answer_card import answer_card
from agent.web.drawing import ELEMENT_COLOUR, draw_marks
from agent.web.history_view import history_view, history_window
from agent.web.trail import progress_line
from tests.agent.conftest import make_alarm_tools

HISTORY = Evidence(kind="tool", label=tool_evidence_label("alarm_history", {"tag": "TI-101.HI", "since": "30d"}, "zh"),
                   tool="alarm_history", arguments={"tag": "TI-101.HI", "since": "30d"})


@pytest.fixture
def alarm_tools_at(tmp_path):
    return make_alarm_tools(tmp_path)  # real SQLite, TI-101.HI in C, "now" fixed at 2026-01-14 13:30 UTC


def test_a_chinese_answer_card_has_chinese_labels_and_evidence_in_words():
    card = answer_card(Answer(language="zh", on_screen="报警横幅", meaning="温度高", recommended_action="打开冷却阀",
                              evidence=[HISTORY, Evidence(kind="element", label="[3] TI-101.HI", bbox=(1, 2, 3, 4))]))
    for expected in ("画面内容", "含义", "建议操作", "依据", "TI-101.HI 的报警记录（最近 30 天）", "画面上：TI-101.HI"):
        assert expected in card, expected
    assert "Meaning" not in card and "alarm_history(" not in card and "[3]" not in card


def test_model_text_in_the_card_is_escaped():
    card = answer_card(Answer(language="en", on_screen="<img src=x onerror=alert(1)>", notes=["<script>x</script>"]))
    assert "<img" not in card and "<script>" not in card and "&lt;img" in card


def test_a_parser_draft_and_its_notes_are_said_plainly():
    card = answer_card(Answer(language="en", on_screen="TI-101.HI on the banner", source="parser",
                              notes=["The model is still loading."]))
    assert "Read by the screen parser, no model" in card and "The model is still loading." in card


def test_progress_lines_say_what_happens_in_words_and_never_dump_the_answer_json():
    calls: dict[str, str] = {}
    event = SimpleNamespace
    lines = [
        progress_line(event(kind="tool_call", data={"id": "1", "name": "alarm_definition", "arguments": {"tag": "TI-101.HI"}}), calls, "en"),
        progress_line(event(kind="tool_call", data={"id": "2", "name": "final_answer", "arguments": {"on_screen": "x"}}), calls, "en"),
        progress_line(event(kind="tool_result", data={"id": "2", "text": '{"on_screen": "x"}', "error": False}), calls, "en"),
        progress_line(event(kind="step", data={"node": "observe"}), calls, "zh"),
    ]
    assert lines == ["Looking up: Plant definition of TI-101.HI", "Writing the answer", None, "查看了画面"]


def test_the_history_follows_the_window_the_agent_used(alarm_tools_at):
    answer = Answer(language="en", on_screen="x", alarm_tag="TI-101.HI", evidence=[HISTORY])
    assert history_window(answer) == ("30d", None)
    table, chart, title = history_view(alarm_tools_at, answer)
    assert len(chart) == 31 and title == "Activations of TI-101.HI, last 30 days"
    assert table.iloc[-1]["value"] == "97.1 C" and table.iloc[-1]["cleared"] == "2026-01-10 08:20"


def test_element_numbers_sit_beside_their_element_not_on_its_text():
    image = Image.new("RGB", (400, 200), "white")
    box = (100, 50, 300, 80)  # where the element's own text is
    marked = draw_marks(image, elements=[(12, box)])
    inside = marked.crop((box[0] + 2, box[1] + 2, box[2] - 1, box[3] - 1)).getcolors(100000)
    assert all(colour == (255, 255, 255) for _, colour in inside)  # nothing drawn over the text
    left = marked.crop((60, 50, 99, 80)).getcolors(100000)
    assert any(colour == ELEMENT_COLOUR for _, colour in left)  # the number is just left of it


def test_an_evidence_label_on_a_red_banner_is_white_on_black():
    image = Image.new("RGB", (400, 200), (220, 30, 30))
    marked = draw_marks(image, evidence=[("TI-101.HI", (10, 10, 200, 40))])
    colours = {colour for _, colour in marked.crop((10, 44, 120, 70)).getcolors(100000)}
    assert (0, 0, 0) in colours and (255, 255, 255) in colours
