"""`alarms follow`: a real OPC UA server process on loopback (bench/opcua_alarm_server.py) emits AlarmConditionType
events; the follower writes each transition once, with the server's times, and loses none over a server restart
(reconnect with back-off, ConditionRefresh)."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest
from sqlalchemy import select

from bench.opcua_alarm_server import emitted, free_port, start_process
from storage.db import open_database
from storage.models import AlarmEvent
from storage.opcua_follow import BackgroundFollower, valid_endpoint


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def journal(db) -> list[tuple[str, str, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(AlarmEvent.tag, AlarmEvent.state, AlarmEvent.event_time)).all()
    return [(tag, state, moment.isoformat()) for tag, state, moment in rows]


@pytest.mark.slow
def test_follow_writes_every_transition_once_across_a_server_restart(tmp_path, sqlite_url):
    port, count = free_port(), 120
    db = open_database(sqlite_url)
    follower = BackgroundFollower(db, f"opc.tcp://127.0.0.1:{port}/hmi-agent-test/")
    server = start_process(port, tmp_path, count, rate=100)
    try:
        follower.start()  # before the server listens: the back-off retries until it does
        wait_for(lambda: len(emitted(tmp_path)) >= count // 3, 60, "the first third of the transitions")
        server.send_signal(signal.SIGTERM)
        server.wait(20)
        stopped_at = len(emitted(tmp_path))
        assert stopped_at < count
        server = start_process(port, tmp_path, count, rate=100)
        wait_for(lambda: len(emitted(tmp_path)) == count, 60, "the server to emit the rest")
        wait_for(lambda: len(journal(db)) >= count, 30, f"{count} journal rows, have {len(journal(db))}")
        time.sleep(0.5)  # anything written twice would show up now
    finally:
        follower.stop()
        server.terminate()
        server.wait(20)
    expected = Counter((e["tag"], e["state"], e["time"]) for e in emitted(tmp_path))
    got = Counter(journal(db))
    assert got == expected  # nothing lost, nothing twice, the server's transition times
    assert {"shelved", "unshelved", "out_of_service", "in_service"} <= {state for _, state, _ in got}
    assert follower.stats.connects >= 2 and follower.stats.p95_latency_s() is not None
    db.close()


@pytest.mark.parametrize("endpoint", ["http://scada:4840", "opc.tcp://", "scada:4840"])
def test_a_bad_endpoint_is_named(endpoint):
    with pytest.raises(ValueError, match="is not an OPC UA endpoint"):
        valid_endpoint(endpoint)
