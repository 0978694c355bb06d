"""Importing alarm journals (our CSV layout and SCADA exports): state mapping, time zones, bad rows, re-import."""

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from storage.definitions import import_definitions
from storage.importing import detect_kind, import_file
from storage.journal import _insert_by_lookup, import_journal, split_scada_source
from storage.models import AlarmEvent, AlarmSource
from storage.rows import ImportRejected


def _events(db):
    with db.session() as session:
        return session.scalars(select(AlarmEvent).order_by(AlarmEvent.event_time, AlarmEvent.id)).all()


def _count(db):
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(AlarmEvent))


def _write(path, text):
    path.write_text(text.lstrip(), encoding="utf-8")
    return path


def test_our_layout_imports_and_reimport_adds_nothing(db, examples):
    first = import_file(db, examples / "journal.csv")
    assert (first.kind, first.layout, first.imported, first.duplicates) == ("journal", "native", 583, 0)
    again = import_file(db, examples / "journal.csv")
    assert (again.imported, again.duplicates) == (0, 583)
    assert _count(db) == 583
    stored = _events(db)
    assert all(e.event_time.tzinfo is not None and e.event_time.utcoffset().total_seconds() == 0 for e in stored)
    with db.engine.connect() as conn:
        sources = set(conn.execute(select(AlarmSource.tag, AlarmSource.condition)).tuples())
    assert sources == {(e.tag, e.condition) for e in stored}


def test_scada_export_maps_states_like_our_layout(db, examples, tmp_path):
    report = import_file(db, examples / "journal_scada.csv")
    assert (report.layout, report.imported) == ("scada", 582)
    scada = Counter((e.tag, e.condition, e.state, e.area) for e in _events(db))
    native_rows = (examples / "journal.csv").read_text().splitlines()[1:]
    native = Counter((r.split(",")[1], r.split(",")[2], r.split(",")[3], r.rsplit(",", 1)[1]) for r in native_rows)
    native = Counter({k: v for k, v in native.items() if k[2] != "shelved"})  # the export has no shelving
    assert scada == native
    assert import_file(db, examples / "journal_scada.csv").duplicates == 582


def test_clear_acked_is_the_ack_after_clear_unacked_else_the_clear(db, tmp_path):
    # Newest first, as journal viewers export: the mapping must not depend on row order.
    path = _write(
        tmp_path / "scada.csv",
        """
EventId,Source,DisplayPath,EventTime,EventState,Priority,EventValue,AckUser
b,prov:default:/tag:Boiler/PIC-301:/alm:Low,,2025-03-01 10:09:00,ClearAcked,High,,usr-prov:default:/usr:li.wei
b,prov:default:/tag:Boiler/PIC-301:/alm:Low,,2025-03-01 10:05:00,ClearUnacked,High,,
b,prov:default:/tag:Boiler/PIC-301:/alm:Low,,2025-03-01 10:00:00,ActiveUnacked,High,6.5,
a,prov:default:/tag:Boiler/TIC-301/PV:/alm:High High,,2025-03-01 09:10:00,ClearAcked,4,,
a,prov:default:/tag:Boiler/TIC-301/PV:/alm:High High,,2025-03-01 09:01:00,ActiveAcked,4,,usr-prov:default:/usr:j.smith
a,prov:default:/tag:Boiler/TIC-301/PV:/alm:High High,,2025-03-01 09:00:00,ActiveUnacked,4,230.5,
""",
    )
    import_journal(db, path)
    rows = [(e.tag, e.condition, e.state, e.priority, e.operator, e.area) for e in _events(db)]
    assert rows == [
        ("TIC-301", "HH", "active", 1, None, "Boiler"),
        ("TIC-301", "HH", "acknowledged", 1, "j.smith", "Boiler"),
        ("TIC-301", "HH", "cleared", 1, None, "Boiler"),
        ("PIC-301", "L", "active", 2, None, "Boiler"),
        ("PIC-301", "L", "cleared", 2, None, "Boiler"),
        ("PIC-301", "L", "acknowledged", 2, "li.wei", "Boiler"),
    ]


def test_clear_acked_in_a_later_export_is_the_ack_of_a_stored_clear_unacked(db, tmp_path):
    # Incremental exports: the ClearUnacked row came in yesterday's file, today's file only holds the ClearAcked.
    rows = "b,prov:default:/tag:Boiler/PIC-301:/alm:Low,,2025-03-01 10:0{}:00,{},High,,{}\n"
    header = "EventId,Source,DisplayPath,EventTime,EventState,Priority,EventValue,AckUser\n"
    day1 = header + rows.format(0, "ActiveUnacked", "") + rows.format(5, "ClearUnacked", "")
    import_journal(db, _write(tmp_path / "day1.csv", day1))
    ack = rows.format(9, "ClearAcked", "usr-prov:default:/usr:li.wei")
    import_journal(db, _write(tmp_path / "day2.csv", header + ack))
    states = [(e.state, e.operator) for e in _events(db)]
    assert states == [("active", None), ("cleared", None), ("acknowledged", "li.wei")]
    assert import_journal(db, tmp_path / "day2.csv").duplicates == 1


