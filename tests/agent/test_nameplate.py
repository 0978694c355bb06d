"""A photographed nameplate: the screen parser's OCR reads the model number into the prompt, the model (scripted
decisions) looks it up with lookup_equipment, and the answer quotes the equipment-register row and cites it; a
model on no list is said to match nothing."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.runner import HmiAgent
from agent.scripted import ScriptedModel, tool_call_text
from agent.settings import Settings
from perception.screen import parse_screen
from storage.db import open_database
from storage.demo import demo_definitions
from storage.demo_manuals import REGISTER, cjk_font, write_demo_manuals
from tools.actions import ScreenActions
from tools.alarms import AlarmTools
from tools.manual_files import add_files

pytestmark = pytest.mark.slow  # OCR of the photo plus the demo manuals written and indexed: ~8 s on 2 busy cores


def nameplate(model: str, serial: str) -> Image.Image:
    """A photo-like motor nameplate: grey plate, dark lettering."""
    picture = Image.new("RGB", (900, 420), (170, 172, 168))
    draw = ImageDraw.Draw(picture)
    font = ImageFont.truetype(str(cjk_font()), 44)
    draw.rectangle((20, 20, 880, 400), outline=(60, 60, 60), width=6)
    for y, line in (
        (50, "THREE-PHASE INDUCTION MOTOR"),
        (130, f"MODEL {model}"),
        (210, f"SERIAL {serial}"),
        (290, "11 kW  380 V  1460 r/min"),
    ):
        draw.text((60, y), line, fill=(25, 25, 30), font=font)
    return picture


@pytest.fixture(scope="module")
def plant_db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nameplate")
    db = open_database(f"sqlite:///{tmp / 'alarms.sqlite'}")
    assert not add_files(db, write_demo_manuals(tmp / "manuals", demo_definitions())).errors
    yield db
    db.close()


def ask(plant_db, tmp_path, model_read: str, photo: Image.Image):
    replies = [
        tool_call_text("lookup_equipment", {"model": model_read}),
        tool_call_text("final_answer", {"on_screen": f"Nameplate of a motor, model {model_read}."}),
    ]
    scripted = ScriptedModel(replies)
    settings = Settings(data_dir=tmp_path / "data", db_url="sqlite://", record_sessions=False)
    agent = HmiAgent(
        settings,
        model=scripted,
        alarm_tools=AlarmTools(plant_db),
        screen_parser=parse_screen,
        actions=ScreenActions(mode="simulated", screen_size=photo.size, min_interval=0),
    )
    try:
        run = agent.ask("Is this motor on our list of obsolete high-energy models?", image=photo)
    finally:
        agent.close()
    return run, scripted


def _texts(request: dict) -> str:
    return "\n".join(
        item.get("text", "") if isinstance(item, dict) else str(item)
        for m in request["messages"]
        for item in (m["content"] if isinstance(m["content"], list) else [m["content"]])
    )


def test_obsolete_motor_on_the_nameplate_is_found_and_its_row_quoted(plant_db, tmp_path):
    run, scripted = ask(plant_db, tmp_path, "Y160M-4", nameplate("Y160M-4", "DL-1998-22031"))
    assert "Y160M-4" in _texts(scripted.requests[0])  # the parser's OCR read the plate into the prompt
    tool_result = [m for m in scripted.requests[1]["messages"] if m["role"] == "tool"][0]["content"]
    assert "Model: Y160M-4" in tool_result and "obsolete: high-energy model" in tool_result
    cited = [e for e in run.answer.evidence if e.kind == "citation"]
    assert [(e.document, e.label) for e in cited] == [(REGISTER, f"{REGISTER} (row 3)")]
    assert "Equipment lists, model Y160M-4" in run.answer.text


def test_model_on_no_list_is_said_to_match_nothing(plant_db, tmp_path):
    run, scripted = ask(plant_db, tmp_path, "YE3-90L-4", nameplate("YE3-90L-4", "XX-2024-1"))
    tool_result = [m for m in scripted.requests[1]["messages"] if m["role"] == "tool"][0]["content"]
    assert "no row in the indexed equipment lists matches model 'YE3-90L-4'" in tool_result
    assert not [e for e in run.answer.evidence if e.kind == "citation"]
