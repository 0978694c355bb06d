"""Alarm-system report at scale: `alarms report` (tools.alarm_kpis.alarm_system_report) over a journal of N events
in 30 days, whole plant and one area: the first report (which computes every whole hour and caches it in
alarm_kpi_hours) and the next ones. Target: ≤ 5 s for 10 million events on 2 cores.

    .venv/bin/python bench/alarm_report.py --events 10000000   # full size (generation takes minutes, ~3 GB disk)
    .venv/bin/python bench/alarm_report.py --events 300000     # quick

The journal is generated inside SQLite by one INSERT ... SELECT over a recursive CTE (no Python per row): each
occurrence is three events (active, acknowledged, cleared) of one of 500 alarms in 10 areas, priorities ~80/15/4/1 %.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.db import open_database  # noqa: E402
from tools.alarm_kpis import alarm_system_report  # noqa: E402

END = datetime(2025, 3, 1, tzinfo=UTC)
DAYS = 30
ALARMS, AREAS = 500, 10
INDEXES = {
    "ix_alarm_events_tag_time": "tag, event_time",
    "ix_alarm_events_area_state_time": "area, state, event_time",
    "ix_alarm_events_state_time": "state, event_time",
}
GENERATE = """
WITH RECURSIVE occurrence(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM occurrence WHERE n < :occurrences - 1),
step(k, state, offset_s) AS (VALUES (0, 'active', 0), (1, 'acknowledged', 45), (2, 'cleared', 400))
INSERT INTO alarm_events (event_key, event_time, tag, condition, state, priority, value, message, operator, area)
SELECT printf('b:%010d', n * 3 + k),
       strftime('%Y-%m-%d %H:%M:%f', :start + n * :spacing + offset_s + (n % 7) * 3, 'unixepoch') || '000',
       printf('T-%03d', n % :alarms), 'H', state,
       CASE WHEN n % 100 < 80 THEN 4 WHEN n % 100 < 95 THEN 3 WHEN n % 100 < 99 THEN 2 ELSE 1 END,
       NULL, NULL, CASE WHEN k = 1 THEN 'op' || (n % 5) END, printf('Area-%d', (n % :alarms) % :areas)
FROM occurrence, step ORDER BY n, k
"""


def generate(url: str, events: int) -> float:
    """Fills the journal with `events` events; returns the seconds it took."""
    db = open_database(url)
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for name in INDEXES:  # build the indexes once at the end: much faster than keeping them up to date
            conn.exec_driver_sql(f"DROP INDEX {name}")
        conn.exec_driver_sql("PRAGMA cache_size=-524288")
        occurrences = events // 3
        conn.exec_driver_sql(
            GENERATE.replace(":occurrences", str(occurrences))
            .replace(":start", str((END - timedelta(days=DAYS)).timestamp()))
            .replace(":spacing", str(DAYS * 86400 / occurrences))
            .replace(":alarms", str(ALARMS))
            .replace(":areas", str(AREAS))
        )
        conn.exec_driver_sql(
            "INSERT INTO alarm_sources (tag, condition, area) SELECT DISTINCT tag, condition, area FROM alarm_events"
        )
        for name, columns in INDEXES.items():
            conn.exec_driver_sql(f"CREATE INDEX {name} ON alarm_events ({columns})")
        conn.exec_driver_sql("ANALYZE")
    db.close()
    return time.perf_counter() - started


def timed(function, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", help="an existing benchmark journal (sqlite:///...) to reuse instead of generating")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alarm-report-") as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'journal.sqlite'}"
        if not args.db:
            seconds = generate(url, args.events)
            print(f"generated {args.events:,} events in {seconds:.1f} s ({args.events / seconds:,.0f}/s)")
        db = open_database(url)
        until = END - timedelta(hours=5, minutes=17)  # a window off the hour: its edge hours are read exactly
        since = until - timedelta(days=DAYS)
        cold = timed(lambda: alarm_system_report(db, since, until), 1)[0]
        warm = statistics.median(timed(lambda: alarm_system_report(db, since, until), args.repeat))
        area = statistics.median(timed(lambda: alarm_system_report(db, since, until, "Area-3"), args.repeat + 1))
        report = alarm_system_report(db, since, until)
        print(f"report over {report.activations:,} activations ({args.events:,} events in {DAYS} days), whole plant:")
        print(f"  first report (computes and caches each whole hour): {cold:.2f} s")
        print(
            f"  next reports (cached hours + the partial hours at the edges): median {warm:.2f} s "
            f"(target <= 5 s: {warm / 5:.2f} of it)"
        )
        print(f"  one area (1/{AREAS} of the alarms): median {area:.2f} s (its first report included)")
        db.close()


if __name__ == "__main__":
    main()
