"""Site profiles and reading a vendor's alarm table without OCR: profile files and their file:line errors, words
found inside merged OCR boxes, header synonyms, wrapped cells, number scales, state words combined, row colours,
badges given to their label by layout, and unknown staying unknown."""

from __future__ import annotations

import numpy as np
import pytest

from perception.screen.colours import colour_name, row_colour
from perception.screen.layout import associate_badges
from perception.screen.ocr import TextBox
from perception.screen.profile import ProfileError, load_profile, parse_profile, shipped_profiles
from perception.screen.reading import RowReader, combine_states
from perception.screen.rows import group_lines
from perception.screen.vocabulary import char_edges

GENERIC = load_profile()


def _box(text: str, x1: int, y1: int, x2: int, y2: int) -> TextBox:
    return TextBox(text, (x1, y1, x2, y2), 0.99)


def _table(header: list[TextBox], row: list[TextBox], profile=GENERIC):
    reader = RowReader(profile)
    head = reader.header(group_lines(header)[0])
    assert head is not None
    return reader.read(group_lines(row)[0], head)


def test_the_generic_profile_is_shipped_and_a_site_profile_extends_it_with_entries_marked_as_its_own():
    assert "generic" in shipped_profiles()
    site = parse_profile("name: boiler\ncolours: {yellow: 2, grey: 4}\nstate_words: {rtn_unacked: [Passive]}\n",
                         "boiler.yaml")
    assert (site.colours["yellow"].meaning, site.colours["yellow"].origin) == ("2", "site")
    assert (site.colours["red"].meaning, site.colours["red"].origin) == ("1", "generic")
    assert site.state_words["passive"].meaning == "rtn_unacked"
    assert GENERIC.colours["yellow"].meaning == "3"  # the shipped profile is not changed by a site's
    only_own = parse_profile("colours: {yellow: 2}\nown_colours_only: true\n", "x.yaml")
    assert set(only_own.colours) == {"yellow"}


@pytest.mark.parametrize(("text", "error"), [
    ("colours:\n  red: 1\n  teal: 2\n", "site.yaml:3: colour 'teal' is not one of"),
    ("colours:\n  red: 9\n", "site.yaml:2: colours.red: '9' is not one of 1, 2, 3, 4"),
    ("name: x\npriorities: {}\n", "site.yaml:2: key 'priorities' is not one of"),
    ("state_words:\n  unacked: [UNACK]\n  gone: [x]\n", "site.yaml:3: state_words: 'gone' is not one of"),
    ("priority_numbers:\n  - [500, 100, 2]\n", "site.yaml:2: band [500, 100]: low is above high"),
    ("time_formats: ['%d.%m.%Y']\n", "site.yaml:1: time format '%d.%m.%Y' has no hour"),
    ("colours: [red, 1\n", "site.yaml:2: not valid YAML"),  # where the parser gave up
    ("extends: acme\n", "site.yaml:1: extends 'acme': no such shipped profile"),
    ("", "site.yaml:1: the profile is empty"),
])
def test_a_bad_profile_is_one_error_naming_file_and_line(text, error):
    with pytest.raises(ProfileError) as raised:
        parse_profile(text, "site.yaml")
    assert str(raised.value).startswith(error), str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_missing_profile_file_names_the_shipped_ones(tmp_path):
    with pytest.raises(ProfileError, match=r"nope.yaml: no such profile file \(shipped profiles: generic"):
        load_profile(tmp_path / "nope.yaml")


def _packed(row_text: str) -> tuple[list[TextBox], list[TextBox]]:
    """A packed table: the header's words as boxes over the cells, the row as one OCR box."""
    row = _box(row_text, 20, 90, 20 + 7 * len(row_text), 110)
    edges = char_edges(row)
    cells = row_text.split("  ")
    header, at = [], 0
    for word, cell in zip(["Time", "Name", "Description", "Priority", "Area", "Status"], cells, strict=False):
        x = round(edges[at])
        header.append(_box(word, x, 60, x + 8 * len(word), 80))
        at += len(cell) + 2
    return header, [_box(" ".join(row_text.split()), *row.bbox)]


def test_priority_and_state_words_are_read_inside_one_merged_box_per_row():
    # one OCR box for the whole row: the description ends in "high", the priority cell says "Critical"
    header, row = _packed("2026-07-21 07:08:54  PT-647  Boiler drum pressure high  Critical  Turbine  Active-ACK")
    facts = _table(header, row)
    assert (facts.tag, facts.priority.value, facts.state.value) == ("PT-647", "1", "acked")
    assert facts.time == "2026-07-21 07:08:54"
    assert "pressure high" in facts.cells["description"] and facts.cells["state"] == "Active-ACK"


def test_a_state_known_only_as_active_or_cleared_is_read_with_lower_confidence():
    header, row = _packed("2026-07-21 07:08:54  PT-647  Steam header pressure low  Low  Turbine  Passive")
    facts = _table(header, row)
    assert (facts.priority.value, facts.state.value) == ("4", "rtn_unacked")
    assert facts.state.confidence < 0.7 < facts.priority.confidence
    learned = parse_profile("state_words: {rtn_unacked: [passive]}\n", "site.yaml")
    sure = _table(header, row, learned)
    assert (sure.state.value, sure.state.source) == ("rtn_unacked", "profile") and sure.state.confidence > 0.9


