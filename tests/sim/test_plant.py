"""The simulated unit without Tk: scenario files, the timeline, the alarm lifecycle, and the journal it writes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from agent.sim.__main__ import main as sim_main
from agent.sim.journal import Journal
from agent.sim.plant import Plant
from agent.sim.scenario import DEFAULT_SCENARIO, ScenarioError, load_scenario
from storage.db import open_database
from storage.definitions import import_definitions
from storage.models import AlarmDefinition, AlarmEvent, AlarmSource
from storage.rows import normalize_condition

SCENARIO = """
title: Test unit
area: T1
tags:
  LT-1: {description: Drum level, unit: "%", kind: level, value: 40}
  P-1: {description: Pump, kind: pump, value: running}
timeline:
  - {at: 10, set: {LT-1: 90}}
  - {at: 2, alarm: {tag: LT-1, condition: HI, priority: 3, description: Drum level high}}
  - {at: 4, alarm: {tag: P-1, condition: TRIP, priority: 1, description: Pump tripped, latched: true}}
  - {at: 4, set: {P-1: tripped}}
  - {at: 6, alarm: {tag: LT-1, condition: HIHI, priority: 3, description: Drum level high high}}
  - {at: 8, clear: {tag: P-1, condition: TRIP}}
  - {at: 12, clear: {tag: LT-1, condition: HI}}
"""


class TickingClock:
    def __init__(self):
        self.now = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "unit.yaml"
    path.write_text(SCENARIO)
    return load_scenario(path)


def test_the_shipped_scenario_loads():
    scenario = load_scenario(DEFAULT_SCENARIO)
    assert scenario.duration > 60 and {"level", "pump", "value"} == {t.kind for t in scenario.tags.values()}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title: [unclosed", "not valid YAML"),
        ("title: x\ntags: {}\ntimeline: [{at: 1, clear: {tag: NOPE, condition: HI}}]", "names tag 'NOPE'"),
        ("title: x\ntags: {A: {description: a, value: 1}}\ntimeline: [{at: 1}]", "exactly one of set, alarm, clear"),
        ("title: x\ntags: {A: {description: a, value: 1}}\ntimeline: [{at: 1, alarm: {tag: A, condition: HI, priority: 7}}]", "timeline.0.alarm.priority"),
        ("title: x\ntags: {A: {description: a, kind: pump, value: 3}}", "needs a pump state"),
        ("title: x\ntags: {}\nextra: 1", "extra"),
    ],
)
def test_bad_scenarios_are_named(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match="bad.yaml") as caught:
        load_scenario(path)
    assert message in str(caught.value)


def test_missing_scenario_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        sim_main(["--scenario", str(tmp_path / "missing.yaml")])
    assert exit.value.code == 2
    assert capsys.readouterr().err.strip().startswith("hmi-sim: error: can't read scenario")


def test_values_ramp_between_keyframes_and_states_step(scenario):
    plant = Plant(scenario)
    plant.advance_to(5)
    assert plant.value("LT-1") == pytest.approx(65) and plant.value("P-1") == "tripped"
    plant.advance_to(30)
    assert plant.value("LT-1") == 90


def test_alarm_lifecycle_and_banner(scenario):
    journal = []
    plant = Plant(scenario, journal=journal.append, clock=TickingClock())
    plant.advance_to(6)
    assert [(a.tag, a.condition, a.state) for a in plant.listed()] == [("P-1", "TRIP", "UNACK"), ("LT-1", "HIHI", "UNACK"), ("LT-1", "HI", "UNACK")]
    assert plant.banner().tag == "P-1" and plant.horn
    assert plant.acknowledge("ana")  # the banner's alarm: the most urgent
    assert plant.banner().condition == "HIHI"  # then the newest of the next priority
    plant.select(next(a.id for a in plant.alarms if a.condition == "HI"))
    assert plant.acknowledge("ana") and plant.banner().condition == "HIHI"
    plant.advance_to(12)
    assert [(a.tag, a.condition, a.state) for a in plant.listed()] == [("P-1", "TRIP", "RTN LATCHED"), ("LT-1", "HIHI", "UNACK")]
    assert plant.acknowledge_all("bo") and not plant.acknowledge_all("bo") and plant.banner() is None
    assert plant.silence() and not plant.horn
    assert plant.reset() and [a.condition for a in plant.listed()] == ["HIHI"]
    states = [(t.tag, t.condition, t.state, t.operator) for t in journal]
    assert states == [
        ("LT-1", "HI", "active", None),
        ("P-1", "TRIP", "active", None),
        ("LT-1", "HIHI", "active", None),
        ("P-1", "TRIP", "acknowledged", "ana"),
        ("LT-1", "HI", "acknowledged", "ana"),
        ("P-1", "TRIP", "cleared", None),
        ("LT-1", "HI", "cleared", None),
        ("LT-1", "HIHI", "acknowledged", "bo"),
    ]


def test_cleared_before_acknowledged_stays_until_acknowledged(scenario):
    plant = Plant(scenario)
    plant.advance_to(12)
    hi = next(a for a in plant.alarms if a.condition == "HI")
    assert hi.state == "RTN UNACK"
    assert plant.acknowledge("ana", hi.id) and hi not in plant.alarms


def test_transitions_land_in_the_alarm_journal(scenario, sqlite_url):
    journal = Journal.open(sqlite_url, area=scenario.area)
    plant = Plant(scenario, journal=journal, clock=TickingClock())
    plant.advance_to(4)
    plant.acknowledge_all("ana")
    with journal.db.session() as session:
        rows = session.scalars(select(AlarmEvent).order_by(AlarmEvent.event_time)).all()
        sources = session.scalars(select(AlarmSource)).all()
    assert [(r.tag, r.state, r.operator, r.area) for r in rows] == [
        ("LT-1", "active", None, "T1"),
        ("P-1", "active", None, "T1"),
        ("P-1", "acknowledged", "ana", "T1"),
        ("LT-1", "acknowledged", "ana", "T1"),
    ]
    assert rows[0].priority == 3 and rows[0].message == "Drum level high" and rows[0].value == pytest.approx(50)
    assert rows[1].value is None  # a pump state is not a number
    assert rows[0].event_time.tzinfo is not None
    assert rows[0].condition == "H"  # normalised like imported journals (HI -> H, HIHI -> HH)
    assert {(s.tag, s.condition) for s in sources} == {("LT-1", "H"), ("P-1", "TRIP")}


def test_the_shipped_definitions_cover_the_shipped_scenario(sqlite_url):
    db = open_database(sqlite_url)
    import_definitions(db, DEFAULT_SCENARIO.with_name("feed_unit_definitions.yaml"))
    with db.session() as session:
        defined = {(d.tag, d.condition) for d in session.scalars(select(AlarmDefinition))}
    raised = {(e.alarm.tag, normalize_condition(e.alarm.condition)) for e in load_scenario(DEFAULT_SCENARIO).timeline if e.alarm}
    assert raised == defined
