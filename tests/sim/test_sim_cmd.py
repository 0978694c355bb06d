"""`hmi-agent sim`: bad input is one line and exit code 2, before any window opens."""

from __future__ import annotations

from typer.testing import CliRunner

from agent import cli
from agent.cli import sim_cmd


def run_cli(*args: str):
    cli._register_commands()
    if "sim" not in {command.name for command in cli.app.registered_commands}:
        sim_cmd.register(cli.app)
    return CliRunner().invoke(cli.app, list(args))


def test_bad_scenario_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\ntags: {}\ntimeline: [{at: 1, clear: {tag: NOPE, condition: HI}}]")
    result = run_cli("sim", "--scenario", str(bad), "--db", f"sqlite:///{tmp_path / 'j.sqlite'}")
    assert isinstance(result.exception, cli.UserError) and "names tag 'NOPE'" in str(result.exception)


def test_bad_database_url_is_a_user_error(tmp_path):
    result = run_cli("sim", "--db", "not a url")
    assert isinstance(result.exception, cli.UserError) and "'not a url'" in str(result.exception)