@pytest.mark.parametrize(
    "source, expected",
    [
        ("prov:default:/tag:Reactor/TIC-101/PV:/alm:High High", ("TIC-101", "Reactor", "HH")),
        ("prov:default:/tag:TIC-101:/alm:HiHi", ("TIC-101", None, "HH")),
        ("Plant/Reactor/TIC-101", ("TIC-101", "Plant", "")),
        ("TIC-101", ("TIC-101", None, "")),
    ],
)
def test_scada_sources(source, expected):
    assert split_scada_source(source) == expected


def test_bad_rows_are_all_reported_by_line_and_nothing_is_imported(db, examples, tmp_path):
    import_file(db, examples / "journal.csv")
    path = _write(
        tmp_path / "bad.csv",
        """
event_time,tag,condition,state,priority,value,message,operator,area
2025-03-01T10:00:00Z,TIC-101,HH,active,1,230,ok row,,Reactor
yesterday,TIC-101,HH,active,1,230,,,Reactor
2025-03-01T10:02:00Z,,HH,active,1,230,,,Reactor
2025-03-01T10:03:00Z,TIC-101,HH,exploded,1,230,,,Reactor
2025-03-01T10:04:00Z,TIC-101,HH,active,9,hot,,,Reactor
2025-03-01T10:05:00Z,TIC-101,HH,cleared
""",
    )
    with pytest.raises(ImportRejected) as caught:
        import_file(db, path)
    assert [e.line for e in caught.value.errors] == [3, 4, 5, 6, 7]
    message = str(caught.value)
    assert "5 bad row(s), nothing imported" in message
    assert "'yesterday' is not a timestamp" in message and "tag is empty" in message and "'exploded'" in message
    assert "priority '9'" in message and "4 cells, expected 9" in message
    assert _count(db) == 583


def test_unknown_header_is_rejected(db, tmp_path):
    path = _write(tmp_path / "x.csv", "time,name,what\n2025-03-01,TIC-101,on\n")
    with pytest.raises(ImportRejected, match="line 1: header"):
        import_journal(db, path)


def test_missing_area_and_priority_come_from_the_definitions(db, examples, tmp_path):
    import_definitions(db, examples / "definitions.yaml")
    path = _write(tmp_path / "j.csv", "event_time,tag,condition,state\n2025-03-01T10:00:00Z,TIC-101,HH,active\n")
    import_file(db, path)
    (event,) = _events(db)
    assert (event.area, event.priority) == ("Reactor", 1)


def test_naive_times_are_read_in_the_given_zone(db, tmp_path):
    path = _write(tmp_path / "j.csv", "event_time,tag,state\n2025-03-01 18:00:00,TIC-101,active\n")
    import_journal(db, path, assume_tz=ZoneInfo("Asia/Shanghai"))
    (event,) = _events(db)
    assert event.event_time == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def test_portable_insert_skips_existing_keys(tmp_path):
    from storage.db import open_database

    db = open_database(f"sqlite:///{tmp_path / 'a.sqlite'}")
    row = dict(event_time=datetime(2025, 3, 1, tzinfo=UTC), tag="T", condition="", state="active",
               priority=None, value=None, message=None, operator=None, area=None)  # fmt: skip
    with db.engine.begin() as conn:
        insert = _insert_by_lookup(conn, AlarmEvent, ["event_key"])
        assert insert([dict(row, event_key="a"), dict(row, event_key="b")]) == 2
        assert insert([dict(row, event_key="b"), dict(row, event_key="c"), dict(row, event_key="c")]) == 1
    assert _count(db) == 3


def test_kind_is_told_from_name_and_header(examples, tmp_path):
    assert detect_kind(examples / "definitions.yaml") == "definitions"
    assert detect_kind(examples / "definitions.csv") == "definitions"
    assert detect_kind(examples / "journal.csv") == "journal"
    assert detect_kind(examples / "journal_scada.csv") == "journal"
    with pytest.raises(ImportRejected, match="cannot tell journal from definitions"):
        detect_kind(_write(tmp_path / "x.csv", "a,b\n1,2\n"))


def test_bulk_insert_stores_times_exactly_as_the_orm_does(db):
    from sqlalchemy import text

    from storage.journal import write_events

    moment = datetime(2025, 3, 1, 18, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    row = dict(event_time=moment, tag="T", condition="", state="active", priority=None, value=None, message=None,
               operator=None, area="A")  # fmt: skip
    write_events(db, [(2, dict(row, event_key="bulk"))])
    with db.session() as session:
        session.add(AlarmEvent(**dict(row, event_key="orm")))
    with db.engine.connect() as conn:
        raw = conn.execute(text("SELECT event_key, event_time FROM alarm_events ORDER BY event_key")).all()
        in_window = conn.scalar(select(func.count()).where(AlarmEvent.event_time.between(moment, moment)))
    assert raw[0][1] == raw[1][1] and in_window == 2
    assert {e.event_time for e in _events(db)} == {datetime(2025, 3, 1, 10, 30, 15, 123456, tzinfo=UTC)}