@pytest.mark.parametrize(("pri", "priority"), [("1", "1"), ("4", "4"), ("950", "1"), ("620", "2"), ("120", "4")])
def test_a_number_in_a_narrow_pri_or_severity_column_is_a_priority(pri, priority):
    header = [_box("Date/Time", 20, 60, 110, 80), _box("Tag", 160, 60, 200, 80), _box("Message", 300, 60, 380, 80),
              _box("Pri", 560, 60, 590, 80), _box("State", 620, 60, 670, 80), _box("PV", 760, 60, 790, 80)]
    row = [_box("2026-10-08", 20, 86, 110, 100), _box("LSHH-1680", 160, 95, 250, 115),
           _box("Boiler drum pressure high", 300, 95, 520, 115), _box(pri, 562, 95, 562 + 9 * len(pri), 115),
           _box("UNACK_RTN", 620, 95, 700, 115), _box("114.8", 760, 95, 800, 115), _box("02:07:45", 20, 108, 90, 124)]
    lines = group_lines(row)
    reader = RowReader(GENERIC)
    head = reader.header(group_lines(header)[0])
    main = max(lines, key=lambda line: len(line.boxes))
    extra = [b for line in lines if line is not main for b in line.boxes]
    facts = reader.read(main, head, extra)
    assert (facts.priority.value, facts.state.value) == (priority, "rtn_unacked")
    assert facts.time is not None and facts.time.endswith("02:07:45")  # the wrapped cell's time


def test_chinese_state_in_two_columns_and_a_priority_character_inside_a_description():
    header = [_box("时间", 20, 60, 60, 80), _box("位号", 170, 60, 210, 80), _box("描述", 280, 60, 320, 80),
              _box("级别", 400, 60, 440, 80), _box("状态", 450, 60, 490, 80), _box("确认", 500, 60, 540, 80)]
    row = [_box("2026-02-02 17:22:19", 20, 90, 160, 110), _box("HS-3726", 170, 90, 250, 110),
           _box("锅炉汽包压力高", 280, 90, 390, 110), _box("恢复", 450, 90, 490, 110), _box("未确认", 500, 90, 560, 110)]
    facts = _table(header, row)
    assert facts.state.value == "rtn_unacked"
    assert facts.priority is None  # 高 ends the description; the level cell is empty: unknown, not "high"


def test_without_a_header_description_words_are_not_taken_for_priority_or_state():
    reader = RowReader(GENERIC)
    line = group_lines([_box("10:42:07 TIC-101.HH High temperature reactor R1 alarm", 0, 0, 500, 20)])[0]
    facts = reader.read(line)
    assert facts.priority is None and facts.state is None  # unknown stays unknown, never "unacked" by default
    line = group_lines([_box("10:42:07 PT-1 Pressure high separator V1 High UNACK", 0, 0, 500, 20)])[0]
    facts = reader.read(line)
    assert (facts.priority.value, facts.state.value) == ("2", "unacked")


@pytest.mark.parametrize(("facts", "state"), [
    (["cleared", "unacked"], ("rtn_unacked", True)), (["active", "acked"], ("acked", True)),
    (["rtn_unacked"], ("rtn_unacked", True)), (["normal"], ("normal", True)),
    (["active"], ("unacked", False)), (["cleared"], ("rtn_unacked", False)),
    (["unacked", "acked"], ("acked", True)),  # a site's learned "Active" (unacked) then "ACK"
])
def test_state_words_combine_into_one_state(facts, state):
    assert combine_states(facts) == state


@pytest.mark.parametrize(("rgb", "name"), [
    ((215, 25, 30), "red"), ((255, 205, 205), "pale red"), ((250, 215, 0), "yellow"), ((0, 80, 210), "blue"),
    ((200, 0, 200), "magenta"), ((160, 162, 166), "grey"), ((30, 33, 38), "black"), ((255, 255, 255), "white"),
])
def test_colour_names(rgb, name):
    assert colour_name(rgb) == name


def _row_pixels(fill, ink, ink_share=0.2) -> np.ndarray:
    pixels = np.array([fill] * 400, np.uint8)
    pixels[: int(400 * ink_share)] = ink
    return pixels


def test_row_colours_white_on_red_and_grey_text_on_white():
    white_on_red = row_colour(_row_pixels((215, 25, 30), (255, 255, 255)))
    assert (white_on_red.fill_name, white_on_red.ink_name) == ("red", None)
    grey = row_colour(_row_pixels((255, 255, 255), (160, 162, 166)))
    black = row_colour(_row_pixels((255, 255, 255), (20, 20, 24)))
    assert grey.fill_name is None and grey.ink_name is None and grey.contrast < 0.6 * black.contrast


def test_badges_go_to_the_label_their_screen_places_them_beside_not_the_nearest():
    # the screen's template: badges 70 px right of their tag (two clear cases show it); LT-101's badge ends 7 px
    # before LT-102, so the nearest label would be the wrong one
    labels = [_box("LT-101", 60, 130, 130, 150), _box("LT-102", 235, 130, 305, 150), _box("LT-103", 500, 130, 570, 150),
              _box("LT-104", 60, 300, 130, 320)]
    badges = [(200, 132, 228, 160), (640, 132, 668, 160), (200, 302, 228, 330)]
    assert [label.text for label in associate_badges(badges, labels)] == ["LT-101", "LT-103", "LT-104"]
    assert associate_badges([(1000, 600, 1020, 620)], labels) == [None]  # nothing near: no tag


def test_under_a_header_without_a_priority_column_description_words_are_not_priorities():
    # "Feed pump P3": P3 is a generic priority word, but this table has no priority column (colour-only priority)
    header = [_box("Time", 20, 60, 60, 80), _box("Tag", 170, 60, 200, 80), _box("Description", 270, 60, 370, 80),
              _box("Ack", 460, 60, 490, 80)]
    row = [_box("2026-11-03 09:18:57", 20, 90, 160, 110), _box("FV-1777", 170, 90, 240, 110),
           _box("Feed pump P3 flow low", 270, 90, 440, 110), _box("RTN", 460, 90, 490, 110)]
    facts = _table(header, row)
    assert facts.priority is None and facts.state.value == "rtn_unacked"
