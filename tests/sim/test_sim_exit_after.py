"""--exit-after counts real seconds from launch, also when the scenario starts later (--start-at)."""

from __future__ import annotations

import json
import time

import pytest

from tests.simulator import start_simulator

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]  # a simulator process on a virtual display


def test_exit_after_counts_from_launch_not_from_the_scenario_start(xvfb, tmp_path, sqlite_url):
    status_file = tmp_path / "status.json"
    started = time.monotonic()
    process = start_simulator(sqlite_url, status_file, "--start-at", "60", "--exit-after", "2")
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert time.monotonic() - started >= 2
    assert json.loads(status_file.read_text())["banner"], "the window never drew the scenario at t=60"
