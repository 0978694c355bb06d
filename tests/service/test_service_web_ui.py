"""The operator UI against a real uvicorn server: the page renders in a real headless Chromium (Debian's), and the
ask and sessions flows run through the Gradio API with gradio_client. The model's decisions are scripted per
question. The operator's flows in the browser (Playwright) are in test_operator_ui.py."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import uvicorn

from agent.runner import HmiAgent
from agent.scripted import ScriptedModel, reply_from_raw, tool_call_text
from agent.service.app import create_app
from agent.settings import Settings
from agent.web.mount import mount_ui
from tests.hmi_picture import StillScreen, render_hmi
from tests.service.conftest import ASK_REPLIES, seed_alarm_db
from tests.simulator import wait_for
from tools.actions import ScreenActions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
              pytest.mark.slow]  # a server with the UI, Chromium and gradio_client: ~30 s on 2 busy cores

SCRIPTS = {  # a keyword of the question -> the model's replies for it, in order
    "Acknowledge": [tool_call_text("click", {"x": 859, "y": 875}), tool_call_text("final_answer", {"on_screen": "left as is"})],
    "": ASK_REPLIES,
}


class ScriptPerQuestion(ScriptedModel):
    """Decisions scripted per question, so tests may run in any order against one server."""

    def __init__(self):
        super().__init__(["unused"])
        self.turns: dict[str, int] = {}

    def generate(self, messages, tools=None, *, max_new_tokens=512, time_limit_s=None):
        self.requests.append({"messages": messages, "tools": tools, "max_new_tokens": max_new_tokens})
        asked = " ".join(item.get("text", "") for m in messages if m["role"] == "user"
                         for item in (m["content"] if isinstance(m["content"], list) else [{"text": m["content"]}]))
        keyword = next(k for k in SCRIPTS if k in asked)
        turn = self.turns.get(keyword, 0)
        self.turns[keyword] = turn + 1
        script = SCRIPTS[keyword]
        return reply_from_raw(script[turn % len(script)])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("ui")
    url = seed_alarm_db(tmp)
    settings = Settings(data_dir=tmp / "data", db_url=url, screen_parse=False, action_mode="live")
    agent = HmiAgent(
        settings, model=ScriptPerQuestion(), screen_source=StillScreen(render_hmi()),
        actions=ScreenActions(mode="live", screen_size=(640, 400), min_interval=0),
    )
    app = mount_ui(create_app(settings, agent=agent))
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    wait_for(lambda: uv.started, timeout=10, what="the UI server to start")  # fails the tests if it never does
    yield f"http://127.0.0.1:{port}/"
    uv.should_exit = True
    thread.join(timeout=10)
    agent.close()


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--virtual-time-budget=10000", "--window-size=1280,1000", *args],
        capture_output=True, text=True, timeout=90,
    )


def test_the_page_renders_in_chromium(server, tmp_path):
    dom = _chromium("--dump-dom", server).stdout
    assert "<title>hmi-agent</title>" in dom
    for text in ("Ask", "Sessions", "Screenshot or photo", "Capture the live screen instead", 'type="file"'):
        assert text in dom, text
    shot = tmp_path / "page.png"
    _chromium(f"--screenshot={shot}", server)
    assert shot.stat().st_size > 10_000


def test_the_same_flow_through_the_gradio_api(server, tmp_path):
    from gradio_client import Client, handle_file

    picture = tmp_path / "hmi.png"
    render_hmi().save(picture)
    client = Client(server, verbose=False)
    outputs = client.predict(handle_file(str(picture)), False, "这个报警是什么意思？最近发生过吗？", None, [], api_name="/ask")
    card = next(o for o in outputs if isinstance(o, str) and "answer-card-body" in o)
    assert "建议操作" in card and "Open cooling valve TV-101" in card and "依据" in card

    _, sessions = client.predict(api_name="/sessions")
    newest = sessions["value"]
    _, frame, events, answer_md = client.predict(newest, api_name="/open_session")
    assert "这个报警是什么意思" in answer_md and "Looked at the screen" in events and frame
    frame, events = client.predict(newest, 2, api_name="/session_step")
    assert '<li aria-current="step">' in events and frame


def test_the_sessions_list_says_which_question_waits_for_approval(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    client.predict(None, True, "Acknowledge the alarm", None, [], api_name="/ask")  # live screen: the click waits
    listing, _ = client.predict(api_name="/sessions")
    rows = {row[2]: row[1] for row in listing["data"]}  # question -> status
    assert rows["Acknowledge the alarm"] == "waiting for approval"
    assert set(rows.values()) <= {"answered", "waiting for approval", "stopped at a limit", "failed", "unfinished"}
