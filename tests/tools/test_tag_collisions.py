"""Issue 13 item 1: two spellings that fold alike never resolve silently to the wrong alarm, and the importer
refuses identifiers with invisible characters (CLI end to end on a real SQLite file)."""

from __future__ import annotations

import json

import pytest

from tests.cli_runner import run
from tools.alarm_matching import TagMatcher


def test_exact_spelling_wins_over_a_row_that_folds_alike(capsys, sqlite_url, tmp_path):
    assert run(capsys, "--db", sqlite_url, "alarms", "demo-data")[0] == 0
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "history", "TIC-101.HH", "--since", "30d", "--json")
    real = json.loads(out)["activations"]
    assert code == 0 and real > 1
    hijack = tmp_path / "hijack.csv"
    hijack.write_text("event_time,tag,condition,state\n2026-01-01T00:00:00Z,TIC 101,HH,active\n")
    assert run(capsys, "--db", sqlite_url, "alarms", "import", str(hijack))[0] == 0

    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "history", "TIC-101.HH", "--since", "30d", "--json")
    data = json.loads(out)
    assert code == 0 and data["activations"] == real
    assert data["match"]["matches"][0]["tag"] == "TIC-101" and not data["match"]["ambiguous"]


def test_a_folded_spelling_of_two_alarms_is_ambiguous_with_both_named():
    matcher = TagMatcher([("TIC-101", "HH"), ("TIC 101", "HH"), ("PIC-203", "H")])
    match = matcher.match("tic101hh")
    assert match.ambiguous and {m.tag for m in match.matches} == {"TIC-101", "TIC 101"}
    bare = matcher.match("TIC101")
    assert bare.ambiguous and {m.tag for m in bare.matches} == {"TIC-101", "TIC 101"}
    assert matcher.match("TIC 101.HH").matches[0].tag == "TIC 101"
    assert not matcher.match("tic-101.hh").ambiguous  # case alone is no other spelling


@pytest.mark.parametrize(
    "tag, problem",
    [
        ("TIC-101\x00", "U+0000"),
        ("TIC-\u200b101", "ZERO WIDTH SPACE"),
        ("\u202eTIC-101", "RIGHT-TO-LEFT OVERRIDE"),
        ("TIC\x1b-101", "U+001B"),
        ("T" * 101, "101 characters long"),
    ],
)
def test_importer_refuses_tags_with_invisible_characters_by_line(capsys, sqlite_url, tmp_path, tag, problem):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "event_time,tag,condition,state\n2026-01-01T00:00:00Z,FIC-1,HH,active\n"
        f'2026-01-01T00:00:01Z,"{tag}",HH,active\n',
        encoding="utf-8",
    )
    code, _, err = run(capsys, "--db", sqlite_url, "alarms", "import", str(bad))
    assert code == 2 and "line 3" in err and problem in err and "nothing imported" in err
    assert len(err.strip().splitlines()) == 1
    code, out, _ = run(capsys, "--db", sqlite_url, "alarms", "history", "FIC-1", "--since", "3650d")
    assert code != 0  # the good row before it was not imported either


def test_definitions_with_a_bidi_tag_are_refused(capsys, sqlite_url, tmp_path):
    bad = tmp_path / "defs.yaml"
    bad.write_text('- tag: "TIC-101\\u202e"\n  condition: HH\n  description: spoof\n', encoding="utf-8")
    code, _, err = run(capsys, "--db", sqlite_url, "alarms", "import", str(bad))
    assert code == 2 and "line 1" in err and "RIGHT-TO-LEFT OVERRIDE" in err
