"""Issue 13 item 6: YAML alias bombs and oversized files are refused with one short line, for alarm definitions
and routines, before they expand in memory; non-UTF-8 files name the real line (item 11)."""

from __future__ import annotations

import pytest

from tests.cli_runner import run

BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{','.join(['*' + chr(ord('a') + i - 1)] * 9)}]"
        for i in range(1, 9)
    ]
)  # 9^9 = 387 million strings once expanded, under 1 KB written
RECURSIVE = "a: &a [*a]\n"


@pytest.mark.parametrize("text, expected", [(BOMB, "aliases expand"), (RECURSIVE, "recursive")])
@pytest.mark.parametrize("kind", ["definitions", "routine"])
def test_alias_bombs_are_refused_in_one_short_line(capsys, sqlite_url, tmp_path, text, expected, kind):
    path = tmp_path / "bomb.yaml"
    assert len(text) < 1024
    if kind == "definitions":
        path.write_text(f"alarms:\n  - tag: X\n    description: {{{text.replace(chr(10), ', ')}}}\n")
        code, _, err = run(capsys, "--db", sqlite_url, "alarms", "import", str(path))
    else:
        path.write_text(f"name: bomb\nvars: {{{text.replace(chr(10), ', ')}}}\nsteps: []\n")
        code, _, err = run(capsys, "routine", "validate", str(path))
    assert code != 0 and expected in err
    assert len(err) < 600 and len(err.strip().splitlines()) <= 2


def test_a_routine_bigger_than_the_cap_is_refused_unread(capsys, tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("name: huge\nsteps: []\n# " + "x" * (2 * 1024 * 1024) + "\n")
    code, _, err = run(capsys, "routine", "validate", str(path))
    assert code != 0 and "more than the" in err and len(err) < 600


def test_legitimate_aliases_still_load(capsys, sqlite_url, tmp_path):
    path = tmp_path / "defs.yaml"
    path.write_text(
        "common: &common {area: Reactor, priority: 2}\n"
        "alarms:\n  - {<<: *common, tag: TIC-1, condition: HH, description: hot}\n"
        "  - {<<: *common, tag: TIC-2, condition: HH, description: hotter}\n"
    )
    code, out, err = run(capsys, "--db", sqlite_url, "alarms", "import", str(path))
    assert code == 0, err
    assert "2 imported" in out


@pytest.mark.parametrize("suffix", ["yaml", "csv"])
def test_non_utf8_definitions_name_the_real_line(capsys, sqlite_url, tmp_path, suffix):
    path = tmp_path / f"defs.{suffix}"
    good = "- tag: T-{0}\n  description: fine\n" if suffix == "yaml" else "T-{0},fine\n"
    head = "" if suffix == "yaml" else "tag,description\n"
    path.write_bytes((head + "".join(good.format(i) for i in range(3000))).encode() + b"- tag: caf\xe9\n")
    code, _, err = run(capsys, "--db", sqlite_url, "alarms", "import", str(path))
    line = 6001 if suffix == "yaml" else 3002
    assert code == 2 and f"line {line}: not UTF-8" in err


def test_non_utf8_journal_names_the_real_line(capsys, sqlite_url, tmp_path):
    path = tmp_path / "journal.csv"
    rows = "".join(f"2026-01-01T00:00:{i % 60:02d}Z,T-{i},active\n" for i in range(3000))
    path.write_bytes(b"event_time,tag,state\n" + rows.encode() + b"2026-01-01T00:00:00Z,caf\xe9,active\n")
    code, _, err = run(capsys, "--db", sqlite_url, "alarms", "import", str(path))
    assert code == 2 and "line 3002: not UTF-8" in err


@pytest.mark.parametrize("kind", ["journal", "definitions"])
def test_a_million_character_csv_field_is_one_line_error(capsys, sqlite_url, tmp_path, kind):
    path = tmp_path / "big.csv"
    header = "event_time,tag,state,message\n" if kind == "journal" else "tag,description\n"
    good = "2026-01-01T00:00:00Z,T-1,active,ok\n" if kind == "journal" else "T-1,ok\n"
    big = (
        f'2026-01-01T00:00:01Z,T-2,active,"{"x" * 1_000_000}"\n' if kind == "journal" else f'T-2,"{"x" * 1_000_000}"\n'
    )
    path.write_text(header + good + big)
    code, _, err = run(capsys, "--db", sqlite_url, "alarms", "import", str(path))
    assert code == 2 and "line 3" in err and "field larger than field limit" in err and "nothing imported" in err
    assert len(err.strip().splitlines()) == 1 and len(err) < 600
