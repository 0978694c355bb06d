"""The service follows an OPC UA server's alarms in the background while it runs (HMI_AGENT_ALARM_FOLLOW_URL)."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from agent.service.alarm_follow import following_alarms
from agent.settings import Settings
from bench.opcua_alarm_server import emitted, free_port, start_process
from storage.db import open_database
from storage.models import AlarmEvent


def _count(url: str) -> int:
    db = open_database(url)
    with db.engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(AlarmEvent))
    db.close()
    return count


@pytest.mark.slow
def test_service_lifespan_follows_alarms_into_the_journal(tmp_path, sqlite_url):
    port = free_port()
    settings = Settings(
        db_url=sqlite_url, data_dir=tmp_path, alarm_follow_url=f"opc.tcp://127.0.0.1:{port}/hmi-agent-test/"
    )
    server = start_process(port, tmp_path, count=30, rate=50)

    async def serve_until_journaled() -> int:
        async with following_alarms(settings):
            deadline = time.monotonic() + 60
            while _count(sqlite_url) < 30 and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
        return _count(sqlite_url)

    try:
        assert asyncio.run(serve_until_journaled()) == len(emitted(tmp_path)) == 30
    finally:
        server.terminate()
        server.wait(20)


def test_a_follow_url_that_is_not_opc_tcp_is_refused_by_the_settings():
    with pytest.raises(ValidationError, match="alarm_follow_url"):
        Settings(alarm_follow_url="http://scada:4840")
