"""Agent test fixtures: a rendered HMI frame, a still 'screen' source with geometry, an agent factory."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from agent.runner import HmiAgent
from agent.scripted import ScriptedModel
from agent.settings import Settings
from perception.frames import Frame, ScreenGeometry
from tools.actions import ScreenActions


def render_hmi(size: tuple[int, int] = (640, 400), acked: bool = False) -> Image.Image:
    """A small alarm-list screen: a banner, one alarm row and an ACK button."""
    image = Image.new("RGB", size, (200, 200, 200))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    draw.rectangle((0, 0, size[0], 40), fill=(150, 150, 150) if acked else (220, 30, 30))
    draw.text((10, 10), "TI-101.HI  REACTOR TEMP HIGH  98.5 C", fill=(255, 255, 255), font=font)
    draw.rectangle((20, 80, 620, 110), fill=(255, 255, 255))
    draw.text((30, 85), "01:02:03  TI-101.HI  HIGH  " + ("ACKED" if acked else "UNACK"), fill=(0, 0, 0), font=font)
    draw.rectangle((500, 330, 600, 370), fill=(60, 60, 60))
    draw.text((530, 340), "ACK", fill=(255, 255, 255), font=font)
    return image


class StillScreen:
    """A screen source that always shows the same picture at the desktop origin (real Frame with geometry)."""

    def __init__(self, image: Image.Image):
        self.image = image

    def grab(self) -> Frame:
        w, h = self.image.size
        return Frame(self.image, "screen:1", datetime.now(timezone.utc), ScreenGeometry(0, 0, w, h))


class NoAlarmTools:
    def tools(self):
        return []


@pytest.fixture
def hmi_png(tmp_path) -> Path:
    path = tmp_path / "hmi.png"
    render_hmi().save(path)
    return path


@pytest.fixture
def make_agent(tmp_path):
    """make_agent(replies, alarm_tools=..., **settings) → HmiAgent with a ScriptedModel, recording into tmp_path."""
    agents = []

    def make(replies, *, alarm_tools=None, actions=None, screen_source=None, clock=None, repeat_last=False, **overrides):
        settings = Settings(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'alarms.sqlite'}",
                            screen_parse=False, **overrides)
        extra = {"clock": clock} if clock else {}
        agent = HmiAgent(
            settings,
            model=ScriptedModel(replies, repeat_last=repeat_last),
            alarm_tools=alarm_tools or NoAlarmTools(),
            actions=actions or ScreenActions(mode=settings.action_mode, screen_size=(640, 400), min_interval=0),
            screen_source=screen_source or StillScreen(render_hmi()),
            **extra,
        )
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.close()


DEFINITIONS_CSV = """tag,condition,priority,response_time,setpoint,description,description_zh,corrective_action,corrective_action_zh,units
TI-101,HI,2,5m,95,Reactor temperature high,反应器温度高,Check cooling water flow and reduce feed,检查冷却水流量并减少进料,C
"""
JOURNAL_CSV = """event_time,tag,condition,state,priority,value,message,operator
2026-01-10T08:00:00Z,TI-101,HI,active,2,97.1,Reactor temperature high,
2026-01-10T08:03:00Z,TI-101,HI,acknowledged,2,96.0,Reactor temperature high,alice
2026-01-10T08:20:00Z,TI-101,HI,cleared,2,90.2,Reactor temperature high,
2026-01-14T13:00:00Z,TI-101,HI,active,2,98.5,Reactor temperature high,
"""
NOW = datetime(2026, 1, 14, 13, 30, tzinfo=timezone.utc)


def make_alarm_tools(directory: Path):
    """Real AlarmTools over a real SQLite file with two definitions' worth of demo data, at a fixed 'now'."""
    from storage.db import open_database
    from storage.importing import import_file
    from tools.alarms import AlarmTools

    (directory / "definitions.csv").write_text(DEFINITIONS_CSV)
    (directory / "journal.csv").write_text(JOURNAL_CSV)
    db = open_database(f"sqlite:///{directory / 'plant.sqlite'}")
    import_file(db, directory / "definitions.csv")
    import_file(db, directory / "journal.csv")
    return AlarmTools(db, clock=lambda: NOW)


@pytest.fixture
def alarm_tools(tmp_path):
    return make_alarm_tools(tmp_path)
