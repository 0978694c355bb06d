"""What the agent is built from, as Protocols: any object with these methods will do — the real ones, scripted or
recorded ones in tests and replays, metered wrappers in the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PIL import Image

from perception.frames import Frame
from perception.screen.model import ScreenParse
from tools.registry import Tool

ScreenParser = Callable[[Image.Image], ScreenParse]  # e.g. perception.screen.parse_screen


class FrameSource(Protocol):
    """Where a run's frames come from: a screen capture, an image file, a recording."""

    def grab(self) -> Frame: ...


class AlarmToolset(Protocol):
    """The plant's data tools the model may call (tools.alarms.AlarmTools, or none in tests)."""

    def tools(self) -> list[Tool]: ...
