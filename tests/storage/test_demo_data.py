"""The generated demo plant: seeded, reproducible journals with areas, bilingual definitions and nuisance alarms."""

from collections import Counter
from datetime import UTC, datetime

from storage.demo import demo_definitions, demo_events
from storage.journal import write_events

END = datetime(2025, 3, 1, tzinfo=UTC)


def test_same_seed_same_journal_and_different_seed_differs():
    first = list(demo_events(10, seed=7, end=END))
    assert first == list(demo_events(10, seed=7, end=END))
    assert first != list(demo_events(10, seed=8, end=END))
    assert all(datetime(2025, 2, 19, tzinfo=UTC) <= r["event_time"] <= END for r in first)


def test_plant_has_areas_bilingual_definitions_and_nuisance_alarms():
    definitions = demo_definitions()
    assert len({d["tag"] for d in definitions}) == 42 and len({d["area"] for d in definitions}) == 6
    assert all(d["description_zh"] and d["corrective_action_zh"] for d in definitions)
    states = Counter(r["state"] for r in demo_events(30, end=END))
    assert states["shelved"] == 1 and states["suppressed"] == 1 and states["active"] > 500


def test_size_parameter_scales_the_journal(db):
    rows = list(demo_events(20, seed=2, tags=120, end=END, events=6_000))
    assert 5_000 < len(rows) < 7_500
    report = write_events(db, enumerate(rows))
    assert report.imported == len(rows)
