"""`alarms follow` against the test OPC UA server (bench/opcua_alarm_server.py, its own process on loopback): p95
latency from a transition's server time to its commit in the journal at 200 events/s, and a server restart
halfway through: every emitted transition must be in the journal exactly once. Target: p95 ≤ 1 s, none lost.

    .venv/bin/python bench/opcua_follow.py                    # 200 events/s for 20 s, restart after 10 s
    .venv/bin/python bench/opcua_follow.py --rate 500 --seconds 30
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.opcua_alarm_server import emitted, free_port, start_process  # noqa: E402
from storage.db import open_database  # noqa: E402
from storage.models import AlarmEvent  # noqa: E402
from storage.opcua_follow import BackgroundFollower  # noqa: E402


def wait(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)
    return check()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)  # the restart's dropped link is expected
    count = int(args.rate * args.seconds)
    with tempfile.TemporaryDirectory(prefix="opcua-follow-") as name:
        folder, port = Path(name), free_port()
        db = open_database(f"sqlite:///{folder / 'journal.sqlite'}")
        follower = BackgroundFollower(db, f"opc.tcp://127.0.0.1:{port}/hmi-agent-test/")
        server = start_process(port, folder, count, args.rate)
        follower.start()
        try:
            wait(lambda: len(emitted(folder)) >= count // 2, 60 + args.seconds)
            server.send_signal(signal.SIGTERM)
            server.wait(30)
            down = time.perf_counter()
            server = start_process(port, folder, count, args.rate)
            wait(lambda: follower.stats.connects >= 2, 60)
            print(f"restart: server down and back, follower reconnected after {time.perf_counter() - down:.1f} s")
            wait(lambda: len(emitted(folder)) >= count, 60 + args.seconds)
            time.sleep(2)
        finally:
            follower.stop()
            server.terminate()
            server.wait(30)
        with db.engine.connect() as conn:
            journal = Counter((t, s, m.isoformat()) for t, s, m in conn.execute(
                select(AlarmEvent.tag, AlarmEvent.state, AlarmEvent.event_time)))  # fmt: skip
        sent = Counter((e["tag"], e["state"], e["time"]) for e in emitted(folder))
        lost, twice = sum((sent - journal).values()), sum((journal - sent).values())
        p95 = follower.stats.p95_latency_s()
        print(
            f"{len(emitted(folder))} transitions at {args.rate:g}/s: p95 event -> journal "
            f"{p95 * 1000:.0f} ms (target <= 1000 ms), lost {lost}, extra {twice}, connects {follower.stats.connects}"
        )


if __name__ == "__main__":
    main()
