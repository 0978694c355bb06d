"""The committed example sessions are regression tests: each replays strictly (same prompts, actions, answer).

A deliberate change to prompts, tools or the screen parser makes them drift: review the diff, then re-record
with `python -m examples.sessions.record`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.replay import replay_session

SESSIONS = sorted(p.parent for p in (Path(__file__).resolve().parents[2] / "examples" / "sessions").glob("*/manifest.json"))


def test_there_are_example_sessions():
    assert len(SESSIONS) >= 3


@pytest.mark.parametrize("session", SESSIONS, ids=lambda p: p.name)
def test_example_session_replays_identically(session):
    report = replay_session(session, strict=True)
    assert report.ok, report.text()


def test_cli_replay_prints_the_report(capsys):
    from agent.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["replay", str(SESSIONS[0]), "--strict", "--json"])
    assert exit_.value.code == 0 and '"ok": true' in capsys.readouterr().out


def test_cli_replay_names_a_missing_session(capsys, tmp_path, monkeypatch):
    from agent.cli import main

    monkeypatch.setenv("HMI_AGENT_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "no-such-session"])
    assert exit_.value.code == 2 and "no recorded session at 'no-such-session'" in capsys.readouterr().err
