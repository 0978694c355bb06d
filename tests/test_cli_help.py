"""`--help` reads as plain text: flags without type noise like "<bool>", and the commands people start with show
examples."""

from __future__ import annotations

import pytest

from agent.cli import main


def _help(capsys, *command: str) -> str:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", [(), ("ask",), ("watch",), ("replay",), ("routine", "run"), ("routine", "history")])
def test_help_shows_examples_and_no_bool_placeholder_on_flags(capsys, command):
    text = _help(capsys, *command)
    assert "<bool>" not in text
    assert "Examples:" in text or "First steps" in text
    assert "hmi-agent " + " ".join(command) in text.split("Examples:")[-1] or not command


def test_ask_help_says_where_progress_and_the_thread_id_go(capsys):
    text = _help(capsys, "ask")
    assert "--thread <str>" in text and "--json " in text and "Progress goes to stderr" in text


def test_commands_are_registered_once_however_often_main_runs(capsys):
    from agent.cli import app

    for _ in range(3):
        with pytest.raises(SystemExit):
            main(["--help"])
    names = [g.name for g in app.registered_groups] + [c.name or c.callback.__name__ for c in app.registered_commands]
    assert len(names) == len(set(names)), f"commands registered twice: {sorted(names)}"
