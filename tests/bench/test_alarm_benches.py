"""The alarm benches run end to end at tiny sizes (the generator, the report's cold and warm runs, the sync). No
timing is asserted: the figures belong in bench/RESULTS.md."""

from __future__ import annotations

import sys

import pytest


@pytest.mark.slow
@pytest.mark.parametrize(
    "module, argv, expected",
    [
        ("bench.alarm_report", ["--events", "600", "--repeat", "1"], ["generated 600 events", "next reports"]),
        ("bench.alarm_sync", ["--events", "3000"], ["sync: 3,000 events", "second sync (nothing new)"]),
    ],
)
def test_alarm_bench_prints_its_figures(module, argv, expected, monkeypatch, capsys):
    bench = __import__(module, fromlist=["main"])
    monkeypatch.setattr(sys, "argv", [module, *argv])
    bench.main()
    out = capsys.readouterr().out
    assert all(text in out for text in expected), out


def test_the_generated_report_journal_counts_what_it_was_asked_for(tmp_path):
    from sqlalchemy import func, select

    from bench.alarm_report import generate
    from storage.db import open_database
    from storage.models import AlarmEvent, AlarmSource

    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    generate(url, 3000)
    db = open_database(url)
    with db.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AlarmEvent)) == 3000
        assert conn.scalar(select(func.count()).select_from(AlarmSource)) == 500
    db.close()
