"""The demo plant covers every example screen: each alarm row and banner on examples/screens/*.json is an alarm
that `hmi-agent alarms demo-data` (and the exported examples/plant) defines, with the screen's priority, and whose
journal agrees with the screen: the state it is in, when it came in and the value it came in at. On real SQLite,
through the agent's own alarm tools."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.cli import main
from storage.db import open_database
from storage.importing import import_file
from tools.alarms import AlarmTools

ROOT = Path(__file__).resolve().parents[2]
SCREENS = sorted((ROOT / "examples" / "screens").glob("*.json"))
PLANT_NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # the exported examples/plant journal ends here
JOURNAL_STATE = {"unacked": "active_unacked", "acked": "active_acked", "rtn_unacked": "cleared_unacked"}


def _alarms_on(screen: Path) -> list[dict]:
    truth = json.loads(screen.read_text(encoding="utf-8"))
    return truth["alarm_rows"]


def test_every_example_screen_shows_alarm_rows():
    assert len(SCREENS) == 29
    assert all(_alarms_on(screen) for screen in SCREENS)
    banners = [json.loads(s.read_text(encoding="utf-8"))["banner"] for s in SCREENS]
    assert all(b["tag"] in {r["tag"] for r in _alarms_on(s)} for b, s in zip(banners, SCREENS, strict=True))


@pytest.fixture(scope="module")
def demo_data_tools(tmp_path_factory) -> AlarmTools:
    """`hmi-agent alarms demo-data` into a fresh SQLite file, read with the real clock (the journal ends now)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'plant.sqlite'}"
    with pytest.raises(SystemExit) as done:
        main(["--db", url, "alarms", "demo-data"])
    assert done.value.code == 0
    return AlarmTools(open_database(url))


@pytest.fixture(scope="module")
def example_plant_tools(tmp_path_factory) -> AlarmTools:
    """The committed examples/plant files (what the recorded example sessions use), read at their end."""
    db = open_database(f"sqlite:///{tmp_path_factory.mktemp('plant') / 'plant.sqlite'}")
    import_file(db, ROOT / "examples" / "plant" / "definitions.csv")
    import_file(db, ROOT / "examples" / "plant" / "journal.csv")
    return AlarmTools(db, clock=lambda: PLANT_NOW)


def _check_row_against_plant(tools: AlarmTools, row: dict) -> None:
    tag = row["tag"]
    found = tools.alarm_definition(tag)
    assert found.error is None, f"{tag}: {found.error}"
    assert found.data.match.how == "exact" and len(found.data.definitions) == 1, tag
    definition = found.data.definitions[0]
    assert definition.priority == int(row["priority"]), f"{tag}: screen priority {row['priority']}"

    history = tools.alarm_history(tag, since="30d")
    assert history.error is None, f"{tag}: {history.error}"
    data = history.data
    assert data.activations >= 1, f"{tag}: no history"
    assert data.states[0].state == JOURNAL_STATE[row["state"]], f"{tag}: screen says {row['state']}"
    latest = data.recent[0]
    assert f"{latest.activated_at:%H:%M:%S}" == row["time"], f"{tag}: came in at {latest.activated_at}"

    value = re.fullmatch(r"(-?\d+\.\d) (.+)", row["value"])
    if definition.units is None:  # a pump trip carries no value
        assert row["value"] == "" and latest.value is None, tag
        return
    assert value, f"{tag}: value cell {row['value']!r}"
    assert float(value.group(1)) == latest.value, f"{tag}: journal value {latest.value}"
    assert value.group(2) == definition.units.replace("³", "3"), f"{tag}: units {definition.units}"
    beyond = latest.value > definition.setpoint if definition.condition in ("H", "HH") else (
        latest.value < definition.setpoint)
    assert beyond, f"{tag}: {latest.value} is not beyond its {definition.condition} limit {definition.setpoint}"


@pytest.mark.parametrize("screen", SCREENS, ids=lambda p: p.stem)
def test_screen_alarms_are_defined_by_demo_data_with_their_state_time_and_value(demo_data_tools, screen):
    for row in _alarms_on(screen):
        _check_row_against_plant(demo_data_tools, row)


@pytest.mark.parametrize("screen", SCREENS, ids=lambda p: p.stem)
def test_screen_alarms_agree_with_the_exported_example_plant(example_plant_tools, screen):
    for row in _alarms_on(screen):
        _check_row_against_plant(example_plant_tools, row)
