"""Auditor's checks that an import is all or nothing: a bad row after some chunks were already written rolls them
back, and a `kill -9` in the middle of an import leaves no row of it (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import open_database
from storage.journal import import_journal
from storage.models import AlarmEvent, AlarmSource
from storage.rows import ImportRejected

ROOT = Path(__file__).resolve().parents[2]


def journal_csv(path: Path, rows: int, bad_line: int | None = None) -> Path:
    with path.open("w") as f:
        f.write("event_time,tag,condition,state\n")
        for n in range(rows):
            line = n + 2
            moment = f"2025-01-{1 + n // 86400 % 28:02d}T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z"
            f.write(f"{'not-a-time' if line == bad_line else moment},T-{n % 500},HH,active\n")
    return path


def counts(db) -> tuple[int, int]:
    with db.engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(AlarmEvent)),
                conn.scalar(select(func.count()).select_from(AlarmSource)))


def test_a_bad_row_in_a_later_chunk_rolls_back_the_chunks_written_before(db, tmp_path):
    path = journal_csv(tmp_path / "journal.csv", 40, bad_line=38)
    with pytest.raises(ImportRejected, match="line 38"):
        import_journal(db, path, chunk_size=5)  # seven chunks of five were inserted before line 38
    assert counts(db) == (0, 0)
    import_journal(db, journal_csv(tmp_path / "good.csv", 40), chunk_size=5)
    assert counts(db) == (40, 40)


@pytest.mark.slow
def test_kill_9_during_an_import_leaves_nothing_of_it(db_url, tmp_path):
    path = journal_csv(tmp_path / "big.csv", 300_000)
    command = [sys.executable, "-c", "from agent.cli import main; main()", "--db", db_url, "alarms", "import", str(path)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2.5)  # started, reading and inserting: 300k rows take 6 s on a quiet machine (bench/RESULTS.md)
    assert proc.poll() is None, f"the import ended before it could be killed: {proc.stderr.read()[-300:]!r}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    db = open_database(db_url)
    try:
        assert counts(db) == (0, 0)
        assert import_journal(db, journal_csv(tmp_path / "small.csv", 50)).imported == 50  # usable again
    finally:
        db.close()
