"""HmiAgent: the one entry point for the CLI, the web UI and routines — ask, stream, resume an approval.

A run = one question on a thread. The thread (messages, per-question counters) persists in the SQLite checkpointer,
so a follow-up question on the same thread_id sees the earlier turns, and a live action waiting for approval can be
resumed later — by the same process or, after a restart, another one.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.types import Command
from PIL import Image
from pydantic import BaseModel, ConfigDict

from agent import prompts
from agent.answer import Answer, detect_language
from agent.chat_model import VLMChatModel
from agent.graph import build_graph
from agent.recording import SessionRecorder
from agent.settings import Settings
from agent.state import RunContext
from agent.tool_binding import build_tools, schemas
from perception.capture import ChangeGate, FileSource, ScreenSource
from perception.frames import Frame, rgb_image
from perception.vlm.types import ModelLoadError, VisionLanguageModel
from tools.actions import PlannedAction, ScreenActions

logger = logging.getLogger(__name__)

Decision = Literal["approve", "reject"] | dict[str, Any]
KEPT_CONTEXTS = 32
EventKind = Literal["step", "model", "tool_call", "tool_result", "approval", "answer"]


class AgentEvent(BaseModel):
    """One thing that happened in a run, for live UIs: kind + JSON-able data."""

    kind: EventKind
    data: dict[str, Any]


class AgentRun(BaseModel):
    """The outcome of ask/resume: an answer, or an action waiting for the operator's approval."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    thread_id: str
    answer: Answer | None = None
    pending_action: PlannedAction | None = None
    session_dir: Path | None = None
    steps: int = 0
    timings: dict[str, float] = {}  # seconds per node and "model", this question so far


def load_vlm(settings: Settings, *, long_running: bool = False) -> VisionLanguageModel:
    """The model named by the settings; ModelLoadError (one line saying what to do) when it can't be had.

    `long_running` (service, scheduler): compile the GPU decode step when settings say "auto", and warm the model
    up now, so the first operator's question doesn't pay for kernel loading and compiling."""
    if settings.backend == "openai":
        from perception.vlm.openai_backend import OpenAICompatibleVLM

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAICompatibleVLM(settings.openai_base_url, settings.model, api_key=key)
    from perception.vlm.transformers_backend import TransformersQwen3VL

    compile_mode = settings.model_compile if settings.model_compile != "auto" or long_running else "off"
    try:
        model = TransformersQwen3VL.load(
            settings.model, device=settings.device, dtype=settings.dtype, quantization=settings.quantization,
            min_pixels=settings.min_pixels, max_pixels=settings.max_pixels, compile=compile_mode,
        )
    except ModelLoadError as e:
        local = Path(settings.model).expanduser().exists() or settings.model.startswith(("/", "./", "../", "~"))
        if local or not isinstance(e.__cause__, OSError):  # only a failed hub-cache lookup means "pull it first"
            raise
        raise ModelLoadError(
            f"model {settings.model!r} is not in the local cache and the hub is unreachable; run `hmi-agent model pull` "
            f"on a connected machine or pass --model DIR ({e})"
        ) from e
    if long_running and model.device_is_cuda():  # on a CPU the warm-up prefill costs more than it saves
        try:
            seconds = model.warm_up()
            logger.info("model warmed up in %.1f s (decode compiled: %s)", seconds, model.compile_decode)
        except Exception as e:  # the questions will say what is wrong; starting the service must not fail here
            logger.warning("model warm-up failed (%s: %s); the first question pays for loading instead",
                           type(e).__name__, (str(e).splitlines() or [""])[0])
    return model


def open_checkpointer(path: Path):
    from langgraph.checkpoint.sqlite import SqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(sqlite3.connect(str(path), check_same_thread=False))


class _ImageSource:
    """A PIL image handed in directly (web upload): every grab returns it, not on this screen."""

    def __init__(self, image: Image.Image):
        self.image = rgb_image(image)

    def grab(self) -> Frame:
        return Frame(image=self.image, source="image", captured_at=datetime.now(timezone.utc))


