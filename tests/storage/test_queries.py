"""The read-side queries behind the alarm tools, on every database the suite runs against."""

from datetime import UTC, datetime, timedelta

from storage import queries
from storage.definitions import import_definitions
from storage.journal import import_journal
from tools.alarms import AlarmTools

END = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # examples/plant/journal.csv ends here (examples/plant/export.py)


def test_history_of_the_example_plant(db, examples):
    import_definitions(db, examples / "definitions.yaml")
    import_journal(db, examples / "journal.csv")
    tools = AlarmTools(db, clock=lambda: END)

    stale = tools.alarm_history("TIC-401", since="7d").data
    assert stale.flags.stale and {s.condition: s.state for s in stale.states}["HH"] == "active_acked"
    flood = tools.alarm_history("VI-505", since="7d").data
    assert flood.flags.flood and flood.area == "Compressor"
    chatter = tools.alarm_history("lic203h", since="7d").data
    assert chatter.flags.chattering and chatter.states[0].shelved
    assert tools.alarm_definition("P-6O7").data.definitions[0].description_zh


def test_lookups(db, examples):
    import_definitions(db, examples / "definitions.yaml")
    import_journal(db, examples / "journal.csv")
    assert ("TIC-101", "HH") in queries.known_alarms(db)
    assert queries.conditions_of(db, "TIC-101") == ["H", "HH"]
    assert queries.area_of(db, "TIC-101") == "Reactor" and queries.area_of(db, "NOPE") is None
    keys = [("TIC-101", "HH"), ("NOPE", ""), ("PIC-102", "L")]
    assert [(d.tag, d.condition) for d in queries.definitions(db, keys)] == [("TIC-101", "HH"), ("PIC-102", "L")]
    flood_at = (END - timedelta(days=2)).replace(hour=3, minute=17)
    around = queries.area_activations(db, "Compressor", [(flood_at, flood_at + timedelta(minutes=5))])
    assert len(around) >= 10 and around == sorted(around)
