"""The simulated HMI on a virtual display, clicked for real: ACK through ScreenActions in live mode changes the
screen and writes the acknowledgement, with the operator's name, into the alarm journal."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from perception.capture import ScreenSource
from perception.screen.model import Element, ScreenParse
from tests.simulator import ONE_ALARM_SCENARIO, running_simulator, wait_for
from tools.actions import ScreenActions

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]  # a simulator process on a virtual display
BUTTON_BAR = (0, 720, 1280, 800)
BANNER_PIXEL = (6, 60)
RED, GREY = (220, 0, 0), (74, 74, 74)


@pytest.fixture
def simulator(xvfb, tmp_path, sqlite_url):
    with running_simulator(tmp_path, sqlite_url, ONE_ALARM_SCENARIO, operator="tester",
                           ready=lambda status: status.get("banner"), ready_what="the simulator's first alarm") as status:
        yield status


def banner_colours(samples: int, every: float) -> list[tuple[int, int, int]]:
    colours = []
    for _ in range(samples):
        colours.append(ScreenSource().grab().image.getpixel(BANNER_PIXEL))
        time.sleep(every)
    return colours


def test_live_ack_click_acknowledges_the_alarm(simulator, sqlite_url):
    import pyautogui

    status = simulator()
    frame = ScreenSource().grab()
    parse = ScreenParse(width=frame.image.width, height=frame.image.height, elements=[
        Element(id=1, kind="button", bbox=tuple(status["buttons"]["ACK"]), text="ACK", confidence=1.0),
        Element(id=2, kind="button", bbox=tuple(status["buttons"]["ALARMS"]), text="ALARMS", confidence=1.0),
    ])
    assert RED in banner_colours(samples=8, every=0.15)  # unacknowledged: the banner blinks red

    simulated = ScreenActions()
    simulated.bind_frame(frame, parse)
    pyautogui.moveTo(900, 400)
    assert simulated.click(element_id=1).image and pyautogui.position() == (900, 400)
    time.sleep(0.3)
    assert simulator()["banner"] is not None and simulated.history[0].mode == "simulated"

    live = ScreenActions(mode="live", allowed_regions=[BUTTON_BAR], min_interval=0.3)
    live.bind_frame(frame, parse)
    refused = live.click(element_id=2)  # the ALARMS navigation button is outside the allowed region
    assert refused.error and "outside the regions" in refused.error and live.history == []
    result = live.execute(live.plan("click", {"element_id": 1}), approved_by="shift-lead")
    assert result.error is None and live.history[-1].approved_by == "shift-lead"
    acked = wait_for(lambda: simulator()["banner"] is None and simulator(), what="the acknowledgement")
    assert acked["alarms"][0]["state"] == "ACKED" and acked["page"] == "OVERVIEW"
    assert set(banner_colours(samples=3, every=0.3)) == {GREY}  # steady grey: nothing left unacknowledged

    with create_engine(sqlite_url).connect() as conn:
        rows = conn.execute(text("SELECT tag, condition, state, operator FROM alarm_events ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("LT-1", "HH", "active", None), ("LT-1", "HH", "acknowledged", "tester")]
