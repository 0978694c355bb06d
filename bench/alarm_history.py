"""Alarm journal at scale: CSV import rate and `alarm_history` latency for one tag over 30 days, against the same
query forced to scan the table (SQLite `NOT INDEXED`). Target: p50 < 20 ms at 10 million events.

    .venv/bin/python bench/alarm_history.py                   # 10M events (several minutes, ~4 GB of disk)
    .venv/bin/python bench/alarm_history.py --events 1000000  # quicker
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

from sqlalchemy import text  # noqa: E402

from storage.db import open_database  # noqa: E402
from storage.definitions import upsert_definitions  # noqa: E402
from storage.demo import demo_definitions, demo_events, write_journal_csv  # noqa: E402
from storage.journal import import_journal  # noqa: E402
from storage.models import UTCDateTime  # noqa: E402
from tools.alarms import AlarmTools  # noqa: E402

END = datetime(2025, 3, 1, tzinfo=UTC)
WINDOW_SQL = (
    "SELECT event_time, condition, state, priority, value, message, operator, area FROM alarm_events {hint}"
    "WHERE tag = :tag AND event_time >= :since AND event_time <= :until ORDER BY event_time"
)


def timed(function, repeat: int) -> list[float]:
    """Milliseconds per call, after one warm-up call."""
    function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1] if len(samples) > 1 else samples[0]


def measure(db, tools: AlarmTools, label: str, tag: str, repeat: int) -> tuple:
    """alarm_history p50/p95 for `tag` over 30 days, its index-bound window query, and that query as a full scan."""
    result = tools.alarm_history(tag, since="30d", limit=10)
    assert result.error is None, result.error
    history = timed(lambda: tools.alarm_history(tag, since="30d", limit=10), repeat)
    since = END - timedelta(days=30)
    params = {"tag": result.data.tag, "since": UTCDateTime.sqlite_text(since), "until": UTCDateTime.sqlite_text(END)}
    with db.engine.connect() as conn:
        fetched = len(conn.execute(text(WINDOW_SQL.format(hint="")), params).all())
        indexed = timed(lambda: conn.execute(text(WINDOW_SQL.format(hint="")), params).all(), repeat)
        full_scan = timed(lambda: conn.execute(text(WINDOW_SQL.format(hint="NOT INDEXED ")), params).all(), 3)
    return label, tag, result.data.activations, fetched, history, indexed, full_scan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="journal size (approximate)")
    parser.add_argument("--tags", type=int, default=1000, help="instrument tags (about 1.8 alarms each)")
    parser.add_argument("--days", type=float, default=3650, help="span of the journal")
    parser.add_argument("--repeat", type=int, default=50, help="alarm_history calls per tag")
    parser.add_argument("--workdir", type=Path, help="where the CSV and database go (default: a temp folder)")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hmi-bench-"))
    csv_path, db_path = workdir / "journal.csv", workdir / "alarms.sqlite"
    db_path.unlink(missing_ok=True)

    start = time.perf_counter()
    generated = write_journal_csv(csv_path, demo_events(args.days, 1, tags=args.tags, end=END, events=args.events))
    generate_s = time.perf_counter() - start

    db = open_database(f"sqlite:///{db_path}")
    upsert_definitions(db, demo_definitions(args.tags))
    start = time.perf_counter()
    report = import_journal(db, csv_path)
    import_s = time.perf_counter() - start
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))  # so the size below is the database's own

    tools = AlarmTools(db, clock=lambda: END)
    rows = [
        measure(db, tools, label, tag, args.repeat)
        for label, tag in (("typical", "TIC-101"), ("chattering", "LIC-203.H"))
    ]

    size_gb = sum(p.stat().st_size for p in workdir.glob("alarms.sqlite*")) / 1e9
    print(f"journal: {generated:,} events, {args.tags} tags, {args.days:g} days; database {size_gb:.2f} GB ({workdir})")
    print(f"generate CSV: {generate_s:.1f} s ({generated / generate_s:,.0f} events/s)")
    print(
        f"import CSV:   {import_s:.1f} s ({report.imported / import_s:,.0f} events/s), "
        f"{report.imported:,} imported, {report.duplicates:,} duplicates"
    )
    print()
    header = (
        f"{'alarm (30 days)':<24}{'activations':>12}{'rows':>7}{'history p50':>13}{'p95':>9}"
        f"{'index p50':>11}{'full scan':>11}{'scan/index':>12}{'scan/history':>14}"
    )
    print(header)
    print("-" * len(header))
    for label, tag, activations, fetched, history, indexed, full_scan in rows:
        h50, i50, scan = percentile(history, 50), percentile(indexed, 50), statistics.median(full_scan)
        print(
            f"{label + ' ' + tag:<24}{activations:>12}{fetched:>7}{h50:>10.2f} ms{percentile(history, 95):>6.2f} ms"
            f"{i50:>8.2f} ms{scan:>8.0f} ms{scan / i50:>11.0f}x{scan / h50:>13.0f}x"
        )
    db.close()


if __name__ == "__main__":
    main()
