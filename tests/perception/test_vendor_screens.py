"""The screen parser (real RapidOCR) on other vendors' styles (bench/screens/vendors/, made by its generate.py): one
clean screen per style read with the generic profile, the overview's badges, and a profile calibrated from one
screen of a product and its plant database carrying to another screen of that product."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from perception.screen import load_profile, parse_screen
from perception.screen.scoring import Score, score_parse
from storage.db import open_database
from storage.definitions import import_definitions
from storage.journal import import_journal
from tools.calibration import calibrate, learned_profile

VENDORS = Path(__file__).resolve().parents[2] / "bench" / "screens" / "vendors"
pytestmark = pytest.mark.slow


def _screen(name: str) -> tuple[Image.Image, dict]:
    truth = json.loads((VENDORS / name.split("_")[0] / f"{name}.json").read_text())
    return Image.open(VENDORS / truth["style"] / truth["image"]).convert("RGB"), truth


@pytest.mark.parametrize("name", ["packed_01", "codes_02", "severity_02", "zh_04", "classic_01"])
def test_rows_tags_priorities_and_states_of_a_vendor_style_with_the_generic_profile(name):
    image, truth = _screen(name)
    score = score_parse(parse_screen(image), truth)
    assert score.row_recall == 1.0 and score.tag_accuracy == 1.0, score.misread_tags
    assert score.priorities_right >= 0.9 * score.rows and score.states_right >= 0.9 * score.rows


def test_overview_badges_are_given_the_equipment_they_are_placed_beside():
    image, truth = _screen("overview_00")
    score = score_parse(parse_screen(image), truth)
    assert score.indicators_tagged >= 15 and score.badge_association >= 0.95


def test_a_profile_learned_from_one_screen_carries_to_the_products_other_screens(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'plant.sqlite'}")
    import_definitions(db, VENDORS / "colour" / "definitions.csv")
    import_journal(db, VENDORS / "colour" / "journal.csv")
    first, _ = _screen("colour_00")
    calibration = calibrate({"colour_00": parse_screen(first)}, db, load_profile())
    profile = learned_profile(calibration, "colour-site", "generic")
    assert profile.colours["yellow"].meaning == "2"  # this site's yellow; the generic map says 3

    image, truth = _screen("colour_02")
    generic, site = Score(), Score()
    generic += score_parse(parse_screen(image), truth)
    calibrated = parse_screen(image, profile=profile)
    site += score_parse(calibrated, truth)
    assert site.priorities_right >= 0.9 * site.rows > generic.priorities_right
    assert {r.priority_source for r in calibrated.of_kind("alarm_row") if r.priority} == {"profile"}
