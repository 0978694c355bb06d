"""Vendor journal exports (WinCC flexible/Comfort, FactoryTalk A&E, AVEVA v_AlarmHistory): told from the header,
mapped to our transitions, all-or-nothing and idempotent like our own layouts; `--map` renames odd columns."""

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.definitions import import_definitions
from storage.importing import detect_kind, import_file
from storage.models import AlarmEvent
from storage.rows import ImportRejected
from storage.vendor_journals import parse_column_map

JOURNALS = Path(__file__).resolve().parents[2] / "examples" / "journals"


def _events(db):
    with db.session() as session:
        rows = session.scalars(select(AlarmEvent).order_by(AlarmEvent.event_time, AlarmEvent.id)).all()
    return [(e.tag, e.condition, e.state, e.operator) for e in rows], rows


@pytest.mark.parametrize(
    "name, layout",
    [("wincc_alarm_log.csv", "wincc"), ("factorytalk_condition_events.csv", "factorytalk"),
     ("aveva_alarm_history.csv", "aveva")],
)  # fmt: skip
def test_each_vendor_sample_is_detected_and_reimport_adds_nothing(db, name, layout):
    assert detect_kind(JOURNALS / name) == "journal"
    first = import_file(db, JOURNALS / name)
    assert first.layout == layout and first.imported > 0 and first.duplicates == 0
    again = import_file(db, JOURNALS / name)
    assert (again.imported, again.duplicates) == (0, first.imported)


def test_wincc_state_after_codes_map_to_transitions_and_times_are_local(db, examples):
    from zoneinfo import ZoneInfo

    import_definitions(db, examples / "definitions.yaml")
    import_file(db, JOURNALS / "wincc_alarm_log.csv", assume_tz=ZoneInfo("Europe/Berlin"))
    states, rows = _events(db)
    assert [s[:3] for s in states[:3]] == [("TIC-101", "", "active"), ("TIC-101", "", "acknowledged"),
                                           ("TIC-101", "", "cleared")]  # fmt: skip
    # 2 after 0 (went out unacknowledged) is the acknowledgement; 2 after 3 is the going of an acked alarm
    assert [s[2] for s in states if s[0] == "P-601"] == ["active", "cleared", "acknowledged"]
    assert rows[0].event_time.isoformat() == "2025-02-27T14:53:15.798000+00:00"  # Time_ms in Berlin time
    assert rows[0].area == "Reactor" and rows[0].value == 223.01 and rows[0].priority == 2
    assert rows[-1].tag == "MSG-3005" and rows[-1].area == "PLC_Reactor" and rows[-1].priority == 3


def test_factorytalk_flags_become_transitions_with_shelving_and_out_of_service(db):
    import_file(db, JOURNALS / "factorytalk_condition_events.csv")
    states, rows = _events(db)
    assert states == [
        ("TIC-101", "HH", "active", None), ("TIC-101", "HH", "acknowledged", "j.smith"),
        ("TIC-101", "HH", "cleared", None), ("LIC-203", "H", "active", None), ("LIC-203", "H", "shelved", "a.chen"),
        ("P-607", "TRIP", "out_of_service", "maintenance"),
    ]  # fmt: skip
    by_tag = {r.tag: r for r in rows}
    assert by_tag["TIC-101"].priority == 1 and by_tag["TIC-101"].area == "Reactor"
    assert by_tag["LIC-203"].priority == 3  # no Priority: severity 400 is in the medium band


def test_aveva_ack_rtn_is_the_ack_after_unack_rtn_else_the_clear(db):
    import_file(db, JOURNALS / "aveva_alarm_history.csv")
    states, rows = _events(db)
    assert [s[2] for s in states if s[0] == "TIC-101"] == ["active", "acknowledged", "cleared"]
    assert [s[2:] for s in states if s[0] == "PIC-202"] == [("active", None), ("cleared", None),
                                                            ("acknowledged", "l.wang")]  # fmt: skip
    assert {r.priority for r in rows if r.tag == "TIC-101"} == {1} and rows[0].condition == "HH"


def test_column_map_renames_an_odd_export_and_bad_rows_reject_the_whole_file(db, tmp_path):
    odd = tmp_path / "aveva_odd.csv"
    odd.write_text(
        "Time,AlarmState,Tag,Type\n2025-02-27 15:53:15,UNACK,TIC-101,HiHi\n2025-02-27 15:54:15,ACK,TIC-101,HiHi\n"
    )
    with pytest.raises(ImportRejected, match="nothing imported"):  # without the map: not a journal layout
        import_file(db, odd)
    column_map = parse_column_map(["EventStamp=Time", "TagName=Tag"])
    assert import_file(db, odd, column_map=column_map).imported == 2
    bad = tmp_path / "aveva_bad.csv"
    bad.write_text("EventStamp,AlarmState,TagName\n2025-02-27 16:00:00,UNACK,TIC-102\nyesterday,WEIRD,TIC-102\n")
    with pytest.raises(ImportRejected, match=r"line 3: AlarmState 'WEIRD' is not UNACK"):
        import_file(db, bad)
    assert len(_events(db)[0]) == 2  # nothing of the bad file


def test_a_malformed_column_map_entry_is_named():
    with pytest.raises(ValueError, match="--map 'EventStamp' is not LAYOUT_COLUMN=FILE_COLUMN"):
        parse_column_map(["EventStamp"])
