"""Agent test fixtures: the rendered HMI saved as a PNG, an agent factory, real AlarmTools over demo alarm data."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from agent.runner import HmiAgent
from agent.scripted import ScriptedModel
from agent.settings import Settings
from tests.hmi_picture import StillScreen, render_hmi
from tools.actions import ScreenActions


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
