"""Runs the real `hmi-agent` command line in-process, as the tests of several areas do."""

from __future__ import annotations

from agent.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `hmi-agent ARGV...`."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as e:
        code = e.code or 0
    out, err = capsys.readouterr()
    return code, out, err
