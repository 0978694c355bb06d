"""`hmi-agent alarms import (vendor) | sync | report | handover | follow` end to end through agent.cli.main, and their
one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.ignition_source import add_occurrences, create_journal
from bench.opcua_alarm_server import emitted, free_port, start_process
from tests.tools.test_alarms_cli import run

JOURNALS = Path(__file__).resolve().parents[2] / "examples" / "journals"


def test_vendor_import_sync_report_and_handover(capsys, sqlite_url, tmp_path):
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "import", str(JOURNALS / "aveva_alarm_history.csv"))
    assert code == 0 and "journal (aveva): 6 rows, 6 imported" in out
    source = f"sqlite:///{tmp_path / 'ignition.sqlite'}"
    add_occurrences(create_journal(source), 4)
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "sync", "--from", source)
    assert code == 0 and "12 source events read, 12 new; at source id 12" in out
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "report", "--since", "2025-01-01", "--json")
    report = json.loads(out)
    assert code == 0 and report["activations"] == 6 and report["measures"][0]["key"] == "per_day"
    page = tmp_path / "report.html"
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "report", "--since", "2025-01-01", "--html", str(page))
    html = page.read_text()
    assert (
        code == 0 and html.count("<svg") == 2 and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "handover", "--hours", "8")
    assert code == 0 and "Shift handover, last 8h" in out and "new alarms: 0 activations" in out


def test_bad_input_is_one_line(capsys, sqlite_url, tmp_path):
    cases = [
        (["alarms", "sync", "--from", "nosuch://x"], "not a usable database URL"),
        (["alarms", "sync", "--from", f"sqlite:///{tmp_path / 'missing.sqlite'}"], "no such SQLite database file"),
        (["alarms", "follow", "http://scada:4840"], "'http://scada:4840' is not an OPC UA endpoint"),
        (["alarms", "report", "--since", "soon"], "'soon' is neither a duration"),
        (["alarms", "report", "--html", str(tmp_path / "no" / "such" / "r.html")], "cannot write --html"),
        (
            ["alarms", "import", str(JOURNALS / "aveva_alarm_history.csv"), "--map", "EventStamp"],
            "is not LAYOUT_COLUMN",
        ),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, "--db", sqlite_url, *argv)
        assert code == 2 and message in err and "Traceback" not in err, (argv, err)


@pytest.mark.slow
def test_follow_from_the_command_line_writes_what_the_server_emits(capsys, sqlite_url, tmp_path):
    port = free_port()
    server = start_process(port, tmp_path, count=12, rate=50)
    try:
        code, out, _ = run(
            capsys, "--db", sqlite_url, "alarms", "follow", f"opc.tcp://127.0.0.1:{port}/hmi-agent-test/",
            "--seconds", "25",
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(20)
    assert code == 0 and len(emitted(tmp_path)) == 12 and "12 transitions written" in out, out
