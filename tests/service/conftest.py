"""Service fixtures: a real SQLite alarm database with one alarm's definition and journal, PNG upload bytes,
and `make_service` → the FastAPI app around an HmiAgent whose model decisions are scripted."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from agent.scripted import tool_call_text
from agent.settings import Settings

TAG = "TI-101"
DEFINITION_CSV = (
    "tag,condition,priority,response_time,setpoint,description,description_zh,probable_cause,corrective_action,units\n"
    f"{TAG},HI,2,10m,95,Reactor temperature high,反应器温度高,Cooling water flow low,Open cooling valve TV-101,C\n"
)
ASK_REPLIES = [
    tool_call_text("alarm_definition", {"tag": "TI-101.HI"}),
    tool_call_text("alarm_history", {"tag": "TI-101.HI", "since": "7d"}),
    tool_call_text(
        "final_answer",
        {
            "on_screen": "Alarm banner TI-101.HI, reactor temperature high, 98.5 C",
            "alarm_tag": "TI-101.HI",
            "meaning": "Reactor temperature above 95 C",
            "recent_history": "3 activations in the last 7 days",
            "recommended_action": "Open cooling valve TV-101",
        },
    ),
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def alarm_db_url(tmp_path) -> str:
    return seed_alarm_db(tmp_path)


def seed_alarm_db(tmp_path: Path) -> str:
    """A SQLite alarm database: TI-101.HI defined, activated 3 times in the last week (one acknowledged, cleared)."""
    from storage.db import open_database
    from storage.definitions import import_definitions
    from storage.journal import import_journal

    url = f"sqlite:///{tmp_path / 'alarms.sqlite'}"
    db = open_database(url)
    definitions = tmp_path / "definitions.csv"
    definitions.write_text(DEFINITION_CSV)
    import_definitions(db, definitions)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = ["event_time,tag,condition,state,priority,value,operator"]
    for n, days_ago in enumerate((1, 2, 2)):
        at = now - timedelta(days=days_ago, hours=1 + n)
        rows.append(f"{at.isoformat()},{TAG},HI,active,2,98.5,")
    at = now - timedelta(days=1, hours=1)
    rows.append(f"{(at + timedelta(minutes=3)).isoformat()},{TAG},HI,acknowledged,2,98.1,alice")
    rows.append(f"{(at + timedelta(minutes=9)).isoformat()},{TAG},HI,cleared,2,94.0,")
    journal = tmp_path / "journal.csv"
    journal.write_text("\n".join(rows) + "\n")
    import_journal(db, journal)
    db.engine.dispose()
    return url


@pytest.fixture
def service_settings(tmp_path, alarm_db_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", db_url=alarm_db_url, screen_parse=False, queue_size=4)


@pytest.fixture
def make_service(service_settings):
    """make_service(replies, *, with_ui=False, **settings) → (app, scripted model). Closes the agents afterwards."""
    from agent.scripted import ScriptedModel
    from agent.service.app import create_app
    from agent.web.mount import mount_ui

    apps = []

    def make(replies=ASK_REPLIES, *, with_ui=False, model=None, **overrides):
        settings = service_settings.model_copy(update=overrides)
        model = model or ScriptedModel(replies, repeat_last=True)
        app = create_app(settings, model=model)
        if with_ui:
            app = mount_ui(app)
        apps.append(app)
        return app, model

    yield make
    for app in apps:
        app.state.service.agent.close()
        app.state.service.queue.close()
