"""The screen parser's parts that need no OCR: tag/state/priority reading, the colour table, badge shapes, blinking,
line grouping, hints, annotate."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from perception.screen import Element, ScreenParse, annotate
from perception.screen.colours import ALARM_COLOURS, alarm_masks
from perception.screen.indicators import find_marks, mark_blinking
from perception.screen.ocr import TextBox, _split_vertical
from perception.screen.profile import load_profile
from perception.screen.reading import RowReader, combine_states
from perception.screen.rows import find_tag, group_lines
from perception.screen.vocabulary import Matcher

GENERIC = load_profile()
READER = RowReader(GENERIC)


def state_word(text: str) -> str | None:
    facts = [GENERIC.state_words[phrase].meaning for _, _, phrase in Matcher(GENERIC.state_words).spans(text)]
    return combine_states(facts)[0] if facts else None


def priority_word(text: str) -> str | None:
    entry = Matcher(GENERIC.priority_words).word(text)
    return entry.meaning if entry else None


def read_alarm(line):
    return READER.read(line)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("TIC-101.HH", "TIC-101.HH"),
        ("10:42:07 PT-205 Low pressure", "PT-205"),
        ("FV-3001 failed", "FV-3001"),
        ("LSHH-420", "LSHH-420"),
        ("TIC - 1O1 . HH", "TIC-101.HH"),  # OCR spacing and O-for-0 in the number
        ("Al-1808", "AI-1808"),  # lower-case l for I
        ("10:42:07 PT-1.HH Discharge pressure high", "PT-1.HH"),  # a one-digit loop number with its dash
        ("High temperature reactor R1", None),  # a one-digit name without a dash is not a tag
        ("反应器R1温度高", None),
        ("10:42:07", None),
        ("92.4 m3/h", None),
    ],
)
def test_tags_are_read_and_normalised(text, tag):
    assert find_tag(text) == tag


def test_state_and_priority_words_in_english_and_chinese():
    assert state_word("RTN UNACK") == "rtn_unacked"
    assert state_word("UNACK") == "unacked"
    assert state_word("ACKED") == "acked"
    assert state_word("未确认") == "unacked"
    assert state_word("已确认") == "acked"
    assert state_word("恢复未确认") == "rtn_unacked"
    assert [priority_word(w) for w in ("Critical", "High", "Medium", "Low", "紧急", "高", "中", "低")] == list("12341234")
    assert priority_word("High temperature reactor R1") is None  # a description is not a priority cell


def test_the_colour_table_maps_alarm_colours_to_priorities_and_leaves_green_and_grey_out():
    pixels = {"1": (230, 20, 20), "2": (255, 140, 0), "3": (255, 220, 0), "4": (200, 0, 200)}
    blue, green, grey = (30, 90, 230), (40, 170, 60), (150, 150, 150)
    row = np.uint8([[*pixels.values(), blue, green, grey]])
    masks = alarm_masks(cv2.cvtColor(row, cv2.COLOR_RGB2HSV))
    for column, priority in enumerate(pixels):
        assert masks[priority][0, column] == 255
    assert masks["4"][0, 4] == 255  # blue is priority 4 too
    assert not any(m[0, 5:].any() for m in masks.values())
    assert [c.priority for c in ALARM_COLOURS] == ["1", "2", "3", "4"]


def _badges_image(off: set[int] = frozenset()) -> Image.Image:
    image = Image.new("RGB", (800, 600), (192, 192, 192))
    draw = ImageDraw.Draw(image)
    shapes = [((20, 20, 44, 44), "square", (230, 20, 20)), ((80, 20, 104, 44), "circle", (255, 140, 0)),
              ((140, 20, 164, 44), "triangle", (255, 220, 0)), ((200, 20, 224, 44), "diamond", (200, 0, 200))]
    for i, (box, shape, colour) in enumerate(shapes):
        if i in off:
            continue
        x1, y1, x2, y2 = box
        if shape == "square":
            draw.rectangle(box, fill=colour)
        elif shape == "circle":
            draw.ellipse(box, fill=colour)
        elif shape == "triangle":
            draw.polygon([((x1 + x2) / 2, y1), (x2, y2), (x1, y2)], fill=colour)
        else:
            draw.polygon([((x1 + x2) / 2, y1), (x2, (y1 + y2) / 2), ((x1 + x2) / 2, y2), (x1, (y1 + y2) / 2)],
                         fill=colour)
    draw.rectangle((10, 200, 790, 224), fill=(255, 220, 0))  # a highlighted row: a bar, not a badge
    return image


def _marks(image):
    return find_marks(cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2HSV))


def test_badges_get_priority_and_shape_and_a_wide_highlight_is_a_bar():
    marks = _marks(_badges_image())
    badges = sorted((m for m in marks if m.kind == "badge"), key=lambda m: m.bbox[0])
    assert [(m.priority, m.shape) for m in badges] == [("1", "square"), ("2", "circle"), ("3", "triangle"),
                                                        ("4", "diamond")]
    (bar,) = [m for m in marks if m.kind == "bar"]
    assert bar.priority == "3" and bar.bbox[2] - bar.bbox[0] > 700


def test_two_frames_tell_blinking_from_steady_badges():
    on, off = _marks(_badges_image()), _marks(_badges_image(off={0}))
    states = {m.shape: m.state for m in mark_blinking(on, off) if m.kind == "badge"}
    assert states == {"square": "blinking", "circle": "steady", "triangle": "steady", "diamond": "steady"}
    # in the off phase the unacknowledged badge is still reported, from the frame where it was lit
    from_off = [m for m in mark_blinking(off, on) if m.kind == "badge" and m.state == "blinking"]
    assert [m.shape for m in from_off] == ["square"]


def _box(text, x1, y1, x2, y2):
    return TextBox(text, (x1, y1, x2, y2), 0.99)


def test_text_boxes_group_into_lines_and_an_alarm_row_is_read_column_by_column():
    boxes = [_box("PT-205", 150, 101, 210, 119), _box("10:42:07", 40, 100, 110, 120),
             _box("Critical", 700, 100, 760, 121), _box("Low pressure header 2", 300, 100, 480, 120),
             _box("RTN", 820, 100, 850, 120), _box("UNACK", 855, 100, 910, 120), _box("3.2 bar", 1000, 100, 1060, 120),
             _box("Next line", 40, 140, 120, 160)]
    first, second = group_lines(boxes)
    assert [b.text for b in first.boxes][:2] == ["10:42:07", "PT-205"]
    assert [b.text for b in second.boxes] == ["Next line"]
    alarm = read_alarm(first)
    assert (alarm.time, alarm.tag, alarm.description, alarm.priority.value, alarm.state.value, alarm.value) == (
        "10:42:07", "PT-205", "Low pressure header 2", "1", "rtn_unacked", "3.2 bar")
    assert (alarm.priority.source, alarm.state.source) == ("word", "word")
    assert read_alarm(group_lines([_box("TIC-101 92.4 °C", 10, 10, 120, 30)])[0]) is None  # a process value
    banner = read_alarm(group_lines([_box("10:42:07 TIC-101.HH High temperature reactor R1 92.4 °C", 0, 0, 500, 20)])[0])
    assert (banner.time, banner.tag, banner.description, banner.value) == (
        "10:42:07", "TIC-101.HH", "High temperature reactor R1", "92.4 °C")  # one OCR box for the whole banner


def test_a_column_of_identical_cells_joined_by_the_detector_is_cut_back_into_lines():
    boxes = [_box("PT-205", 0, 0, 60, 20), _box("TT-1", 0, 30, 60, 50), _box("中中中", 200, 0, 220, 78)]
    split = _split_vertical(boxes)
    assert [b.text for b in split] == ["PT-205", "TT-1", "中", "中", "中"]
    assert [b.bbox[1] for b in split[2:]] == [0, 26, 52]


def _parse() -> ScreenParse:
    return ScreenParse(width=640, height=480, elements=[
        Element(id=1, kind="banner", bbox=(0, 0, 640, 30), text="10:42:07 TIC-101.HH High temperature",
                priority="1", state="unacked", tag="TIC-101.HH", confidence=0.98, time="10:42:07"),
        Element(id=2, kind="button", bbox=(560, 4, 630, 26), text="ACK", confidence=0.99),
        *[Element(id=i, kind="text", bbox=(10, 40 * i, 100, 40 * i + 20), text=f"label {i}", confidence=0.9)
          for i in range(3, 9)],
        Element(id=9, kind="alarm_row", bbox=(0, 400, 640, 420), text="10:42:07 TIC-101.HH High temperature",
                priority="1", state="unacked", tag="TIC-101.HH", confidence=0.97, value="92.4 °C"),
    ])


def test_hints_are_numbered_lines_with_alarm_facts_first_when_cut():
    parse = _parse()
    lines = parse.hints().splitlines()
    assert lines[0] == "Screen 640x480, 9 elements (bbox in image pixels):"
    assert lines[-1] == ('[9] alarm_row "10:42:07 TIC-101.HH High temperature" tag=TIC-101.HH prio=1 state=unacked '
                         'value="92.4 °C" @(0,400,640,420)')
    short = parse.hints(limit=3).splitlines()
    assert [line.split()[0] for line in short[1:4]] == ["[1]", "[2]", "[9]"]
    assert short[-1].startswith("... 6 more elements")
    assert parse.element(2).text == "ACK" and parse.element(99) is None


def test_annotate_draws_numbered_boxes_on_a_copy_of_the_same_size():
    image = Image.new("RGB", (640, 480), (200, 200, 200))
    marked = annotate(image, _parse())
    assert marked.size == image.size and marked.mode == "RGB"
    assert np.asarray(marked).std() > 0 and np.asarray(image).std() == 0  # drawn on a copy


@pytest.mark.parametrize(
    "picture",
    [
        Image.fromarray(np.full((20, 30), 0x8080, np.uint16)),  # a 16-bit greyscale PNG as PIL opens it
        np.full((20, 30), 0x8080, np.uint16),
        np.full((20, 30, 3), 0x8080, np.uint16),
    ],
    ids=["pil-I;16", "uint16-grey", "uint16-rgb"],
)
def test_16_bit_pictures_become_8_bit_rgb_with_their_grey_levels(picture):
    from perception.screen.parser import as_rgb

    rgb = as_rgb(picture)
    assert rgb.dtype == np.uint8 and rgb.shape == (20, 30, 3) and rgb[5, 5].tolist() == [128, 128, 128]
