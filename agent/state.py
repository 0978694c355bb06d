"""What the graph carries between nodes (checkpointed per thread) and what it is run with (not checkpointed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from agent.chat_model import KEPT_IMAGES, forget_old_images
from perception.view import ViewSetting

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable

    from agent.recording import SessionRecorder
    from perception.capture import ChangeGate
    from perception.frames import Frame
    from tools.actions import ScreenActions
    from tools.registry import Tool


def add_messages_keeping_recent_images(left: list[AnyMessage], right: Any) -> list[AnyMessage]:
    """add_messages, then older screenshots become text: the model is never shown them again, and every checkpoint
    of a thread would otherwise store all of its frames once more (growing with each step and follow-up)."""
    return forget_old_images(add_messages(left, right), KEPT_IMAGES)


class AgentState(TypedDict, total=False):
    """Checkpointed thread state: plain, serialisable values only (frames live in the RunContext)."""

    messages: Annotated[list[AnyMessage], add_messages_keeping_recent_images]
    question: str
    language: str  # "en" | "zh", of the current question
    started_at: float  # wall clock (time.time()) when the current question started, moved on by approval waits
    paused_at: float  # wall clock when the run last paused for the operator's approval
    steps: int  # model turns for the current question
    retries: int  # model mistakes in a row
    final: dict[str, Any] | None  # final_answer arguments once the model gave them
    answer: dict[str, Any] | None  # the Answer (model_dump) of the current question
    limited: bool  # a step/time/retry limit ended the question
    acted: bool  # an action ran since the last look at the screen: verify it
    limit_reason: str | None  # "steps" | "time" | "retries"
    pending: list[dict[str, Any]]  # live actions awaiting approval: {tool_call_id, name, arguments, planned}
    evidence: list[dict[str, Any]]  # Evidence (model_dump) gathered for the current question
    draft: dict[str, Any] | None  # the screen parser's draft Answer (model_dump) of the current question
    draft_only: bool  # no model: the draft is the answer


@dataclass
class RunContext:
    """Everything a run needs that is not thread state: the model, the tools, where frames come from, the recorder."""

    model: Runnable | None  # the chat model bound to the tool schemas below; None: no model, the draft answers
    tools: dict[str, Tool]  # by name: data tools, actions, final_answer
    tool_schemas: list[dict[str, Any]]
    actions: ScreenActions
    grab: Callable[[], Frame]  # the next frame of this run (screen capture, a file, a recording)
    live_source: bool  # False for photos/files: re-capturing shows nothing new
    gate: ChangeGate
    parse: Callable[[Any], Any] | None  # PIL image -> ScreenParse, or None when screen parsing is off
    max_steps: int
    max_seconds: float
    max_retries: int
    authorised: bool = False
    settle_seconds: float = 0.3  # wait for the screen to redraw after a live action before re-capturing
    recorder: SessionRecorder | None = None
    clock: Callable[[], float] = time.time
    # the frame and screen parse the model is currently looking at
    frame: Frame | None = None
    screen: Any = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per node (and "model") for benches
    drafts: bool = False  # compose the parser's draft answer before the model's turns (agent/draft.py)
    draft_lookup: Callable[[str, dict], Any] | None = None  # (tool name, arguments) -> ToolResult, for the draft
    model_notes: list[str] = field(default_factory=list)  # why there is no model and how to install one
    view: ViewSetting | None = None  # what the model is shown of each frame (perception/view.py); None: full screen
