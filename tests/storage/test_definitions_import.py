"""Importing alarm definitions from YAML and CSV: bilingual fields, names and durations, bad rows reported by line."""

import pytest
from sqlalchemy import func, select

from storage.definitions import import_definitions
from storage.models import AlarmDefinition
from storage.rows import ImportRejected


def _definitions(db):
    with db.session() as session:
        return {(d.tag, d.condition): d for d in session.scalars(select(AlarmDefinition))}


def test_yaml_and_csv_carry_the_same_bilingual_definitions(db, examples):
    report = import_definitions(db, examples / "definitions.yaml")
    assert (report.layout, report.imported, report.duplicates) == ("yaml", 72, 0)
    from_yaml = {
        k: {c: getattr(d, c) for c in AlarmDefinition.__table__.columns.keys() if c != "id"}
        for k, d in _definitions(db).items()
    }
    again = import_definitions(db, examples / "definitions.csv")
    assert (again.layout, again.imported, again.duplicates) == ("csv", 0, 72)
    from_csv = {
        k: {c: getattr(d, c) for c in AlarmDefinition.__table__.columns.keys() if c != "id"}
        for k, d in _definitions(db).items()
    }
    assert from_csv == from_yaml
    hh = from_yaml[("TIC-101", "HH")]
    assert hh["priority"] == 1 and hh["response_time_s"] == 300 and hh["description_zh"] == "R-101反应器温度高高"


def test_names_and_durations_are_accepted(db, tmp_path):
    path = tmp_path / "defs.yaml"
    path.write_text(
        """
- tag: PIC-301
  condition: Low Low
  description: Boiler drum pressure low-low
  priority: critical
  response_time: 5m
- {tag: XA-9, condition: trip, priority: low, description: Fan trip}
""",
        encoding="utf-8",
    )
    import_definitions(db, path)
    found = _definitions(db)
    assert found[("PIC-301", "LL")].priority == 1 and found[("PIC-301", "LL")].response_time_s == 300
    assert found[("XA-9", "TRIP")].priority == 4


def test_bad_yaml_items_are_reported_by_line(db, tmp_path):
    path = tmp_path / "defs.yaml"
    path.write_text(
        """alarms:
  - tag: TIC-101
    condition: HH
    priority: 2
  - tag: TIC-102
    priority: urgentish
  - condition: H
    description: no tag
  - tag: TIC-103
    corective_action: typo
""",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as caught:
        import_definitions(db, path)
    assert [(e.line, e.message.split(" ")[0]) for e in caught.value.errors] == [
        (5, "priority"),
        (7, "tag"),
        (9, "unknown"),
    ]
    assert "corective_action" in str(caught.value)
    with db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AlarmDefinition)) == 0


def test_bad_csv_rows_are_reported_by_line(db, tmp_path):
    path = tmp_path / "defs.csv"
    path.write_text(
        "tag,condition,priority,response_time\nTIC-1,H,1,60\nTIC-2,H,1,soon\nTIC-3,H,1,60,extra\n", encoding="utf-8"
    )
    with pytest.raises(ImportRejected) as caught:
        import_definitions(db, path)
    assert [e.line for e in caught.value.errors] == [3, 4]


def test_malformed_yaml_is_one_clear_error(db, tmp_path):
    path = tmp_path / "defs.yaml"
    path.write_text("alarms: [tag: {\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="not valid YAML"):
        import_definitions(db, path)
