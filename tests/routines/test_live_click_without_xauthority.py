"""A live click on a display pyautogui cannot open (no ~/.Xauthority, as on a fresh SSH login) is a one-line error
naming the cause and the fix, run as a user runs it (the real CLI in a subprocess), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from routine_helpers import write_routine

CLI = Path(sys.executable).parent / "hmi-agent"


@pytest.mark.xvfb
def test_live_click_without_xauthority_is_one_line_naming_the_display(xvfb, tmp_path):
    path = write_routine(tmp_path, "corner", "steps:\n  - click: {x: 100, y: 100}\n")
    home = tmp_path / "home"  # no .Xauthority in it
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HMI_AGENT_") and k != "XAUTHORITY"}
    env.update(HOME=str(home), HMI_AGENT_DATA_DIR=str(tmp_path / "data"), HMI_AGENT_DB_URL=f"sqlite:///{tmp_path / 'hmi.sqlite'}")
    done = subprocess.run([str(CLI), "routine", "run", str(path), "--live", "--yes"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    (run_line,) = [line for line in done.stdout.splitlines() if "aborted" in line]
    assert "live actions need an X display" in run_line and ".Xauthority" in run_line
    assert "set XAUTHORITY / DISPLAY" in run_line
