"""A routine acknowledges an alarm FOR REAL on the simulated HMI (Xvfb, mss, the real screen parser, pyautogui),
the simulator's status and alarm journal show it, the run is in the history, and its recording replays the same."""

from __future__ import annotations

import json
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from agent.cli import main
from agent.routines.replay import replay_run
from tests.simulator import ROOT, running_simulator

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]  # a simulator process on a virtual display
ROUTINE = ROOT / "examples" / "routines" / "ack_low_priority_alarm.yaml"
SCENARIO = """
title: Test unit
tags:
  PT-101: {description: Discharge pressure, unit: bar, value: 9.8}
  AT-101: {description: Water in feed, unit: ppm, value: 480}
timeline:
  - {at: 0, alarm: {tag: PT-101, condition: HIHI, priority: 1, description: Discharge pressure high high}}
  - {at: 0, alarm: {tag: AT-101, condition: HI, priority: 4, description: Water in feed high}}
"""


@pytest.fixture
def simulator(xvfb, tmp_path, sqlite_url):
    with running_simulator(tmp_path, sqlite_url, SCENARIO, operator="routine", timeout=15.0,
                           ready=lambda status: len(status.get("alarms", [])) == 2,
                           ready_what="the simulator's alarms") as status:
        yield status


def cli_json(*args: str):
    out = StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        main(list(args))
    assert exit_.value.code == 0, out.getvalue()
    text = out.getvalue()
    # python-xlib prints its warning about the (deliberately empty) test XAUTHORITY on stdout: skip to the JSON
    return json.loads(text[min(i for i in (text.find("{"), text.find("[")) if i >= 0):])


def test_routine_acknowledges_the_p4_alarm_live_and_its_run_replays(simulator, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("HMI_AGENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HMI_AGENT_DB_URL", f"sqlite:///{tmp_path / 'data' / 'hmi.sqlite'}")
    monkeypatch.setenv("HMI_AGENT_MIN_ACTION_INTERVAL", "0.2")

    record = cli_json("routine", "run", str(ROUTINE), "--live", "--json")

    assert (record["status"], record["mode"], record["actions"]) == ("passed", "live", 3), record
    assert record["last_action"].startswith("step 6: left-click element") and "'ACK'" in record["last_action"]
    alarms = {a["tag"]: a for a in simulator()["alarms"]}
    assert alarms["AT-101"]["acked_by"] == "routine" and alarms["PT-101"]["acked_by"] is None  # only the P4 one
    assert simulator()["page"] == "ALARMS"
    with create_engine(sqlite_url).connect() as conn:
        journal = conn.execute(text("SELECT tag, state, operator FROM alarm_events WHERE state = 'acknowledged'")).all()
    assert [tuple(r) for r in journal] == [("AT-101", "acknowledged", "routine")]

    (listed,) = cli_json("routine", "history", "--json", "--name", "ack_low_priority_alarm")
    assert listed["id"] == record["id"] and listed["status"] == "passed"

    report = replay_run(Path(record["session_dir"]))
    assert report.matches, report.text()
    assert [a["kind"] for a in report.replayed_actions] == ["click", "click", "click"]
    assert report.replayed_actions[1]["element_label"].endswith("Water in feed high")
