"""The agent as the service drives it (agent.runner.HmiAgent, or any object with these members)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from agent.interfaces import AlarmToolset
from agent.runner import AgentEvent, AgentRun, Decision
from perception.vlm.types import VisionLanguageModel


class ServedAgent(Protocol):
    vlm: VisionLanguageModel | None
    model_note: str | None  # why there is no model (yet), when vlm is None
    alarm_tools: AlarmToolset

    def stream(
        self,
        question: str,
        *,
        image: Path | Image.Image | None = None,
        screen: int | None = None,
        thread_id: str | None = None,
        authorised: bool = False,
    ) -> Iterator[AgentEvent]: ...

    def resume_stream(
        self,
        thread_id: str,
        decision: Decision,
        *,
        operator: str,
        approval_id: str | None = None,
        note: str | None = None,
    ) -> Iterator[AgentEvent]: ...

    def result(self, thread_id: str) -> AgentRun: ...

    def screen_of(self, thread_id: str) -> Any: ...

    def attach_model(self, model: VisionLanguageModel) -> None: ...

    def close(self) -> None: ...
