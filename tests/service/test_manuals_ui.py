"""The UI's Manuals tab against a real uvicorn server, through the Gradio API (gradio_client): a search shows the
passages with document and page and the rendered picture of the first cited page; after a question, the pages its
answer cited are listed the same way."""

from __future__ import annotations

import threading

import pytest
import uvicorn
from PIL import Image

from agent.runner import HmiAgent
from agent.scripted import ScriptedModel, tool_call_text
from agent.service.app import create_app
from agent.settings import Settings
from agent.web.mount import mount_ui
from storage.db import open_database
from storage.demo import demo_definitions
from storage.demo_manuals import MANUAL_EN, MANUAL_ZH, write_demo_manuals
from tests.hmi_picture import StillScreen, render_hmi
from tests.service.conftest import seed_alarm_db
from tests.service.test_service_web_ui import _free_port
from tests.simulator import wait_for
from tools.actions import ScreenActions
from tools.manual_files import add_files

pytestmark = pytest.mark.slow  # a server with the UI, the demo manuals written and indexed: ~10 s on 2 busy cores

REPLIES = [
    tool_call_text("search_manuals", {"query": "gas leak detector", "limit": 1}),
    tool_call_text("final_answer", {"on_screen": "AI-106 gas alarm.", "recommended_action": "Evacuate the area."}),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("manuals-ui")
    url = seed_alarm_db(tmp)
    db = open_database(url)
    assert not add_files(db, write_demo_manuals(tmp / "manuals", demo_definitions())).errors
    db.close()
    settings = Settings(data_dir=tmp / "data", db_url=url, screen_parse=False)
    agent = HmiAgent(
        settings,
        model=ScriptedModel(REPLIES, repeat_last=True),
        screen_source=StillScreen(render_hmi()),
        actions=ScreenActions(mode="simulated", screen_size=(640, 400), min_interval=0),
    )
    app = mount_ui(create_app(settings, agent=agent))
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    wait_for(lambda: uv.started, timeout=10, what="the UI server to start")  # fails the tests if it never does
    yield f"http://127.0.0.1:{uv.config.port}/"
    uv.should_exit = True
    thread.join(timeout=10)
    agent.close()


def test_search_shows_passages_and_the_rendered_page(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    passages, choices, picture = client.predict("泵跳车 怎么处理", "", api_name="/search_manuals")
    assert f"{MANUAL_ZH} p. 13 (4.9 泵跳车报警)" in passages and "启动备用泵" in passages
    assert choices["value"] == f"{MANUAL_ZH} p. 13 (4.9 泵跳车报警)"
    assert Image.open(picture).size[1] > 1000  # an A4 page at 108 dpi


def test_search_with_an_unknown_tag_says_nothing_matches(server):
    from gradio_client import Client

    passages, _, picture = Client(server, verbose=False).predict("procedure", "XYZ-999", api_name="/search_manuals")
    assert "no passage in the indexed manuals mentioning XYZ-999" in passages and picture is None


def test_pages_cited_in_the_last_answer_are_listed(server, tmp_path):
    from gradio_client import Client, handle_file

    picture = tmp_path / "hmi.png"
    render_hmi().save(picture)
    client = Client(server, verbose=False)
    _, thread_id, *_ = client.predict(
        handle_file(str(picture)), False, "Gas alarm, what do we do?", None, [], api_name="/ask"
    )
    # the Manuals tab shares the Ask tab's thread; through the API the thread is passed as the browser would
    passages, choices, page = client.predict(thread_id, api_name="/cited_pages")
    assert f"{MANUAL_EN} p. 12 (4.8 Combustible gas alarms)" in passages
    assert choices["value"] == f"{MANUAL_EN} p. 12 (4.8 Combustible gas alarms)" and page
