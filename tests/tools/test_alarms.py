"""The alarm tools on crafted journals (exact ISA-18.2 thresholds) and on the example plant."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import open_database
from storage.definitions import import_definitions
from storage.journal import event_key, write_events
from tools.alarms import AlarmTools

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plant"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(sqlite_url):
    database = open_database(sqlite_url)
    import_definitions(database, EXAMPLES / "definitions.yaml")
    yield database
    database.close()


@pytest.fixture
def tools(db) -> AlarmTools:
    return AlarmTools(db, clock=lambda: NOW)


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


def journal(db, *events: tuple) -> None:
    """events: (moment, tag, condition, state[, area])."""
    rows = []
    for moment, tag, condition, state, *area in events:
        rows.append(
            dict(event_key=event_key(moment.isoformat(), tag, condition, state), event_time=moment, tag=tag,
                 condition=condition, state=state, priority=2, value=None, message=None,
                 operator="li.wei" if state == "acknowledged" else None, area=area[0] if area else "Reactor")
        )  # fmt: skip
    write_events(db, enumerate(rows))


def activations(tag: str, condition: str, *moments: datetime, area: str = "Reactor") -> list[tuple]:
    return [(m, tag, condition, "active", area) for m in moments]


def history(tools, tag="TIC-101.HH", **kwargs):
    result = tools.alarm_history(tag, **kwargs)
    assert result.error is None, result.error
    return result.data


# --- ISA-18.2 flags at their thresholds -------------------------------------------------------------


@pytest.mark.parametrize("third_after_s, chattering", [(59.9, True), (60.0, False)])
def test_chattering_is_three_activations_within_60s(db, tools, third_after_s, chattering):
    start = ago(hours=2)
    journal(
        db,
        *activations("TIC-101", "HH", start, start + timedelta(seconds=20), start + timedelta(seconds=third_after_s)),
    )
    data = history(tools)
    assert data.flags.chattering is chattering
    assert data.flags.max_activations_in_60s == (3 if chattering else 2)


def test_two_quick_activations_do_not_chatter(db, tools):
    journal(db, *activations("TIC-101", "HH", ago(hours=1), ago(hours=1) + timedelta(seconds=5)))
    assert not history(tools).flags.chattering


@pytest.mark.parametrize(
    "events, stale",
    [
        ([("active", dict(hours=24, seconds=1))], True),  # still active for just over a day
        ([("active", dict(hours=23))], False),
        ([("active", dict(hours=30)), ("cleared", dict(hours=6))], False),  # active exactly 24 h
        ([("active", dict(hours=30)), ("cleared", dict(hours=5, seconds=59))], True),
    ],
)
def test_stale_is_active_for_more_than_24h(db, tools, events, stale):
    journal(db, *[(ago(**delta), "TIC-101", "HH", state) for state, delta in events])
    assert history(tools).flags.stale is stale


def test_alarm_standing_since_before_the_window_is_stale_and_active(db, tools):
    journal(
        db,
        (ago(days=10), "TIC-101", "HH", "active"),
        (ago(days=10) + timedelta(minutes=2), "TIC-101", "HH", "acknowledged"),
    )
    data = history(tools, since="24h")
    assert data.activations == 0
    assert data.flags.stale and data.still_active == 1
    (state,) = data.states
    assert (state.state, state.active_since) == ("active_acked", ago(days=10))
    assert "ACTIVE, acknowledged since" in tools.alarm_history("TIC-101.HH", since="24h").output


@pytest.mark.parametrize("count, span_s, flood", [(10, 599, True), (10, 600, False), (9, 60, False)])
def test_flood_is_ten_area_activations_within_10_minutes(db, tools, count, span_s, flood):
    start = ago(hours=3)
    step = timedelta(seconds=span_s / (count - 1))
    others = [(start + step * i, f"XT-{i}", "H", "active", "Reactor") for i in range(1, count)]
    far_away = [(start + timedelta(seconds=i), f"ZT-{i}", "H", "active", "Boiler") for i in range(20)]
    journal(db, *activations("TIC-101", "HH", start), *others, *far_away)
    data = history(tools)
    assert data.flags.flood is flood
    assert data.flags.activations_in_flood == (1 if flood else 0)
    assert data.recent[0].in_flood is flood


def test_flood_counts_only_activations_near_the_alarm(db, tools):
    start = ago(days=3)
    flood = [(start + timedelta(seconds=10 * i), f"XT-{i}", "H", "active") for i in range(12)]
    journal(db, *flood, *activations("TIC-101", "HH", start + timedelta(minutes=30)))
    assert not history(tools).flags.flood


# --- statistics, state, window ---------------------------------------------------------------------------


def test_statistics_state_and_recent_occurrences(db, tools):
    t = ago(hours=5)
    journal(
        db,
        (t, "TIC-101", "HH", "active"),
        (t + timedelta(seconds=30), "TIC-101", "HH", "acknowledged"),
        (t + timedelta(minutes=10), "TIC-101", "HH", "cleared"),
        (t + timedelta(hours=1), "TIC-101", "HH", "active"),
        (t + timedelta(hours=1, seconds=90), "TIC-101", "HH", "acknowledged"),
        (t + timedelta(hours=1, minutes=30), "TIC-101", "HH", "cleared"),
        (t + timedelta(hours=2), "TIC-101", "HH", "active"),
        (t + timedelta(hours=2, minutes=5), "TIC-101", "HH", "cleared"),
        (t + timedelta(hours=3), "TIC-101", "HH", "active"),
        (t + timedelta(hours=3, minutes=1), "TIC-101", "H", "active"),
    )
    data = history(tools, limit=2)
    assert (data.activations, data.first_activation, data.last_activation) == (4, t, t + timedelta(hours=3))
    assert (data.time_to_ack.count, data.time_to_ack.mean_s, data.time_to_ack.median_s, data.time_to_ack.max_s) == (
        2,
        60,
        60,
        90,
    )
    assert (data.active_duration.count, data.active_duration.median_s, data.active_duration.max_s) == (3, 600, 1800)
    assert data.unacknowledged == 2 and data.still_active == 1
    assert [s.state for s in data.states] == ["active_unacked"]
    assert [o.activated_at for o in data.recent] == [t + timedelta(hours=3), t + timedelta(hours=2)]
    everything = history(tools, tag="TIC-101")  # no condition: both of the tag's conditions
    assert everything.condition is None and everything.activations == 5
    assert {s.condition: s.state for s in everything.states} == {"H": "active_unacked", "HH": "active_unacked"}


def test_window_bounds_accept_durations_and_timestamps(db, tools):
    journal(db, *activations("TIC-101", "HH", ago(days=10), ago(days=3), ago(hours=1)))
    assert history(tools, since="7d").activations == 2
    assert history(tools, since="4w", until="2d").activations == 2
    assert history(tools, since=ago(days=11).isoformat(), until=ago(days=9).isoformat()).activations == 1
    assert history(tools, since="30m").activations == 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(since="lately"), "'lately' is neither a duration"),
        (dict(since="1h", until="2h"), "is not before until"),
        (dict(since="800d"), "longer than 366 days"),
    ],
)
def test_bad_windows_are_told_back(tools, kwargs, message):
    result = tools.alarm_history("TIC-101.HH", **kwargs)
    assert result.error and message in result.error


def test_shelved_and_suppressed_show_in_the_state(db, tools):
    journal(
        db,
        (ago(hours=2), "P-607", "TRIP", "suppressed", "Utilities"),
        (ago(hours=1), "LIC-203", "H", "shelved", "Distillation"),
    )
    assert history(tools, tag="P-607").states[0].suppressed
    assert history(tools, tag="LIC-203.H").states[0].shelved


def test_shelving_out_of_service_and_design_suppression_are_told_with_their_start(db, tools):
    shelved_at = ago(hours=30)
    chatter = [ago(hours=29) + timedelta(minutes=i) for i in range(60)]  # more than the replayed transitions
    journal(
        db,
        (shelved_at, "LIC-203", "H", "shelved", "Distillation"),
        *activations("LIC-203", "H", *chatter, area="Distillation"),
        (ago(hours=5), "P-607", "TRIP", "out_of_service", "Utilities"),
        (ago(hours=3), "TIC-101", "HH", "suppressed_by_design"),
        (ago(hours=4), "TIC-101", "H", "out_of_service"),
        (ago(hours=2), "TIC-101", "H", "in_service"),
    )
    text = tools.alarm_history("LIC-203.H").output
    assert "SHELVED since 2025-02-28 06:00:00Z (1d 6h)" in text
    assert history(tools, tag="P-607").states[0].out_of_service
    assert "OUT OF SERVICE since 2025-03-01 07:00:00Z (5h)" in tools.alarm_history("P-607").output
    states = {s.condition: s for s in history(tools, tag="TIC-101").states}
    assert states["HH"].suppressed_by_design and not states["H"].out_of_service  # returned to service
    meaning = tools.alarm_definition("LIC-203.H").output  # "what does it mean" says so too
    assert "NOTE: LIC-203.H is SHELVED since 2025-02-28 06:00:00Z (1d 6h)" in meaning


def test_example_plant_history_text_and_json(db, tools):
    from storage.journal import import_journal

    import_journal(db, EXAMPLES / "journal.csv")
    result = tools.alarm_history("TIC-401", since="7d", limit=3)
    assert "STALE" in result.output and "ACTIVE, acknowledged" in result.output
    flood = tools.alarm_history("VI-505", since="7d").data
    assert flood.flags.flood
    payload = json.loads(flood.model_dump_json())
    assert payload["flags"]["flood"] is True and payload["until"].endswith("Z")


# --- definitions and fuzzy tag matching ----------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling, matched, how, confidence",
    [
        ("TIC-101.HH", ["TIC-101.HH"], "exact", 1.0),
        ("tic101 hh", ["TIC-101.HH"], "exact", 1.0),
        ("TIC-101 HI HI", ["TIC-101.HH"], "exact", 1.0),
        ("TIC1O1.HIGH", ["TIC-101.H"], "ocr_confusion", 0.95),
        ("TIC-101", ["TIC-101.H", "TIC-101.HH"], "tag_only", 0.9),
        ("P-6O7", ["P-607.TRIP"], "tag_only", 0.85),
        ("ＴＩＣ－１０１．ＨＨ", ["TIC-101.HH"], "exact", 1.0),  # full-width OCR output
    ],
)
def test_definition_matches_tags_as_read_on_screen(tools, spelling, matched, how, confidence):
    result = tools.alarm_definition(spelling)
    data = result.data
    assert [m.name for m in data.match.matches] == matched
    assert (data.match.how, data.match.confidence) == (how, confidence)
    assert [d.name for d in data.definitions] == matched
    assert matched[0] in result.output


def test_definition_text_is_bilingual_with_guidance(tools):
    text = tools.alarm_definition("TIC-101.HH").output
    assert "R-101反应器温度高高" in text and "priority 1 (critical)" in text and "respond within 5m" in text
    assert "action: Check cooling water" in text and "检查冷却水泵" in text


def test_near_spelling_is_a_fuzzy_match_that_says_so(tools):
    data = tools.alarm_definition("TC-101.HH").data  # a letter lost by OCR; the loop number agrees
    assert data.match.how == "fuzzy" and data.match.matches[0].name == "TIC-101.HH"
    assert 0.5 < data.match.confidence < 0.95



@pytest.mark.parametrize(
    "spelling",
    [
        "TIC-110.HH",  # another loop number of the same length is another instrument, not a misreading
        "TIC-102",
        "TIC-1011.HH",  # an extra digit is another loop too
        "TIC-101.L",  # a condition the tag does not have: low is not high
        "TIC-101.LL",
    ],
)
def test_a_different_loop_number_or_condition_is_no_match_only_a_suggestion(spelling):
    from tools.alarm_matching import TagMatcher

    matcher = TagMatcher([("TIC-101", "H"), ("TIC-101", "HH")])
    assert matcher.match(spelling) is None
    assert "TIC-101" in {c.tag for c in matcher.suggestions(spelling)}
    assert matcher.match("TlC-101.HH").matches[0].name == "TIC-101.HH"  # a misread letter still matches

def test_several_close_candidates_are_listed(db, tools):
    journal(db, *activations("PIC-777", "H", ago(hours=1)), *activations("TIC-777", "H", ago(hours=2)))
    result = tools.alarm_definition("IC-777.H")  # the first letter lost: pressure or temperature loop 777
    assert result.data.match.ambiguous
    assert {m.tag for m in result.data.match.matches} == {"PIC-777", "TIC-777"}
    assert "several alarms fit" in result.output
    assert "is ambiguous" in tools.alarm_history("IC-777.H").error


def test_a_loop_number_missing_a_digit_is_only_suggested(tools):
    error = tools.alarm_definition("LIC-03").error
    assert error.startswith("unknown alarm tag 'LIC-03'") and "LIC-203" in error


def test_unknown_tag_is_an_error_naming_it_with_suggestions(tools):
    result = tools.alarm_definition("FQ-104")
    assert result.error.startswith("unknown alarm tag 'FQ-104'") and "did you mean" in result.error
    assert "no similar tag" in tools.alarm_history("QQQQQQQQ").error


def test_journal_only_alarm_matches_without_definition(db, tools):
    journal(db, *activations("ZZ-1", "H", ago(hours=1)))
    result = tools.alarm_definition("ZZ-1.H")
    assert result.error is None and "no definition on file for ZZ-1.H" in result.output


def test_tools_expose_bounded_schemas(tools):
    by_name = {t.name: t for t in tools.tools()}
    assert {"alarm_definition", "alarm_history", "alarm_kpis"} <= set(by_name)
    kpis = by_name["alarm_kpis"].schema()["function"]["parameters"]["properties"]
    assert set(kpis) == {"since", "until", "area"} and all(p.get("description") for p in kpis.values())
    params = by_name["alarm_history"].schema()["function"]["parameters"]
    assert params["properties"]["limit"]["maximum"] == 50 and params["required"] == ["tag"]
    assert "ISO timestamp" in params["properties"]["since"]["description"]
    assert "limit=0" in by_name["alarm_history"]({"tag": "TIC-101", "limit": 0}).error
    assert by_name["alarm_definition"]({"tag": "TIC-101.HH"}).data.definitions
