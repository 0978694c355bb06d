"""ScreenActions driving a real (virtual) X display with pyautogui: rate limit and fail-safe."""

from __future__ import annotations

import time

import pytest

from perception.capture import ScreenSource
from tools.actions import ScreenActions

pytestmark = pytest.mark.xvfb


@pytest.fixture
def live(xvfb) -> ScreenActions:
    actions = ScreenActions(mode="live", min_interval=0.4)
    actions.bind_frame(ScreenSource().grab(), None)
    return actions


def test_live_actions_are_spaced_by_min_interval(live):
    import pyautogui

    started = time.monotonic()
    for x in (300, 700):
        assert live.click(x=x, y=500).error is None
    assert time.monotonic() - started >= 0.4  # the second click waited for its turn instead of being refused
    assert pyautogui.position() == (round(700 * 1.28), 400)
    assert [r.outcome for r in live.history] == ["done", "done"] and live.screen_size == (1280, 800)


def test_live_screen_size_bounds_edited_targets(live):
    planned = live.plan("click", {"x": 500, "y": 500})
    assert "off-screen" in live.execute(planned.model_copy(update={"x": 5000})).error


def test_fail_safe_corner_stops_the_run(live):
    import pyautogui

    pyautogui.moveTo(0, 0, _pause=False)  # the operator throws the mouse into a corner
    try:
        with pytest.raises(pyautogui.FailSafeException):
            live.press_key("esc")
    finally:
        pyautogui.FAILSAFE = False  # leave the corner, or every later test would trip it too
        pyautogui.moveTo(640, 400, _pause=False)
        pyautogui.FAILSAFE = True
    assert live.history[-1].outcome == "stopped: FailSafeException"
