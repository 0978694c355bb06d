"""Bad input at the command line: one clear line naming the bad value, exit 2, no traceback, no data written.

Each row is what an operator or engineer really typed wrong once; none of them loads a model.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from agent.cli import main

GARBAGE = bytes(range(256)) * 8  # not UTF-8, not an image, not YAML


@pytest.fixture
def files(tmp_path, monkeypatch) -> Path:
    """Throwaway data dir and database, and a folder of broken input files."""
    monkeypatch.setenv("HMI_AGENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HMI_AGENT_DB_URL", f"sqlite:///{tmp_path / 'data' / 'alarms.sqlite'}")
    (tmp_path / "garbage.csv").write_bytes(GARBAGE)
    (tmp_path / "garbage.yaml").write_bytes(GARBAGE)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "broken.yaml").write_text("a: [1, 2\n  b: }{\n")
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "notes.csv").write_text("hello\n")
    for session, manifest in {"garbage-session": GARBAGE, "list-session": b"[1, 2]"}.items():
        (tmp_path / session).mkdir()
        (tmp_path / session / "manifest.json").write_bytes(manifest)
    Image.new("RGB", (64, 48), "gray").save(tmp_path / "screen.png")
    return tmp_path


def run(capsys, argv: list[str]) -> tuple[int, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code or 0
    return code, capsys.readouterr().err


CASES = [
    # (argv with {tmp} for the files folder, fragment of the error line)
    (["alarms", "import", "{tmp}/garbage.csv", "--kind", "journal"], "line 2: not UTF-8 text"),  # byte 0x80, after \n
    (["alarms", "import", "{tmp}/empty.csv", "--kind", "definitions"], "empty file: expected a CSV header"),
    (["alarms", "import", "{tmp}/broken.yaml"], "line 2: not valid YAML: expected ',' or ']', but got ':' at column 4"),
    (["alarms", "history", "TIC-101", "--since", "99999999d"], "'99999999d' reaches back further than the calendar"),
    (["alarms", "demo-data", "--export", "{tmp}/screen.png"], "cannot write to --export"),
    (["--db", "sqlite:////proc/no-such-dir/x.sqlite", "alarms", "define", "TIC-101"], "cannot create the folder"),
    (["--db", "mysql://nobody@127.0.0.1:1/x", "alarms", "define", "TIC-101"], "needs the database driver 'MySQLdb'"),
    (["--db", "foo", "routine", "list"], "'foo' is not a usable database URL"),
    (["--db", "foo", "routine", "history"], "'foo' is not a usable database URL"),
    (["--db", "sqlite:////proc/no-such-dir/x.sqlite", "routine", "unschedule", "x"], "cannot create the folder"),
    (["parse", "{tmp}/screen.png", "--annotate", "/proc/annotated.png"], "cannot write --annotate /proc/annotated.png"),
    (["alarms", "import", "{tmp}/notes.csv", "--kind", "definitions"], "header ['hello'] has no 'tag' column"),
    (["routine", "validate", "{tmp}/garbage.yaml"], "garbage.yaml:2: not UTF-8 text"),
    (["replay", "{tmp}/garbage-session"], "manifest.json is not a session manifest"),
    (["replay", "{tmp}/list-session"], "is not a session manifest: expected a JSON object"),
    (["routine", "replay", "{tmp}/list-session"], "is not a session manifest: expected a JSON object"),
    (["model", "pull", "3b"], "model size '3B' is not one of 2b, 4b, 8b"),
    (["--db", "foo", "serve"], "'foo' is not a usable database URL"),
    (["serve", "--port", "99999"], "--port"),
    (["serve", "--queue-size", "0"], "--queue-size"),
    (["ask", "what?", "--image", "{tmp}/screen.png", "--model", "/no/such/model"], "model folder '/no/such/model' does"),
    (["ask", "what?", "--image", "{tmp}/screen.png", "--model", "{tmp}/empty-dir"], "has no config.json"),
    (["sim", "--scenario", "{tmp}/garbage.yaml"], "garbage.yaml is not UTF-8 text"),
    (["sim", "--scenario", "{tmp}/broken.yaml"], "is not valid YAML: expected ',' or ']', but got ':' (line 2, column 4)"),
]


@pytest.mark.parametrize(("argv", "message"), CASES, ids=[" ".join(argv)[:60] for argv, _ in CASES])
def test_bad_input_is_one_clear_line(capsys, files, argv, message):
    code, err = run(capsys, [arg.replace("{tmp}", str(files)) for arg in argv])
    assert code == 2
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("HMI_AGENT_ALLOWED_REGIONS", "nonsense", 'field "allowed_regions"'),
        ("HMI_AGENT_MAX_STEPS", "abc", "setting max_steps='abc'"),
        ("HMI_AGENT_VIEW", "bogus", "setting view='bogus'"),
    ],
)
def test_bad_setting_is_one_clear_line(capsys, files, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    code, err = run(capsys, ["alarms", "define", "TIC-101"])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_no_display_is_a_frame_source_error(monkeypatch):
    from perception.capture import FrameSourceError, ScreenSource

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(FrameSourceError, match="cannot capture the screen"):
        ScreenSource(monitor=1).grab()


def test_rejected_import_leaves_the_database_unchanged(capsys, files):
    db_file = files / "data" / "alarms.sqlite"
    assert run(capsys, ["alarms", "demo-data", "--days", "2", "--tags", "7"])[0] == 0

    def counts() -> dict[str, int]:
        with sqlite3.connect(db_file) as conn:
            tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}

    before = counts()
    assert sum(before.values()) > 0
    good_and_bad = files / "journal.csv"
    run(capsys, ["alarms", "demo-data", "--days", "1", "--tags", "7", "--seed", "9", "--export", str(files / "x")])
    lines = (files / "x" / "journal.csv").read_text(encoding="utf-8").splitlines()
    good_and_bad.write_text("\n".join([*lines, lines[1].replace(lines[1].split(",")[0], "not-a-time")]) + "\n")
    code, err = run(capsys, ["alarms", "import", str(good_and_bad)])
    assert code == 2 and "nothing imported" in err
    assert counts() == before
