"""Bounds the CPU work the service does outside the model queue (decoding uploads, parsing screens): a few jobs
at a time, a bounded number waiting, the rest refused with 503 at once, as the model queue does. Without it, four
parallel /api/parse calls on huge images took the server from 3 to 13 GB."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from agent.service.queue import QueueFull

T = TypeVar("T")
CPU_JOBS = 2  # decodes/parses at once: each holds up to a full-size image (120 MB at the 40 MP cap) and a core


class CpuWork:
    def __init__(self, running: int, waiting: int) -> None:
        self.running = running
        self.waiting = waiting
        self._slots = asyncio.Semaphore(running)
        self._admitted = 0  # running plus waiting; changed only on the event loop

    async def run(self, job: Callable[..., T], *args: Any) -> T:
        """`job(*args)` in a worker thread once a slot is free; QueueFull when too many already wait."""
        if self._admitted >= self.running + self.waiting:
            raise QueueFull(self._admitted - self.running + 1)
        self._admitted += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(job, *args)
        finally:
            self._admitted -= 1
