"""One model, many operators: a bounded first-come-first-served queue served by a single worker thread.

The model (and the agent around it) runs one request at a time, so every request, from the API or the UI, becomes
a job here. Jobs run strictly in arrival order; when `max_waiting` jobs already wait, a new one is refused at once
with `QueueFull` (the service answers 503 "busy, N requests ahead") instead of piling up until clients time out.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

Emit = Callable[[Any], None]
Job = Callable[[Emit], Any]  # runs on the worker; may emit progress (agent events) while it works

_DONE = object()


class QueueFull(RuntimeError):
    def __init__(self, ahead: int) -> None:
        super().__init__(f"busy, {ahead} requests ahead; try again shortly")
        self.ahead = ahead


@dataclass
class Ticket:
    """A queued job: its progress events as they happen, and its result (or exception) when done."""

    future: Future = field(default_factory=Future)
    events: queue.Queue = field(default_factory=queue.Queue)

    def stream(self) -> Iterator[Any]:
        """Blocks for each progress event until the job ends; then raises the job's exception, if any."""
        while (event := self.events.get()) is not _DONE:
            yield event
        self.future.result()


class ModelQueue:
    def __init__(self, max_waiting: int, on_depth: Callable[[int], None] | None = None) -> None:
        self.max_waiting = max_waiting
        self._jobs: queue.Queue[tuple[Job, Ticket] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = False
        self._on_depth = on_depth or (lambda depth: None)
        self._worker = threading.Thread(target=self._serve, name="model-queue", daemon=True)
        self._worker.start()

    @property
    def depth(self) -> int:
        """Requests waiting plus the one running."""
        with self._lock:
            return self._waiting + self._running

    def submit(self, job: Job) -> Ticket:
        with self._lock:
            if self._waiting >= self.max_waiting:
                raise QueueFull(self._waiting + self._running)
            self._waiting += 1
            ticket = Ticket()
            self._jobs.put((job, ticket))
            self._on_depth(self._waiting + self._running)
        return ticket

    def close(self) -> None:
        self._jobs.put(None)
        self._worker.join(timeout=30)

    def _serve(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, ticket = item
            with self._lock:
                self._waiting -= 1
                self._running = True
            try:
                if ticket.future.set_running_or_notify_cancel():
                    try:
                        ticket.future.set_result(job(ticket.events.put))
                    except BaseException as e:  # handed to the waiting request, which reports it
                        ticket.future.set_exception(e)
            finally:
                ticket.events.put(_DONE)
                with self._lock:
                    self._running = False
                    self._on_depth(self._waiting)
