"""`hmi-agent alarms ...` end to end through agent.cli.main on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_runner import run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plant"


def test_import_define_and_history(capsys, sqlite_url):
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "import", str(EXAMPLES / "definitions.yaml"))
    assert code == 0 and "definitions (yaml): 72 rows, 72 imported, 0 updated" in out
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "import", str(EXAMPLES / "journal_scada.csv"))
    assert code == 0 and "journal (scada): 582 rows, 582 imported, 0 duplicates skipped" in out
    code, out, _ = run(
        capsys, "--db", sqlite_url, "alarms", "import", str(EXAMPLES / "journal.csv"), "--kind", "journal"
    )
    assert code == 0 and "journal (native): 583 rows" in out

    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "define", "tic1o1hh")
    assert code == 0 and "TIC-101.HH: R-101 reactor temperature high-high" in out
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "define", "TIC-101.HH", "--json")
    assert json.loads(out)["definitions"][0]["priority"] == 1

    until = "2025-03-01T00:00:00Z"
    code, out, _ = run(
        capsys, "--db", sqlite_url, "alarms", "history", "TIC-401", "--since", "2025-02-20", "--until", until
    )
    assert code == 0 and "STALE" in out
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "history", "VI-505", "--since", "3d", "--json")
    assert code == 0 and set(json.loads(out)) >= {"activations", "flags", "recent", "states"}


def test_errors_are_one_line_with_exit_code_2(capsys, sqlite_url, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("event_time,tag,state\n2025-03-01T00:00:00Z,TIC-101,active\nnot-a-time,TIC-101,active\n")
    code, out, err = run(capsys, "--db", sqlite_url, "alarms", "import", str(bad))
    assert code == 2 and err.startswith("hmi-agent: error:") and "line 3:" in err and "nothing imported" in err
    assert err.count("\n") == 1 and "Traceback" not in err

    code, _, err = run(capsys, "--db", sqlite_url, "alarms", "history", "NOPE-000")
    assert code == 2 and "unknown alarm tag 'NOPE-000'" in err
    code, _, err = run(capsys, "--db", sqlite_url, "alarms", "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv is not a file" in err
    code, _, err = run(capsys, "--db", "nosuchdb://x", "alarms", "define", "TIC-101")
    assert code == 2 and "not a usable database URL" in err
    code, _, err = run(capsys, "--db", sqlite_url, "alarms", "import", str(bad), "--timezone", "Mars/Olympus")
    assert code == 2 and "'Mars/Olympus' is not a time zone" in err


def test_demo_data_loads_and_exports(capsys, sqlite_url, tmp_path):
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "demo-data", "--days", "5", "--seed", "3")
    assert code == 0 and "definitions: 72 new" in out and "0 duplicates skipped" in out
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "history", "LIC-203.H", "--since", "5d")
    assert code == 0 and "CHATTERING" in out and "SHELVED since" in out
    code, out, _ = run(capsys, "alarms", "demo-data", "--days", "2", "--tags", "7", "--export", str(tmp_path / "plant"))
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "plant").iterdir()) == [
        "definitions.csv", "definitions.yaml", "journal.csv", "journal_scada.csv", "manuals"
    ]  # fmt: skip
