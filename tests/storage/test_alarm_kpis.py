"""The alarm-system report and shift handover (SQL aggregation on SQLite and PostgreSQL) on a crafted journal whose
ISA-18.2 / EEMUA 191 measures are known exactly, and the `alarm_kpis` tool the model calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.journal import event_key, write_events
from tools.alarm_kpis import alarm_system_report, shift_handover
from tools.alarms import AlarmTools

DAY = datetime(2025, 3, 1, tzinfo=UTC)
END = DAY + timedelta(days=1)


def at(hours: float = 0, seconds: float = 0) -> datetime:
    return DAY + timedelta(hours=hours, seconds=seconds)


def _write(db, events):
    rows = [
        dict(event_key=event_key(m.isoformat(), tag, cond, state), event_time=m, tag=tag, condition=cond, state=state,
             priority=priority, value=None, message=None, operator=by, area=area)
        for m, tag, cond, state, priority, by, area in events
    ]  # fmt: skip
    write_events(db, enumerate(rows))


@pytest.fixture
def plant(db):
    events = []
    for i in range(12):  # a compressor trip: 12 alarms in one 10-minute period
        events.append((at(3, 20 + 30 * i), f"PI-5{i:02d}", "L", "active", 4, None, "Compressor"))
        events.append((at(3.5), f"PI-5{i:02d}", "L", "cleared", 4, None, "Compressor"))
    for s in (50, 70, 100):  # 3 within 50 s across a minute boundary: chattering
        events.append((at(5, s), "LIC-203", "H", "active", 3, None, "Distillation"))
    events.append((at(5, 150), "LIC-203", "H", "shelved", 3, "zhang.min", "Distillation"))
    for s in (0, 40, 65):  # 3 within 65 s: not chattering
        events.append((at(6, s), "TIC-201", "H", "active", 3, None, "Distillation"))
    events += [
        (at(8), "TIC-101", "HH", "active", 1, None, "Reactor"),
        (at(8, 30), "TIC-101", "HH", "acknowledged", 1, "li.wei", "Reactor"),
        (at(8, 600), "TIC-101", "HH", "cleared", 1, None, "Reactor"),
        (at(9), "PIC-102", "L", "active", 2, None, "Reactor"),
        (at(9, 1), "PIC-102", "L", "cleared", 2, None, "Reactor"),  # fleeting
        (at(9, 300), "PIC-102", "L", "acknowledged", 2, "li.wei", "Reactor"),  # acked after the clear
        (at(-60), "TIC-401", "HH", "active", 2, None, "Tank Farm"),  # standing since before the window: stale
        (at(10), "P-607", "TRIP", "out_of_service", 2, "maintenance", "Utilities"),
    ]
    _write(db, events)
    return db


def test_report_measures_match_the_crafted_journal(plant):
    report = alarm_system_report(plant, DAY, END)
    value = {m.key: m.value for m in report.measures}
    verdict = {m.key: m.verdict for m in report.measures}
    assert report.activations == 20 and value["per_day"] == 20.0 and verdict["per_day"] == "ok"
    assert value["peak_10min"] == 12 and verdict["peak_10min"] == "bad"
    assert value["flood_pct"] == pytest.approx(100 / 144) and verdict["flood_pct"] == "ok"
    assert report.chattering == ["LIC-203.H"] and value["chattering"] == 1
    assert value["fleeting"] == 1 and value["stale"] == 1
    assert (value["tta_p50"], value["tta_p90"]) == (30.0, 300.0)
    assert report.bad_actors[0].alarm in ("LIC-203.H", "TIC-201.H") and report.bad_actors[0].share_pct == 15.0
    assert value["top10_share"] == pytest.approx(70.0) and verdict["top10_share"] == "bad"
    assert value["shelved"] == 1 and value["out_of_service"] == 1
    assert sum(p.activations for p in report.rate) == 20 and report.rate_step == "hour" and len(report.rate) == 24
    assert report.rate[3].activations == 12
    assert (
        "LIC-203.H: active since 2025-03-01 05:01:40Z (18h 58m); shelved since 2025-03-01 05:02:30Z by zhang.min"
        in report.as_text()
    )


def test_report_for_one_area_counts_only_that_area(plant):
    report = alarm_system_report(plant, DAY, END, area="Reactor")
    assert report.activations == 2 and [a.alarm for a in report.standing] == []


def test_handover_lists_new_active_stale_acks_and_restrictions(plant):
    handover = shift_handover(plant, at(4), at(12))
    assert handover.new_activations == 8 and handover.acknowledged_by == {"li.wei": 2}
    assert [a.alarm for a in handover.stale] == ["TIC-401.HH"]
    assert {a.alarm for a in handover.restricted} == {"LIC-203.H", "P-607.TRIP"}
    text = handover.as_text()
    assert "acknowledged by: li.wei 2" in text and "P-607.TRIP: out of service since 2025-03-01 10:00:00Z" in text


def test_alarm_kpis_tool_answers_the_night_shift_and_tells_back_bad_windows(plant):
    tools = AlarmTools(plant, clock=lambda: END)
    assert "alarm_kpis" in {t.name for t in tools.tools()}
    night = tools.alarm_kpis(since="2025-03-01T02:00:00Z", until="2025-03-01T06:00:00Z")
    assert (
        night.error is None
        and night.data.activations == 15
        and "Peak alarms in one 10-minute period: 12" in night.output
    )
    assert "not before" in tools.alarm_kpis(since="1h", until="2h").error


def test_whole_hours_are_cached_and_forgotten_when_events_land_in_them(plant):
    from sqlalchemy import func, select

    from storage.models import AlarmKpiHour

    window = (DAY - timedelta(minutes=30), END + timedelta(minutes=30))
    first = alarm_system_report(plant, *window)
    with plant.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AlarmKpiHour)) == 6  # the whole hours with events
    again = alarm_system_report(plant, *window)
    assert again.measures == first.measures and again.rate == first.rate  # from the cache: the same report
    _write(plant, [(at(8, 1200), "TIC-101", "HH", "active", 1, None, "Reactor")])
    with plant.engine.connect() as conn:
        hours = set(conn.scalars(select(AlarmKpiHour.hour)))
    assert "2025-03-01T08" not in hours and len(hours) == 5
    assert alarm_system_report(plant, *window).activations == first.activations + 1
