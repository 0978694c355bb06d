"""What `hmi-agent routine run` and `routine history` print, run as a user runs them (a subprocess on a virtual
display): a line per step as it starts and ends, then the run's line; history under column headers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from routine_helpers import write_routine

CLI = Path(sys.executable).parent / "hmi-agent"


def _cli(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HMI_AGENT_") or k == "HMI_AGENT_SCREEN_LOCK_DIR"}
    env.update(HMI_AGENT_DATA_DIR=str(tmp_path / "data"), HMI_AGENT_DB_URL=f"sqlite:///{tmp_path / 'hmi.sqlite'}")
    return subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.xvfb
@pytest.mark.slow  # two CLI processes
def test_routine_run_prints_each_step_and_history_has_column_headers(xvfb, tmp_path):
    path = write_routine(tmp_path, "snapshot", "steps:\n  - capture:\n  - press: f5\n  - capture:\n")
    done = _cli(tmp_path, "routine", "run", str(path))
    assert done.returncode == 0, done.stderr
    steps = [line.split("] ", 1)[1] for line in done.stderr.splitlines() if "] " in line]
    assert steps[0] == "routine snapshot: 3 steps on screen 1, simulated"
    assert steps[1::2] == ["step 1/3 capture", "step 2/3 press f5", "step 3/3 capture"]
    assert all(line.startswith("  ok (") for line in steps[2::2]) and len(steps) == 7
    assert "snapshot" in done.stdout and "passed" in done.stdout and "session: " in done.stdout

    history = _cli(tmp_path, "routine", "history").stdout.splitlines()
    assert history[0].split() == ["STARTED", "RUN", "ROUTINE", "STATUS", "TRIGGER", "ACTIONS", "WHY", "(failed", "step:",
                                  "reason)"]
    row = history[1].split()
    assert row[3:7] == ["snapshot", "passed", "manual", "1"]
    assert history[0].index("STATUS") == history[1].index("passed")  # the columns line up
