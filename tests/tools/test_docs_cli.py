"""`hmi-agent docs add|list|remove|search` and the demo manuals `alarms demo-data` indexes: what a new user types."""

from __future__ import annotations

import json

import pytest

from tests.cli_runner import run


@pytest.fixture
def folder(tmp_path):
    manuals = tmp_path / "manuals"
    (manuals / "sub").mkdir(parents=True)
    (manuals / "pumps.md").write_text("# Pump P-101\nPrime the pump before starting it.\n")
    (manuals / "sub" / "register.csv").write_text("Tag,Model,Status\nP-101,Y160M-4,obsolete\n")
    (manuals / "photo.jpg").write_bytes(b"not indexed: pictures are passed over in folders")
    return manuals


def test_add_list_search_remove_round_trip(capsys, sqlite_url, folder):
    code, out, _ = run(capsys, "--db", sqlite_url, "docs", "add", str(folder))
    assert code == 0 and "2 added, 0 replaced, 0 unchanged, 0 failed" in out
    code, out, _ = run(capsys, "--db", sqlite_url, "docs", "add", str(folder), "-q")
    assert code == 0 and "0 added, 0 replaced, 2 unchanged" in out
    code, out, _ = run(capsys, "--db", sqlite_url, "docs", "list", "--json")
    assert {d["name"]: d["kind"] for d in json.loads(out)} == {"pumps.md": "markdown", "register.csv": "table"}
    code, out, _ = run(capsys, "--db", sqlite_url, "docs", "search", "priming a pump", "--tag", "P-101")
    assert code == 0 and "[pumps.md (Pump P-101)]" in out and "Prime the pump" in out
    code, out, _ = run(capsys, "--db", sqlite_url, "docs", "remove", "pumps.md")
    assert code == 0 and "removed 1 document(s)" in out
    code, out, _ = run(capsys, "--db", sqlite_url, "docs", "search", "prime")
    assert "no passage in the indexed manuals matches 'prime'" in out


def test_bad_files_are_one_error_line_each_and_the_good_ones_indexed(capsys, sqlite_url, folder, tmp_path):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    code, out, err = run(
        capsys,
        "--db",
        sqlite_url,
        "docs",
        "add",
        str(folder / "pumps.md"),
        str(tmp_path / "broken.pdf"),
        str(tmp_path / "nope.txt"),
        "-q",
    )
    assert code == 1 and "1 added" in out and "2 failed" in out
    errors = [line for line in err.splitlines() if line.startswith("hmi-agent: error:")]
    assert len(errors) == 2 and "nope.txt: no such file or folder" in errors[0]
    assert "broken.pdf: not a readable PDF" in errors[1]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["docs", "search", ""], "bad arguments for search_manuals: query='': String should have at least 1 character"),
        (["docs", "remove", "never-added.pdf"], "not indexed: 'never-added.pdf'"),
    ],
)
def test_bad_input_is_one_line(capsys, sqlite_url, argv, message):
    code, _, err = run(capsys, "--db", sqlite_url, *argv)
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.slow  # writes the demo manuals (the Chinese one embeds a CJK font subset): ~5 s on 2 busy cores
def test_demo_data_indexes_the_demo_manuals_next_to_the_database(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'plant' / 'alarms.sqlite'}"
    code, out, _ = run(capsys, "--db", url, "alarms", "demo-data", "--days", "2", "--tags", "7")
    assert code == 0 and "manuals: 3 added" in out and str(tmp_path / "plant" / "manuals") in out
    code, out, _ = run(capsys, "--db", url, "alarms", "define", "TIC-101.HH")
    assert "procedure: [operating-manual-en.pdf p. 5 (4.1 High temperature alarms)]" in out
    code, out, _ = run(capsys, "--db", url, "docs", "search", "泵跳车怎么处理", "--limit", "1")
    assert "[operating-manual-zh.pdf p. 13 (4.9 泵跳车报警)]" in out
