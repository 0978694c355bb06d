"""The model queue: one job at a time, first come first served, a bounded wait list, errors handed back."""

from __future__ import annotations

import threading
import time

import pytest

from agent.service.queue import ModelQueue, QueueFull


def test_jobs_run_one_at_a_time_in_arrival_order_and_overflow_is_refused():
    gate = threading.Event()
    running, order, peak = [], [], []

    def job(n):
        def run(emit):
            running.append(n)
            peak.append(len(running))
            gate.wait(5)
            emit(f"event {n}")
            order.append(n)
            running.remove(n)
            return n * 10

        return run

    q = ModelQueue(max_waiting=3)
    tickets = [q.submit(job(0))]
    while q.depth != 1 or not running:  # job 0 holds the model; now fill the wait list
        time.sleep(0.01)
    tickets += [q.submit(job(n)) for n in (1, 2, 3)]
    with pytest.raises(QueueFull, match="busy, 4 requests ahead") as full:
        q.submit(job(4))
    assert full.value.ahead == 4
    gate.set()
    assert [t.future.result(5) for t in tickets] == [0, 10, 20, 30]
    assert order == [0, 1, 2, 3] and max(peak) == 1
    assert list(tickets[2].stream()) == ["event 2"]
    assert q.depth == 0
    q.close()


def test_a_failing_job_reports_to_its_caller_and_the_worker_lives_on():
    q = ModelQueue(max_waiting=2)

    def boom(emit):
        emit("started")
        raise RuntimeError("model fell over")

    failing = q.submit(boom)
    with pytest.raises(RuntimeError, match="fell over"):
        list(failing.stream())
    assert q.submit(lambda emit: "fine").future.result(5) == "fine"
    q.close()
