"""Launching the simulated HMI (`python -m agent.sim`) from tests and waiting on its status file."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ONE_ALARM_SCENARIO = """
title: Test unit
tags:
  LT-1: {description: Drum level, unit: "%", kind: level, value: 91}
timeline:
  - {at: 0, alarm: {tag: LT-1, condition: HIHI, priority: 1, description: Drum level high high}}
"""


def wait_for(predicate, timeout=10.0, what="condition"):
    """Polls `predicate` until it returns something truthy and returns that, or fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def start_simulator(db_url: str, status_file: Path, *args: str) -> subprocess.Popen:
    """Starts the simulator from the checkout, writing alarms to `db_url` and its state to `status_file`."""
    return subprocess.Popen(
        [sys.executable, "-m", "agent.sim", "--db", db_url, "--status-file", str(status_file), *args],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )


@contextmanager
def running_simulator(tmp_path: Path, db_url: str, scenario: str, *, operator: str,
                      ready: Callable[[dict], object], ready_what: str,
                      timeout: float = 10.0) -> Iterator[Callable[[], dict]]:
    """Runs the simulator on `scenario` until `ready(status)` holds; yields a function reading its current status.

    On exit it stops the simulator and fails the test if the simulator printed a traceback."""
    scenario_file = tmp_path / "unit.yaml"
    scenario_file.write_text(scenario)
    status_file = tmp_path / "status.json"
    process = start_simulator(db_url, status_file, "--scenario", str(scenario_file), "--operator", operator)

    def status() -> dict:
        return json.loads(status_file.read_text()) if status_file.exists() else {}

    wait_for(lambda: ready(status()), timeout=timeout, what=ready_what)
    yield status
    process.terminate()
    _, errors = process.communicate(timeout=10)
    assert "Traceback" not in errors, errors
