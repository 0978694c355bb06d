"""`hmi-agent parse IMAGE [--json] [--annotate OUT.png]` end to end (real OCR on the demo screen)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from agent.cli import main

DEMO = Path(__file__).resolve().parents[2] / "examples" / "screens" / "demo.png"


def _run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.mark.slow
def test_json_output_and_annotated_image(tmp_path, capsys):
    marked = tmp_path / "marked.png"
    code, out, _ = _run(["parse", str(DEMO), "--json", "--annotate", str(marked)], capsys)
    assert code == 0
    parsed = json.loads(out)
    assert (parsed["width"], parsed["height"]) == (1280, 800)
    kinds = {e["kind"] for e in parsed["elements"]}
    assert kinds == {"text", "button", "alarm_indicator", "alarm_row", "banner"}
    row = next(e for e in parsed["elements"] if e["kind"] == "alarm_row" and e.get("tag") == "TIC-101.HH")
    assert set(row) >= {"id", "kind", "bbox", "text", "priority", "state", "tag", "confidence"}
    assert len(row["bbox"]) == 4 and row["priority"] == "1"
    assert all("priority" not in e for e in parsed["elements"] if e["kind"] == "text")  # absent, not null
    with Image.open(marked) as image:
        assert image.size == (1280, 800)


@pytest.mark.slow
def test_table_output(capsys):
    code, out, _ = _run(["parse", str(DEMO)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("1280x800, ")
    assert any("banner" in line and "TIC-101.HH" in line for line in lines)


def test_missing_image_is_a_one_line_error_naming_the_path(tmp_path, capsys):
    missing = tmp_path / "nope.png"
    code, out, err = _run(["parse", str(missing)], capsys)
    assert code == 2
    assert err.strip() == f"hmi-agent: error: image file not found: {missing}"


def test_unreadable_image_and_bad_annotate_path(tmp_path, capsys):
    not_image = tmp_path / "notes.png"
    not_image.write_text("not a picture")
    code, _, err = _run(["parse", str(not_image)], capsys)
    assert code == 2 and f"cannot read {not_image} as an image" in err and "Traceback" not in err
    code, _, err = _run(["parse", str(DEMO), "--annotate", str(tmp_path / "no" / "such" / "dir.png")], capsys)
    assert code == 2 and "does not exist" in err
