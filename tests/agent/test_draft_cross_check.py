"""The draft answer says where the screen and the plant's alarm definitions disagree (issue 15, item 4): real
AlarmTools over a real SQLite demo plant, the screen given as parsed elements."""

from __future__ import annotations

import pytest

from agent.answer import Answer
from agent.draft import compose_draft, disagreements
from perception.screen import Element, ScreenParse
from storage.db import open_database
from storage.definitions import upsert_definitions
from storage.demo import demo_definitions
from tools.alarms import AlarmTools


@pytest.fixture
def lookup(sqlite_url):
    db = open_database(sqlite_url)
    upsert_definitions(db, demo_definitions(42))  # TIC-101.HH: priority 1, "R-101 reactor temperature high-high"
    tools = {t.name: t for t in AlarmTools(db).tools()}
    return lambda name, arguments: tools[name](arguments)


def _screen(priority: str, source: str, description: str) -> ScreenParse:
    banner = Element(id=1, kind="banner", bbox=(0, 0, 600, 30), text=f"10:42:07 TIC-101.HH {description}",
                     tag="TIC-101.HH", priority=priority, priority_source=source, confidence=0.9)
    return ScreenParse(width=800, height=600, elements=[banner])


def test_a_priority_read_from_colour_that_the_definition_contradicts_is_noted_in_draft_and_model_answer(lookup):
    draft, _ = compose_draft("what is this?", _screen("3", "colour", "R-101 reactor temperature high-high"), lookup,
                             language="en")
    notes = [n for n in draft.notes if n.startswith("Screen vs alarm database")]
    assert notes == ["Screen vs alarm database: the screen shows TIC-101.HH as priority 3 (read from its colour), "
                     "the alarm database has priority 1."]
    model_answer = Answer(language="en", on_screen="banner", alarm_tag="TIC-101.HH")
    assert disagreements(draft, model_answer) == notes  # the model's answer carries the same remark


def test_an_agreeing_screen_adds_no_remark_and_a_different_description_does(lookup):
    agreeing, _ = compose_draft("?", _screen("1", "word", "R-101 reactor temperature high-high"), lookup,
                                language="en")
    assert not [n for n in agreeing.notes if n.startswith("Screen vs alarm database")]
    other, _ = compose_draft("这是什么？", _screen("1", "word", "Feed pump tripped"), lookup, language="zh")
    assert any(n.startswith("画面与报警数据库不一致") and "Feed pump tripped" in n for n in other.notes)


def test_a_reworded_description_with_the_same_words_is_not_reported_as_different(lookup):
    # the demo screen abbreviates and reorders the configured description; that is no disagreement
    reworded, _ = compose_draft("?", _screen("1", "word", "High temperature reactor R1"), lookup, language="en")
    assert not [n for n in reworded.notes if n.startswith("Screen vs alarm database")]