class HmiAgent:
    """Answers operator questions about a screen. Construct once (loads the model), ask many times."""

    def __init__(
        self,
        settings: Settings,
        *,
        model: VisionLanguageModel | None = None,
        checkpointer: Any = None,
        screen_source: Any = None,
        alarm_tools: Any = None,
        actions: ScreenActions | None = None,
        screen_parser: Callable[[Image.Image], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.vlm = model if model is not None else load_vlm(settings)
        self.checkpointer = checkpointer if checkpointer is not None else open_checkpointer(settings.checkpoint_path)
        self.graph = build_graph(self.checkpointer)
        self.alarm_tools = alarm_tools if alarm_tools is not None else _default_alarm_tools(settings)
        self.actions = actions or ScreenActions(
            mode=settings.action_mode, allowed_regions=settings.allowed_regions, min_interval=settings.min_action_interval
        )
        self.screen_source = screen_source
        self.screen_parser = screen_parser if screen_parser is not None else _default_parser(settings)
        self.clock = clock
        self.tools = build_tools(self.alarm_tools.tools(), self.actions.tools())
        self.chat_model = VLMChatModel(vlm=self.vlm, max_new_tokens=settings.max_new_tokens)
        # per thread, the latest run's context: what a resume needs (frame bound, recorder) and its timings;
        # bounded, since a service sees many threads (an evicted pending thread resumes on a fresh context)
        self._contexts: OrderedDict[str, RunContext] = OrderedDict()
        self._session_dirs: dict[str, Path] = {}  # per thread: the recording of its latest question

    # ------------------------------------------------------------------------------------------------ public API

    def ask(self, question: str, *, image: Path | Image.Image | None = None, screen: int | None = None,
            thread_id: str | None = None, authorised: bool = False) -> AgentRun:
        thread_id = thread_id or uuid.uuid4().hex
        for _ in self.stream(question, image=image, screen=screen, thread_id=thread_id, authorised=authorised):
            pass
        return self.result(thread_id)

    def stream(self, question: str, *, image: Path | Image.Image | None = None, screen: int | None = None,
               thread_id: str | None = None, authorised: bool = False) -> Iterator[AgentEvent]:
        """Runs one question, yielding events as nodes finish; ends with an answer or an approval event."""
        question = question.strip()
        if not question:
            raise ValueError("the question is empty")
        thread_id = thread_id or uuid.uuid4().hex
        ctx = self._context(question, thread_id, image=image, screen=screen, authorised=authorised)
        language = detect_language(question)
        start = {
            "question": question, "language": language, "started_at": self.clock(), "steps": 0, "retries": 0,
            "final": None, "answer": None, "limited": False, "limit_reason": None, "acted": False, "pending": [],
            "evidence": [], "messages": self._withdraw_pending(thread_id),
        }
        yield from self._drive(start, thread_id, ctx)

    def resume(self, thread_id: str, decision: Decision, *, operator: str) -> AgentRun:
        """Continues a run paused for approval: "approve", "reject", or a dict of edited action arguments."""
        for _ in self.resume_stream(thread_id, decision, operator=operator):
            pass
        return self.result(thread_id)

    def resume_stream(self, thread_id: str, decision: Decision, *, operator: str) -> Iterator[AgentEvent]:
        if not (decision in ("approve", "reject") or isinstance(decision, dict)):
            raise ValueError(f"{decision=} is not 'approve', 'reject' or a dict of edited arguments")
        if not operator.strip():
            raise ValueError("an approval needs the operator's name")
        if not self.graph.get_state(self._config(thread_id)).interrupts:
            raise ValueError(f"thread {thread_id!r} has no action waiting for approval")
        ctx = self._contexts.get(thread_id) or self._context_for_resume(thread_id)
        yield from self._drive(Command(resume={"decision": decision, "operator": operator}), thread_id, ctx)

    def result(self, thread_id: str) -> AgentRun:
        """Where the thread stands now: its last answer, or the action awaiting approval."""
        state = self.graph.get_state(self._config(thread_id))
        values = state.values
        session_dir = self._session_dirs.get(thread_id)
        ctx = self._contexts.get(thread_id)
        timings = dict(ctx.timings) if ctx else {}
        if state.interrupts:
            pending = PlannedAction.model_validate(state.interrupts[0].value["action"])
            return AgentRun(thread_id=thread_id, pending_action=pending, session_dir=session_dir, steps=values.get("steps", 0),
                            timings=timings)
        answer = Answer.model_validate(values["answer"]) if values.get("answer") else None
        return AgentRun(thread_id=thread_id, answer=answer, session_dir=session_dir, steps=values.get("steps", 0),
                        timings=timings)

    def history(self, thread_id: str) -> list[Any]:
        """The thread's messages (LangChain messages), oldest first."""
        return list(self.graph.get_state(self._config(thread_id)).values.get("messages", []))

    def close(self) -> None:
        conn = getattr(self.checkpointer, "conn", None)
        if conn is not None:
            conn.close()

    # ------------------------------------------------------------------------------------------------ internals

    def _config(self, thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": 6 * self.settings.max_steps + 20}

    def _drive(self, graph_input: Any, thread_id: str, ctx: RunContext) -> Iterator[AgentEvent]:
        self._contexts[thread_id] = ctx
        self._contexts.move_to_end(thread_id)
        while len(self._contexts) > KEPT_CONTEXTS:
            self._contexts.popitem(last=False)
        if ctx.recorder:
            self._session_dirs[thread_id] = ctx.recorder.dir
        for chunk in self.graph.stream(graph_input, self._config(thread_id), context=ctx, stream_mode="updates"):
            for node, update in chunk.items():
                yield from _events(node, update)
        run = self.result(thread_id)
        if run.answer is not None and ctx.recorder:
            ctx.recorder.finish(run.answer.model_dump(mode="json"), steps=run.steps)

    def _withdraw_pending(self, thread_id: str) -> list[ToolMessage]:
        """A new question on a thread whose actions wait for approval drops them, unexecuted: each gets a result
        saying so, so the model knows, and no tool call is left without its result."""
        state = self.graph.get_state(self._config(thread_id))
        if not state.interrupts:
            return []
        return [
            ToolMessage(content=prompts.action_withdrawn(item["planned"]["reason"]), tool_call_id=item["tool_call_id"], status="error")
            for item in state.values.get("pending", [])
        ]

    def _source(self, image: Path | Image.Image | None, screen: int | None) -> tuple[Any, bool]:
        if isinstance(image, Image.Image):
            return _ImageSource(image), False
        if image is not None:
            return FileSource(image), False
        if screen is not None:
            return ScreenSource(monitor=screen), True
        return (self.screen_source or ScreenSource(monitor=1)), True

    def _context(self, question: str, thread_id: str, *, image: Any, screen: int | None, authorised: bool) -> RunContext:
        source, live = self._source(image, screen)
        recorder = None
        if self.settings.record_sessions:
            recorder = SessionRecorder(self.settings.sessions_dir)
            recorder.start(
                question=question, thread_id=thread_id, language=detect_language(question), model_id=self.vlm.model_id,
                settings=self._settings_summary(live, authorised),
            )
        return self._new_context(source.grab, live, authorised, recorder)

    def _context_for_resume(self, thread_id: str) -> RunContext:
        """After a restart: the live screen again; the action was planned already, the frame is only drawn on."""
        source = self.screen_source or ScreenSource(monitor=1)
        ctx = self._new_context(source.grab, True, False, None)
        ctx.frame = source.grab()
        self.actions.bind_frame(ctx.frame, None)
        return ctx

    def _new_context(self, grab: Callable[[], Frame], live: bool, authorised: bool, recorder: SessionRecorder | None) -> RunContext:
        tool_schemas = schemas(self.tools)
        s = self.settings
        return RunContext(
            model=self.chat_model.bind_tools(tool_schemas), tools=self.tools, tool_schemas=tool_schemas,
            actions=self.actions, grab=grab, live_source=live, gate=ChangeGate(s.change_threshold),
            parse=self.screen_parser, max_steps=s.max_steps, max_seconds=s.max_seconds, max_retries=s.max_retries,
            authorised=authorised, settle_seconds=0.3 if live and self.actions.mode == "live" else 0.0, recorder=recorder,
            clock=self.clock,
        )

    def _settings_summary(self, live: bool, authorised: bool) -> dict[str, Any]:
        s = self.settings
        return {
            "max_steps": s.max_steps, "max_seconds": s.max_seconds, "max_retries": s.max_retries,
            "max_new_tokens": s.max_new_tokens, "action_mode": self.actions.mode, "screen_parse": self.screen_parser is not None,
            "change_threshold": s.change_threshold, "live_source": live, "authorised": authorised,
            "screen_size": list(self.actions.screen_size) if self.actions.screen_size else None,
        }


def _default_alarm_tools(settings: Settings):
    from storage.db import open_database
    from tools.alarms import AlarmTools

    return AlarmTools(open_database(settings.db_url))


def _default_parser(settings: Settings) -> Callable[[Image.Image], Any] | None:
    if not settings.screen_parse:
        return None
    from perception.screen import parse_screen

    return parse_screen


def _events(node: str, update: Any) -> Iterator[AgentEvent]:
    """LangGraph 'updates' chunks → AgentEvents (JSON-able data only)."""
    if node == "__interrupt__":
        for pending in update:
            yield AgentEvent(kind="approval", data=pending.value)
        return
    if not isinstance(update, dict):
        return
    if node in ("observe", "verify"):
        yield AgentEvent(kind="step", data={"node": node, "steps": update.get("steps")})
    elif node == "think":
        for message in update.get("messages", []):
            if not isinstance(message, AIMessage):  # the correction after an unusable reply
                continue
            calls = message.tool_calls
            yield AgentEvent(kind="model", data={"text": message.content if isinstance(message.content, str) else "",
                                                 "usage": getattr(message, "usage_metadata", None)})
            for call in calls:
                yield AgentEvent(kind="tool_call", data={"name": call["name"], "arguments": call["args"], "id": call["id"]})
    elif node in ("act", "approve"):
        for message in update.get("messages", []):
            text = message.content if isinstance(message.content, str) else message.content[0]["text"]
            yield AgentEvent(kind="tool_result", data={"id": message.tool_call_id, "text": text, "error": message.status == "error"})
    elif node == "answer" and update.get("answer"):
        yield AgentEvent(kind="answer", data=update["answer"])
