"""`hmi-agent profile ...` and --profile / site_profile at the command line: valid profiles are used, a bad one is
one line naming file and line (exit 2, no traceback), in a flag, the setting or a routine."""

from __future__ import annotations

import pytest
from PIL import Image

from agent.cli import main


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("HMI_AGENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HMI_AGENT_DB_URL", f"sqlite:///{tmp_path / 'alarms.sqlite'}")
    (tmp_path / "bad.yaml").write_text("name: site\ncolours:\n  red: 1\n  teal: 2\n")
    (tmp_path / "site.yaml").write_text("name: site\ncolours: {yellow: 2}\nstate_words: {rtn_unacked: [Passive]}\n")
    Image.new("RGB", (64, 48), "gray").save(tmp_path / "screen.png")
    return tmp_path


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_profile_check_and_list(workdir, capsys):
    code, out, _ = run(capsys, ["profile", "check", str(workdir / "site.yaml")])
    assert code == 0 and "profile 'site' is valid (2 entries of its own)" in out
    code, out, _ = run(capsys, ["profile", "list"])
    assert code == 0 and out.startswith("generic: ")


@pytest.mark.parametrize("argv", [
    ["profile", "check", "{tmp}/bad.yaml"],
    ["parse", "{tmp}/screen.png", "--profile", "{tmp}/bad.yaml"],
    ["ask", "what is this alarm?", "--image", "{tmp}/screen.png", "--profile", "{tmp}/bad.yaml"],
])
def test_a_bad_profile_is_one_line_naming_file_and_line(workdir, capsys, argv):
    code, _, err = run(capsys, [a.replace("{tmp}", str(workdir)) for a in argv])
    assert code == 2 and "Traceback" not in err
    assert err.strip() == f"hmi-agent: error: {workdir}/bad.yaml:4: colour 'teal' is not one of " \
                          "red, orange, yellow, green, cyan, blue, purple, magenta, grey, white, black"


def test_a_bad_site_profile_setting_or_routine_profile_is_refused(workdir, capsys, monkeypatch):
    routine = workdir / "r.yaml"
    routine.write_text(f"name: r\nprofile: {workdir}/missing.yaml\nsteps:\n  - wait: {{seconds: 1}}\n")
    code, _, err = run(capsys, ["routine", "validate", str(routine)])
    assert code == 2 and "missing.yaml: no such profile file" in err and "Traceback" not in err
    monkeypatch.setenv("HMI_AGENT_SITE_PROFILE", str(workdir / "bad.yaml"))
    code, _, err = run(capsys, ["profile", "list"])
    assert code == 2 and "setting site_profile" in err and "bad.yaml:4: colour 'teal'" in err


def test_profile_learn_with_nothing_in_the_database_says_so(workdir, capsys):
    code, _, err = run(capsys, ["profile", "learn", str(workdir / "screen.png")])
    assert code == 2 and "nothing to learn from" in err and "Traceback" not in err
