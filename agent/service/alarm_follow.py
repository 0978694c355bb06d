"""The service follows an OPC UA server's alarms into the journal while it runs (settings.alarm_follow_url)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from agent.settings import Settings

log = logging.getLogger(__name__)


@asynccontextmanager
async def following_alarms(settings: Settings) -> AsyncIterator[None]:
    """Follows settings.alarm_follow_url in a background thread for as long as the block runs; nothing when unset."""
    if not settings.alarm_follow_url:
        yield
        return
    from storage.db import open_database
    from storage.opcua_follow import BackgroundFollower

    follower = BackgroundFollower(open_database(settings.db_url), settings.alarm_follow_url)
    follower.start()
    log.info("following the alarms of %s", settings.alarm_follow_url)
    try:
        yield
    finally:
        await asyncio.to_thread(follower.stop)
        log.info("alarm follow stopped: %s", follower.stats.summary())
