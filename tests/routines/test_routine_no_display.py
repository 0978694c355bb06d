"""Issue 13 item 11: `routine run` without a display ends the run `aborted` with the reason in one line (exit 1),
no traceback; the run is in the history. Run as its own process: no display is a property of the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROUTINE = ROOT / "examples" / "routines" / "pump_overview_check.yaml"


def hmi_agent(*argv: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from agent.cli import main; main()", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_routine_run_without_a_display_is_one_line(tmp_path, sqlite_url):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"} | {"HMI_AGENT_DATA_DIR": str(tmp_path / "data")}
    done = hmi_agent("--db", sqlite_url, "routine", "run", str(ROUTINE), env=env)
    assert done.returncode == 1 and "aborted" in done.stdout and "cannot capture the screen" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert "aborted" in hmi_agent("--db", sqlite_url, "routine", "history", env=env).stdout
