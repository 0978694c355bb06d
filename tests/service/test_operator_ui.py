"""The operator's experience, tested the way it was found (issue 17): a scripted Qwen-style model server on loopback
(OpenAI-compatible, replies in both tool-call formats the backend accepts) drives the real service, the real agent
and the real pointer (Xvfb); Playwright on Debian's Chromium asserts what the operator sees for ask, follow-up,
approve / edit / reject (also after a reload), errors and sessions, in English and Chinese.

Screenshots of every flow are kept in test-artefacts/ui/ (or $HMI_AGENT_TEST_ARTEFACTS) for a person to look at."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect

from agent.runner import HmiAgent
from agent.scripted import tool_call_text
from agent.scripted_server import QwenScriptServer, ServerError, StructuredCall
from agent.service.app import create_app
from agent.settings import Settings
from agent.web.mount import mount_ui
from tests.hmi_picture import StillScreen, render_hmi
from tests.service.conftest import seed_alarm_db
from tests.simulator import wait_for
from tools.actions import ScreenActions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"), pytest.mark.slow,
              pytest.mark.xvfb]
ARTEFACTS = Path(os.environ.get("HMI_AGENT_TEST_ARTEFACTS", Path(__file__).parents[2] / "test-artefacts")) / "ui"
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u23F3]")

FINAL_EN = {
    "on_screen": "Alarm banner TI-101.HI, reactor temperature high, 98.5 C",
    "alarm_tag": "TI-101.HI",
    "meaning": "Reactor temperature above 95 C",
    "recent_history": "3 activations in the last 30 days, last acknowledged by alice",
    "recommended_action": "Open cooling valve TV-101",
}
FINAL_ZH = {
    "on_screen": "报警横幅 TI-101.HI，反应器温度高，98.5 C",
    "alarm_tag": "TI-101.HI",
    "meaning": "反应器温度超过 95 C",
    "recent_history": "最近 30 天触发 3 次",
    "recommended_action": "打开冷却阀 TV-101",
}
SCRIPTS = {  # a keyword of the question -> the model's replies, in order (raw Qwen text and structured tool calls)
    "What does this alarm mean": [
        StructuredCall("alarm_definition", {"tag": "TI-101.HI"}, text="The banner shows TI-101.HI."),
        tool_call_text("alarm_history", {"tag": "TI-101.HI", "since": "30d"}),
        tool_call_text("final_answer", FINAL_EN),
    ],
    "And the week before": [
        tool_call_text("alarm_history", {"tag": "TI-101.HI", "since": "14d"}),
        tool_call_text("final_answer", {**FINAL_EN, "recent_history": "3 activations in the last 14 days"}),
    ],
    "这个报警": [
        tool_call_text("alarm_definition", {"tag": "TI-101.HI"}),
        StructuredCall("alarm_history", {"tag": "TI-101.HI", "since": "30d"}),
        tool_call_text("final_answer", FINAL_ZH),
    ],
    "Acknowledge": [
        tool_call_text("click", {"x": 859, "y": 875}, text="Clicking ACK acknowledges TI-101.HI; its row should stop blinking."),
        tool_call_text("final_answer", {"on_screen": "TI-101.HI acknowledged", "alarm_tag": "TI-101.HI"}),
    ],
    "overloaded": [ServerError(500)],
    "": [tool_call_text("final_answer", {"on_screen": "an alarm screen"})],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def model_server():
    server = QwenScriptServer(SCRIPTS)
    yield server
    server.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory, model_server, xvfb):
    tmp = tmp_path_factory.mktemp("operator-ui")
    settings = Settings(data_dir=tmp / "data", db_url=seed_alarm_db(tmp), screen_parse=True, action_mode="live",
                        backend="openai", openai_base_url=model_server.base_url, model="Qwen/Qwen3-VL-4B-Instruct")
    agent = HmiAgent(settings, screen_source=StillScreen(render_hmi()),
                     actions=ScreenActions(mode="live", screen_size=(640, 400), min_interval=0))
    app = mount_ui(create_app(settings, agent=agent))
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    wait_for(lambda: uv.started, timeout=20, what="the UI server to start")  # fails the tests if it never does
    yield f"http://127.0.0.1:{uv.config.port}/", agent
    uv.should_exit = True
    thread.join(timeout=10)
    agent.close()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, service):
    page = browser.new_page(viewport={"width": 1400, "height": 1300})
    page.goto(service[0])
    page.locator("#question textarea").wait_for(timeout=30000)
    yield page
    page.close()


def _shot(page, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def _upload(page, tmp_path) -> None:
    picture = tmp_path / "hmi.png"
    render_hmi().save(picture)
    page.locator("#picture input[type=file]").set_input_files(str(picture))
    page.locator("#picture img").first.wait_for(timeout=15000)


def _ask_with_enter(page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")  # Enter asks (Shift+Enter would break the line)


def _no_emoji(page) -> None:
    text = page.locator("body").inner_text()
    assert not EMOJI.search(text), EMOJI.search(text)


def test_enter_asks_and_the_answer_card_speaks_english_with_evidence_in_words(page, tmp_path):
    _upload(page, tmp_path)
    box = page.locator("#question textarea")
    box.fill("first line")
    box.press("Shift+Enter")
    assert box.input_value() == "first line\n"  # Shift+Enter breaks the line, asks nothing
    _ask_with_enter(page, "What does this alarm mean and has it happened recently?")
    card = page.locator("#answer-card")
    card.get_by_text("Open cooling valve TV-101").wait_for(timeout=60000)
    # the draft card comes first, the model's answer next, the panels (chart, trail) with the run's last update
    expect(page.locator("#chart-title")).to_contain_text("Activations of TI-101.HI, last 30 days", timeout=60000)
    text = card.inner_text()
    for expected in ("On screen", "Meaning", "Recent history", "Recommended action", "Evidence",
                     "Plant definition of TI-101.HI", "Alarm journal of TI-101.HI, last 30 days"):
        assert expected in text, expected
    assert "alarm_definition(" not in text and "final_answer" not in page.locator("#chat").inner_text()
    assert "Activations of TI-101.HI, last 30 days" in page.locator("#chart-title").inner_text()
    table = page.locator("#history").inner_text()
    assert "98.5 C" in table and "alice" in table and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", table)
    trail = page.locator("#tools").inner_text()
    assert "Plant definition of TI-101.HI" in trail and "Alarm journal of TI-101.HI" in trail
    page.locator("#marked img").wait_for(timeout=10000)
    assert "Thread" in page.locator("#thread").inner_text()
    _no_emoji(page)
    _shot(page, "ask-en")
    page.locator("#answer-card").screenshot(path=str(ARTEFACTS / "answer-card.png"))  # docs/img/answer-card.png

    # follow-up on the same thread: the chart and the card follow the window the agent looked at now
    thread = page.locator("#thread").inner_text().split(" - ")[0]
    _ask_with_enter(page, "And the week before?")
    page.locator("#chart-title").get_by_text("last 14 days").wait_for(timeout=60000)
    assert page.locator("#thread").inner_text().split(" - ")[0] == thread
    assert "3 activations in the last 14 days" in page.locator("#answer-card").inner_text()
    _shot(page, "follow-up-en")


def test_a_chinese_question_gets_a_chinese_answer_card(page, tmp_path):
    _upload(page, tmp_path)
    _ask_with_enter(page, "这个报警是什么意思？最近发生过吗？")
    card = page.locator("#answer-card")
    card.get_by_text("打开冷却阀 TV-101").wait_for(timeout=60000)
    expect(page.locator("#chart-title")).to_contain_text("最近 30 天", timeout=60000)  # the run's last update
    text = card.inner_text()
    for expected in ("画面内容", "含义", "近期记录", "建议操作", "依据", "TI-101.HI 的报警定义", "TI-101.HI 的报警记录（最近 30 天）"):
        assert expected in text, expected
    assert "Meaning" not in text and "Evidence" not in text
    assert "最近 30 天" in page.locator("#chart-title").inner_text() and "触发时间" in page.locator("#history").inner_text()
    _no_emoji(page)
    _shot(page, "ask-zh")


def _ask_live(page) -> None:
    page.locator("#live input").check()
    _ask_with_enter(page, "Acknowledge the alarm")
    page.locator("#approval-text").get_by_text("left-click").wait_for(timeout=60000)


def test_approve_shows_what_to_decide_on_then_the_whole_trail_and_the_frame_after(page, service):
    import pyautogui

    _ask_live(page)
    panel = page.locator("#approval-text").inner_text()
    assert "Clicking ACK acknowledges TI-101.HI; its row should stop blinking." in panel
    assert "Acts on alarm" in panel and "TI-101.HI" in panel and "Approve before" in panel
    page.locator("#approval-frame img").wait_for(timeout=10000)
    _shot(page, "approval-pending")
    page.locator("#pending:visible").first.screenshot(path=str(ARTEFACTS / "approval.png"))  # docs/img/approval.png
    page.locator("#approve").click()
    page.locator("#answer-card").get_by_text("TI-101.HI acknowledged").wait_for(timeout=60000)
    assert pyautogui.position() == (550, 350)
    expect(page.locator("#tools")).to_contain_text("approved by anonymous", timeout=30000)  # after the card
    trail = page.locator("#tools").inner_text()
    assert "left-click" in trail and "approved by anonymous" in trail
    assert page.locator("#pending:visible").count() == 0
    page.locator("#marked img").wait_for(timeout=10000)
    _no_emoji(page)
    _shot(page, "approval-approved")


def test_edit_by_clicking_the_picture_moves_the_target_and_approves_it(page):
    import pyautogui

    _ask_live(page)
    frame = page.locator("#approval-frame img")
    frame.wait_for(timeout=10000)
    box = frame.bounding_box()
    frame.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})  # the middle of the screen
    page.locator("#approval-text").get_by_text(re.compile(r"^Edited target: \(\d+, \d+\)")).wait_for(timeout=15000)
    _shot(page, "approval-edit")
    page.locator("#approve-edit").click()
    page.locator("#answer-card").get_by_text("TI-101.HI acknowledged").wait_for(timeout=60000)
    x, y = pyautogui.position()
    assert abs(x - 320) <= 3 and abs(y - 200) <= 3


def test_a_reloaded_page_picks_up_the_waiting_action_and_rejects_it(page, service):
    _ask_live(page)
    page.reload()
    page.locator("#question textarea").wait_for(timeout=30000)
    page.locator("#pending-list input").click()
    page.get_by_role("option", name=re.compile("left-click")).first.click()
    page.locator("#approval-text").get_by_text("left-click").wait_for(timeout=15000)
    page.locator("#reject").click()
    page.locator("#answer-card").get_by_text("TI-101.HI acknowledged").wait_for(timeout=60000)
    expect(page.locator("#tools")).to_contain_text("rejected by anonymous", timeout=30000)  # after the card
    _shot(page, "approval-rejected-after-reload")


def test_a_model_server_error_is_one_message_and_the_question_stays(page, tmp_path):
    _upload(page, tmp_path)
    _ask_with_enter(page, "Is the server overloaded?")
    status = page.locator("#status")
    status.get_by_text("could not be answered").wait_for(timeout=60000)
    assert "500" in status.inner_text() or "overloaded" in status.inner_text()
    assert page.locator("#question textarea").input_value() == "Is the server overloaded?"
    assert page.get_by_text("Error", exact=True).count() == 0  # no red badge on every panel
    _shot(page, "error")


def test_the_sessions_tab_lists_status_and_replays_readable_events(page, tmp_path):
    _upload(page, tmp_path)
    _ask_with_enter(page, "What does this alarm mean and has it happened recently?")
    page.locator("#answer-card").get_by_text("Open cooling valve TV-101").wait_for(timeout=60000)
    page.get_by_role("tab", name="Sessions").click()
    page.locator("#session-answer").get_by_text("Q: What does this alarm mean").wait_for(timeout=15000)
    listing = page.locator("#session-list").inner_text()
    assert "answered" in listing and not re.search(r"\d\d:\d\d:\d\d\.\d{6}", listing)
    events = page.locator("#session-event").inner_text()
    assert "Looked at the screen" in events and "Plant definition of TI-101.HI" in events and '{"kind"' not in events
    page.locator("#session-frame img").wait_for(timeout=10000)
    _shot(page, "sessions")
