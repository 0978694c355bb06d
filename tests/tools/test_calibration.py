"""Calibration from the plant's own alarm database (tools.calibration) on parsed screens given as data (no OCR), and
the screen-vs-definition cross-check, against a real SQLite alarm database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from perception.screen.model import Element, ScreenParse
from perception.screen.profile import load_profile
from storage.db import open_database
from storage.definitions import import_definitions
from storage.journal import import_journal
from tools.alarm_results import AlarmDefinitionOut
from tools.calibration import calibrate, learned_profile
from tools.screen_check import is_screen_check, screen_vs_definitions

GENERIC = load_profile()
# tag, condition, configured priority, raised at, state transitions after it (seconds later)
PLANT = [
    ("TT-101", "H", 1, "2026-03-01T10:00:05", []),
    ("PT-102", "", 2, "2026-03-01T10:01:10", [(30, "acknowledged")]),
    ("FT-103", "L", 2, "2026-03-01T10:02:20", [(60, "cleared")]),
    ("LT-104", "", 4, "2026-03-01T10:03:30", []),
    ("LT-105", "", 4, "2026-03-01T10:04:40", [(20, "acknowledged"), (50, "cleared")]),
    ("XV-106", "", 3, "2026-03-01T10:05:50", []),
]


@pytest.fixture
def plant_db(sqlite_url, tmp_path):
    """The plant's definitions and journal, imported from CSV files as a site would."""
    definitions = ["tag,condition,description,priority"] + [f"{t},{c},{t} alarm,{p}" for t, c, p, _, _ in PLANT]
    journal = ["event_time,tag,condition,state"]
    for tag, condition, _, raised, after in PLANT:
        start = datetime.fromisoformat(raised).replace(tzinfo=UTC)
        journal.append(f"{start:%Y-%m-%dT%H:%M:%SZ},{tag},{condition},active")
        journal += [f"{start + timedelta(seconds=s):%Y-%m-%dT%H:%M:%SZ},{tag},{condition},{state}" for s, state in after]
    (tmp_path / "definitions.csv").write_text("\n".join(definitions) + "\n")
    (tmp_path / "journal.csv").write_text("\n".join(journal) + "\n")
    db = open_database(sqlite_url)
    import_definitions(db, tmp_path / "definitions.csv")
    import_journal(db, tmp_path / "journal.csv")
    return db


def _row(i: int, tag: str, time: str, colour: str | None, state_cell: str, priority: str | None = None,
         source: str | None = None) -> Element:
    return Element(id=i, kind="alarm_row", bbox=(0, 20 * i, 600, 20 * i + 18), text=f"{time} {tag} x", tag=tag,
                   time=time, confidence=0.9, colour=colour, priority=priority, priority_source=source,
                   cells={"time": time, "tag": tag, "description": "x", "state": state_cell})


def _screen() -> ScreenParse:
    # the site: yellow rows are priority 2 (3 in the generic map), grey text is 4; "Passive" = cleared, not acked
    rows = [_row(1, "TT-101.H", "11:00:05", "red", "Active"), _row(2, "PT-102", "11:01:10", "yellow", "Active-ACK"),
            _row(3, "FT-103.L", "11:02:20", "yellow", "Passive"), _row(4, "LT-104", "11:03:30", "grey", "Active"),
            _row(5, "LT-105", "11:04:40", "grey", "Normal"), _row(6, "QQ-999", "11:06:00", "red", "Active")]
    return ScreenParse(width=800, height=600, elements=rows)


def test_learns_the_sites_colours_and_state_words_from_definitions_and_journal(plant_db):
    calibration = calibrate({"one.png": _screen()}, plant_db, GENERIC)
    learned = {(f.what, f.key): f.value for f in calibration.learned}
    assert learned[("colours", "yellow")] == "2" and learned[("colours", "grey")] == "4"
    assert learned[("state_words", "passive")] == "rtn_unacked"  # screen shows 11:02:20, journal 10:02:20 UTC
    assert ("state_words", "active ack") not in learned  # the generic words read it right already
    assert calibration.own_colours_only  # yellow contradicts the generic map: unseen colours must not keep it
    assert calibration.unmatched == ["QQ-999"]
    report = calibration.report()
    assert "'yellow' -> 2  (2 alarm(s): PT-102, FT-103.L)" in report and "QQ-999" in report
    profile = learned_profile(calibration, "site", "generic")  # what `profile learn --out` writes, read back
    assert profile.colours["yellow"].meaning == "2" and "blue" not in profile.colours
    assert profile.state_words["passive"].meaning == "rtn_unacked"


def test_contradicting_evidence_is_reported_as_ambiguous_not_learned(plant_db):
    screen = _screen()
    screen.elements[0] = _row(1, "TT-101.H", "11:00:05", "yellow", "Active")  # yellow on a priority-1 alarm too
    screen.elements[5] = _row(6, "XV-106", "11:05:50", "yellow", "Active")  # ... and on a priority 3 one
    calibration = calibrate({"one.png": screen}, plant_db, GENERIC)
    assert ("colours", "yellow") not in {(f.what, f.key) for f in calibration.learned}
    assert any("'yellow' means different things" in a for a in calibration.ambiguous)


def test_no_tag_in_the_database_learns_nothing(plant_db):
    screen = ScreenParse(width=800, height=600, elements=[_row(1, "QQ-1", "11:00:00", "red", "Active")])
    calibration = calibrate({"x.png": screen}, plant_db, GENERIC)
    assert calibration.evidence == [] and calibration.learned == []


def _definition(**fields) -> AlarmDefinitionOut:
    return AlarmDefinitionOut(**{"tag": "TT-101", "condition": "H", "description": "Reactor temperature high",
                                 "priority": 1, **fields})


def test_cross_check_says_where_screen_and_definition_disagree():
    row = Element(id=3, kind="alarm_row", bbox=(0, 0, 10, 10), text="10:42:07 TT-101.H Reactor temperature high",
                  tag="TT-101.H", priority="3", priority_source="colour", confidence=0.9)
    notes = screen_vs_definitions(row, [_definition()], "en")
    assert notes == [f"Screen vs alarm database: the screen shows {_definition().name} as priority 3 (read from its "
                     "colour), the alarm database has priority 1."]
    assert is_screen_check(notes[0])
    wrong_text = row.model_copy(update={"text": "10:42:07 TT-101.H Feed pump tripped", "priority": "1"})
    (note,) = screen_vs_definitions(wrong_text, [_definition()], "zh")
    assert note.startswith("画面与报警数据库不一致") and "Feed pump tripped" in note
    agreeing = row.model_copy(update={"priority": "1"})
    assert screen_vs_definitions(agreeing, [_definition()], "en") == []
    unknown = row.model_copy(update={"priority": None, "priority_source": None})
    assert screen_vs_definitions(unknown, [_definition()], "en") == []  # unknown on screen: nothing to contradict
