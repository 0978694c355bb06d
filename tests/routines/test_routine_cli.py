"""`hmi-agent routine ...` end to end on a virtual display: schedule in the foreground, list, history, unschedule."""

from __future__ import annotations

import pytest
from routine_helpers import write_routine

from agent.cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("HMI_AGENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HMI_AGENT_DB_URL", f"sqlite:///{tmp_path / 'data' / 'hmi.sqlite'}")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code or 0, out, err


@pytest.mark.xvfb
def test_schedule_list_history_unschedule(xvfb, env, tmp_path, capsys):
    path = write_routine(tmp_path, "snapshot", "schedule: {every: 1s}\nsteps:\n  - capture:\n")
    code, out, _ = run_cli(capsys, "routine", "schedule", str(path), "--max-runs", "1")
    assert code == 0 and "scheduled: snapshot" in out and "scheduler stopped after 1 runs" in out

    code, out, _ = run_cli(capsys, "routine", "list")
    assert code == 0 and out.startswith("snapshot") and " next " in out and str(path) in out

    code, out, _ = run_cli(capsys, "routine", "schedule", "--for", "0.2")  # no files: the stored schedule resumes
    assert code == 0 and "snapshot" in out

    code, out, _ = run_cli(capsys, "routine", "history", "--name", "snapshot")
    assert code == 0 and "snapshot" in out and " passed " in out and " schedule " in out

    assert run_cli(capsys, "routine", "unschedule", "snapshot")[0] == 0
    assert run_cli(capsys, "routine", "list")[1] == "no routines scheduled\n"
    code, _, err = run_cli(capsys, "routine", "schedule", "--for", "0.1")
    assert code == 2 and err.startswith("hmi-agent: error: nothing is scheduled")


def test_bad_files_are_one_line_errors(env, tmp_path, capsys):
    code, _, err = run_cli(capsys, "routine", "run", str(tmp_path / "missing.yaml"))
    assert code == 2 and err.startswith(f"hmi-agent: error: {tmp_path / 'missing.yaml'}: cannot read") and "Traceback" not in err
    manual = write_routine(tmp_path, "manual", "steps:\n  - capture:\n")
    code, _, err = run_cli(capsys, "routine", "schedule", str(manual), "--for", "0.1")
    assert code == 2 and "schedule: missing: nothing to schedule" in err
    code, _, err = run_cli(capsys, "routine", "unschedule", "nope")
    assert code == 2 and err == "hmi-agent: error: not scheduled: nope\n"
