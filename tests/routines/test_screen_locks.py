"""Issue 13 item 8: routine screen locks are per display and monitor, shared by every process of the machine
(whatever its data dir), and monitor 0 (all monitors) overlaps every monitor. Other processes are real ones."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.routines.locks import screen_lock

HOLDER = textwrap.dedent("""
    import sys, time
    from agent.routines.locks import screen_lock
    with screen_lock(sys.argv[1], int(sys.argv[2]), display=sys.argv[3]) as held:
        print("held" if held else "busy", flush=True)
        sys.stdin.readline()  # hold until the test says so
""")


def hold_in_another_process(lock_dir: Path, screen: int, display: str = ":7") -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_dir), str(screen), display],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    assert proc.stdout.readline().strip() == "held"
    return proc


def release(proc: subprocess.Popen) -> None:
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait(timeout=10)


@pytest.mark.parametrize(
    "held, asked, free",
    [
        (1, 1, False),  # the same monitor
        (0, 1, False),  # all monitors overlap monitor 1
        (1, 0, False),  # ... and monitor 1 is part of all monitors
        (0, 0, False),
        (1, 2, True),  # other monitors are independent
    ],
)
def test_monitor_zero_overlaps_every_monitor_across_processes(tmp_path, held, asked, free):
    proc = hold_in_another_process(tmp_path, held)
    try:
        with screen_lock(tmp_path, asked, display=":7") as acquired:
            assert acquired is free
    finally:
        release(proc)
    with screen_lock(tmp_path, asked, display=":7") as acquired:
        assert acquired  # released with the process


def test_displays_are_independent_and_threads_exclude_each_other(tmp_path):
    with screen_lock(tmp_path, 1, display=":7") as first:
        assert first
        with screen_lock(tmp_path, 1, display=":8") as other_display:
            assert other_display
        with screen_lock(tmp_path, 1, display=":7") as again:  # same process, second open: still excluded
            assert not again


def test_runs_with_different_data_dirs_share_the_machine_lock(tmp_path):
    from agent.settings import Settings

    one, two = (Settings(data_dir=tmp_path / name) for name in ("a", "b"))
    assert one.screen_lock_dir == two.screen_lock_dir
    proc = hold_in_another_process(one.screen_lock_dir, 1, display="")
    try:
        with screen_lock(two.screen_lock_dir, 1, display="") as acquired:
            assert not acquired
    finally:
        release(proc)
