"""The operator UI in a real headless Chromium (Debian's) against a real uvicorn server: the page renders; upload a
picture, ask, read the streamed answer; approve/reject a live action; replay a session. The same flow also runs
through the Gradio API with gradio_client. The model's decisions are scripted per question."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from agent.runner import HmiAgent
from agent.scripted import ScriptedModel, reply_from_raw, tool_call_text
from agent.service.app import create_app
from agent.settings import Settings
from tests.hmi_picture import StillScreen, render_hmi
from tests.service.conftest import ASK_REPLIES, seed_alarm_db
from tools.actions import ScreenActions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")

SCRIPTS = {  # a keyword of the question -> the model's replies for it, in order
    "Acknowledge": [tool_call_text("click", {"x": 859, "y": 875}), tool_call_text("final_answer", {"on_screen": "left as is"})],
    "": ASK_REPLIES,
}


class ScriptPerQuestion(ScriptedModel):
    """Decisions scripted per question, so tests may run in any order against one server."""

    def __init__(self):
        super().__init__(["unused"])
        self.turns: dict[str, int] = {}

    def generate(self, messages, tools=None, *, max_new_tokens=512):
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
    app = create_app(settings, agent=agent)
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if uv.started:
            break
        time.sleep(0.05)
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


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


def test_upload_ask_and_read_the_answer_in_the_browser(server, browser, tmp_path):
    picture = tmp_path / "hmi.png"
    render_hmi().save(picture)
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(server)
    page.locator("#picture input[type=file]").set_input_files(str(picture))
    page.locator("#picture img").first.wait_for(timeout=15000)  # the upload finished and shows
    page.locator("#question textarea").fill("What does this alarm mean and has it happened recently?")
    page.locator("#ask").click()
    page.locator("#chat").get_by_text("Recommended action: Open cooling valve TV-101").wait_for(timeout=30000)
    chat = page.locator("#chat").inner_text()
    assert "Meaning: Reactor temperature above 95 C" in chat and "3 step(s), 3 tool call(s)" in chat
    assert "alarm_history" in page.locator("#tools").inner_text()
    assert "alice" in page.locator("#history").inner_text()  # who acknowledged it last time
    page.locator("#marked img").wait_for(timeout=10000)
    shot = tmp_path / "ui-answer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000

    # the session just recorded is listed, opens (newest first) and replays event by event
    page.get_by_role("tab", name="Sessions").click()
    page.locator("#session-answer").get_by_text("Q: What does this alarm mean").wait_for(timeout=15000)
    assert "Open cooling valve TV-101" in page.locator("#session-answer").inner_text()
    assert "frame-001.png" in page.locator("#session-event").inner_text()
    page.screenshot(path=str(tmp_path / "ui-sessions.png"), full_page=True)
    page.close()


def test_a_live_action_waits_for_approve_or_reject_in_the_browser(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1200})
    page.goto(server)
    page.locator("#live input").check()
    page.locator("#question textarea").fill("Acknowledge the alarm")
    page.locator("#ask").click()
    page.locator("#pending").get_by_text("Live action waiting for approval").wait_for(timeout=30000)
    page.locator("#reject").click()
    page.locator("#chat").get_by_text("On screen: left as is").wait_for(timeout=30000)
    assert "Reject (operator)" in page.locator("#chat").inner_text()
    page.close()


def test_the_same_flow_through_the_gradio_api(server, tmp_path):
    from gradio_client import Client, handle_file

    picture = tmp_path / "hmi.png"
    render_hmi().save(picture)
    client = Client(server, verbose=False)
    chat, thread_id, *_ = client.predict(
        handle_file(str(picture)), False, "这个报警是什么意思？最近发生过吗？", None, [], api_name="/ask"
    )
    answer = chat[-1]["content"]
    text = answer if isinstance(answer, str) else str(answer)
    assert "建议操作" in text and "Open cooling valve TV-101" in text and thread_id

    _, sessions = client.predict(api_name="/sessions")
    newest = sessions["value"]
    _, frame, event, answer_md = client.predict(newest, api_name="/open_session")
    assert "这个报警是什么意思" in answer_md and event["kind"] == "frame" and frame
    frame, event = client.predict(newest, 2, api_name="/session_step")
    assert event["index"] == 2 and event["kind"] in ("node", "model", "frame", "tool")
