"""`alarms sync --from URL` throughput: an Ignition-style journal (alarm_events + alarm_event_data) in a SQLite file
is copied into an empty journal. Target: ≥ 50,000 events/s.

    .venv/bin/python bench/alarm_sync.py                      # 300k source events
    .venv/bin/python bench/alarm_sync.py --events 3000000     # bigger
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ignition_source import add_occurrences, create_journal  # noqa: E402
from storage.alarm_sync import sync_from  # noqa: E402
from storage.db import open_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="alarm-sync-") as folder:
        source = f"sqlite:///{Path(folder) / 'ignition.sqlite'}"
        started = time.perf_counter()
        add_occurrences(create_journal(source), args.events // 3)
        print(f"source journal: {args.events // 3 * 3:,} events written in {time.perf_counter() - started:.1f} s")
        db = open_database(f"sqlite:///{Path(folder) / 'journal.sqlite'}")
        report = sync_from(db, source)
        rate = report.read / report.seconds
        print(
            f"sync: {report.read:,} events in {report.seconds:.2f} s = {rate:,.0f} events/s "
            f"(target >= 50,000/s: {rate / 50_000:.2f}x)"
        )
        again = sync_from(db, source)
        print(f"second sync (nothing new): {again.seconds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
