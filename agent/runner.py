"""HmiAgent: the one entry point for the CLI, the web UI and routines — ask, stream, resume an approval.

A run = one question on a thread. The thread (messages, per-question counters) persists in the SQLite checkpointer,
so a follow-up question on the same thread_id sees the earlier turns, and a live action waiting for approval can be
resumed later — by the same process or, after a restart, another one.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import Runnable
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from PIL import Image
from pydantic import BaseModel, ConfigDict

from agent import prompts
from agent.answer import Answer, detect_language
from agent.approval import ApprovalRefused, PendingApproval, check_decision
from agent.chat_model import VLMChatModel
from agent.draft import Lookup
from agent.graph import build_graph
from agent.interfaces import AlarmToolset, FrameSource, ScreenParser
from agent.model_state import load_or_explain
from agent.recording import SessionRecorder
from agent.settings import Settings
from agent.state import RunContext
from agent.tool_binding import build_tools, schemas
from perception.capture import ChangeGate, FileSource, ScreenSource
from perception.frames import Frame, rgb_image
from perception.images import ImageLimits
from perception.view import ViewSetting
from perception.vlm.types import VisionLanguageModel
from tools.actions import PlannedAction, ScreenActions
from tools.result import ToolResult

Decision = Literal["approve", "reject"] | dict[str, Any]
KEPT_CONTEXTS = 32
EventKind = Literal["step", "draft", "model", "tool_call", "tool_result", "approval", "answer"]


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
    approval: PendingApproval | None = None  # the pending action with its id (what an approval must name) and context
    session_dir: Path | None = None
    steps: int = 0
    timings: dict[str, float] = {}  # seconds per node and "model", this question so far


def open_checkpointer(path: Path):
    from langgraph.checkpoint.sqlite import SqliteSaver

    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(sqlite3.connect(str(path), check_same_thread=False))


class _ImageSource:
    """A PIL image handed in directly (web upload): every grab returns it, not on this screen."""

    def __init__(self, image: Image.Image):
        self.image = rgb_image(image)

    def grab(self) -> Frame:
        return Frame(image=self.image, source="image", captured_at=datetime.now(UTC))


class HmiAgent:
    """Answers operator questions about a screen. Construct once (loads the model), ask many times."""

    def __init__(
        self,
        settings: Settings,
        *,
        model: VisionLanguageModel | None = None,
        checkpointer: BaseCheckpointSaver | None = None,
        screen_source: FrameSource | None = None,
        alarm_tools: AlarmToolset | None = None,
        actions: ScreenActions | None = None,
        screen_parser: ScreenParser | None = None,
        clock: Callable[[], float] = time.time,
        model_note: str | None = None,
        drafts: bool | None = None,
        draft_lookup: Lookup | None = None,
    ) -> None:
        """`model` None with a `model_note` (why there is none): the agent answers with the parser's drafts until
        `attach_model`; both None: the model is loaded from settings, or the reason it can't be goes to `model_note`.
        `drafts`: stream the parser's draft before the model's turns (default: when the screen is parsed; always
        without a model). `draft_lookup`: the tools the draft calls (default: the agent's own; replay: recorded)."""
        self.settings = settings
        self.vlm: VisionLanguageModel | None
        self.vlm, self.model_note = (
            (model, model_note) if model is not None or model_note else load_or_explain(settings)
        )
        self.checkpointer = checkpointer if checkpointer is not None else open_checkpointer(settings.checkpoint_path)
        self.graph = build_graph(self.checkpointer)
        self.alarm_tools = alarm_tools if alarm_tools is not None else _default_alarm_tools(settings)
        self.actions = actions or ScreenActions(
            mode=settings.action_mode,
            allowed_regions=settings.allowed_regions,
            min_interval=settings.min_action_interval,
        )
        self.screen_source = screen_source
        self.screen_parser = screen_parser if screen_parser is not None else _default_parser(settings)
        self.clock = clock
        self.tools = build_tools(self.alarm_tools.tools(), self.actions.tools())
        self.tool_schemas = schemas(self.tools)  # converted and bound to the model once, not per question
        self.chat_model = self._bound_chat_model(self.vlm)
        self.drafts = drafts if drafts is not None else self.screen_parser is not None
        self.draft_lookup = draft_lookup or self._tool_lookup
        # per thread, the latest run's context: what a resume needs (frame bound, recorder) and its timings;
        # bounded, since a service sees many threads (an evicted pending thread resumes on a fresh context)
        self._contexts: OrderedDict[str, RunContext] = OrderedDict()
        self._session_dirs: dict[str, Path] = {}  # per thread: the recording of its latest question

    # ------------------------------------------------------------------------------------------------ public API

    def ask(
        self,
        question: str,
        *,
        image: Path | Image.Image | None = None,
        screen: int | None = None,
        thread_id: str | None = None,
        authorised: bool = False,
    ) -> AgentRun:
        thread_id = thread_id or uuid.uuid4().hex
        start, ctx = self._start(question, thread_id, image=image, screen=screen, authorised=authorised)
        return self._run(start, thread_id, ctx)

    def stream(
        self,
        question: str,
        *,
        image: Path | Image.Image | None = None,
        screen: int | None = None,
        thread_id: str | None = None,
        authorised: bool = False,
    ) -> Iterator[AgentEvent]:
        """Runs one question, yielding events as nodes finish; ends with an answer or an approval event."""
        thread_id = thread_id or uuid.uuid4().hex
        start, ctx = self._start(question, thread_id, image=image, screen=screen, authorised=authorised)
        yield from self._drive(start, thread_id, ctx)

    def _start(
        self, question: str, thread_id: str, *, image: Path | Image.Image | None, screen: int | None, authorised: bool
    ) -> tuple[dict[str, Any], RunContext]:
        """The graph input and the run context of a new question."""
        question = question.strip()
        if not question:
            raise ValueError("the question is empty")
        ctx = self._context(question, thread_id, image=image, screen=screen, authorised=authorised)
        start = {
            "question": question,
            "language": detect_language(question),
            "started_at": self.clock(),
            "steps": 0,
            "retries": 0,
            "final": None,
            "answer": None,
            "limited": False,
            "limit_reason": None,
            "acted": False,
            "pending": [],
            "evidence": [],
            "messages": self._withdraw_pending(thread_id),
            "draft": None,
            "draft_only": False,
        }
        return start, ctx

    def resume(
        self,
        thread_id: str,
        decision: Decision,
        *,
        operator: str,
        approval_id: str | None = None,
        note: str | None = None,
    ) -> AgentRun:
        """Continues a run paused for approval: "approve", "reject", or a dict of edited action arguments.

        `approval_id` (from AgentRun.approval) binds the decision to that exact action: ApprovalRefused when the
        thread waits on another one. An approval after settings.approval_timeout_s is refused; a rejection is not.
        `operator` is recorded as the approver; `note` is recorded as given (unverified)."""
        command, ctx = self._resumption(thread_id, decision, operator=operator, approval_id=approval_id, note=note)
        return self._run(command, thread_id, ctx)

    def resume_stream(
        self,
        thread_id: str,
        decision: Decision,
        *,
        operator: str,
        approval_id: str | None = None,
        note: str | None = None,
    ) -> Iterator[AgentEvent]:
        command, ctx = self._resumption(thread_id, decision, operator=operator, approval_id=approval_id, note=note)
        yield from self._drive(command, thread_id, ctx)

    def _resumption(
        self, thread_id: str, decision: Decision, *, operator: str, approval_id: str | None, note: str | None
    ) -> tuple[Command, RunContext]:
        """The graph input and the run context that carry the operator's decision into a paused run."""
        if not (decision in ("approve", "reject") or isinstance(decision, dict)):
            raise ValueError(f"{decision=} is not 'approve', 'reject' or a dict of edited arguments")
        if not operator.strip():
            raise ValueError("an approval needs the operator's name")
        state = self.graph.get_state(self._config(thread_id))
        if not state.interrupts:
            raise ValueError(f"thread {thread_id!r} has no action waiting for approval")
        item = state.values["pending"][0]
        check_decision(item, decision, approval_id, now=self.clock(), timeout_s=self.settings.approval_timeout_s)
        ctx = self._contexts.get(thread_id) or self._context_for_resume(item)
        return Command(resume={"decision": decision, "operator": operator, "note": note}), ctx

    def result(self, thread_id: str) -> AgentRun:
        """Where the thread stands now: its last answer, or the action awaiting approval."""
        state = self.graph.get_state(self._config(thread_id))
        return self._agent_run(thread_id, state.values, state.interrupts)

    def _agent_run(self, thread_id: str, values: dict[str, Any], interrupts: Sequence[Any]) -> AgentRun:
        """The AgentRun for a thread's state values and its pending interrupts."""
        session_dir = self._session_dirs.get(thread_id)
        ctx = self._contexts.get(thread_id)
        timings = dict(ctx.timings) if ctx else {}
        if interrupts:
            approval = PendingApproval.from_interrupt(thread_id, interrupts[0].value)
            return AgentRun(
                thread_id=thread_id,
                pending_action=approval.action,
                approval=approval,
                session_dir=session_dir or (Path(approval.session) if approval.session else None),
                steps=values.get("steps", 0),
                timings=timings,
            )
        answer = Answer.model_validate(values["answer"]) if values.get("answer") else None
        return AgentRun(
            thread_id=thread_id, answer=answer, session_dir=session_dir, steps=values.get("steps", 0), timings=timings
        )

    def screen_of(self, thread_id: str) -> Any:
        """The screen parse of the thread's latest frame (what its answer's element evidence refers to), or None."""
        ctx = self._contexts.get(thread_id)
        return ctx.screen if ctx else None

    def history(self, thread_id: str) -> list[Any]:
        """The thread's messages (LangChain messages), oldest first."""
        return list(self.graph.get_state(self._config(thread_id)).values.get("messages", []))

    def attach_model(self, model: VisionLanguageModel) -> None:
        """The model is ready (the service loads it in the background): questions from now on get its answers."""
        self.vlm, self.model_note = model, None
        self.chat_model = self._bound_chat_model(model)

    def close(self) -> None:
        conn = getattr(self.checkpointer, "conn", None)
        if conn is not None:
            conn.close()

    # ------------------------------------------------------------------------------------------------ internals

    def _config(self, thread_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": 6 * self.settings.max_steps + 20}

    def _bound_chat_model(self, vlm: VisionLanguageModel | None) -> Runnable | None:
        if vlm is None:
            return None
        return VLMChatModel(vlm=vlm, max_new_tokens=self.settings.max_new_tokens).bind_tools(self.tool_schemas)

    def _run(self, graph_input: Any, thread_id: str, ctx: RunContext) -> AgentRun:
        """ask/resume: runs the graph to its answer or its next approval, making no events."""
        self._keep_context(thread_id, ctx)
        with _failure_recorded(ctx):
            values = self.graph.invoke(graph_input, self._config(thread_id), context=ctx)
        return self._finished(thread_id, ctx, values)

    def _drive(self, graph_input: Any, thread_id: str, ctx: RunContext) -> Iterator[AgentEvent]:
        """stream/resume_stream: runs the graph, yielding events as nodes finish."""
        self._keep_context(thread_id, ctx)
        values: dict[str, Any] = {}
        with _failure_recorded(ctx):
            for mode, chunk in self.graph.stream(
                graph_input, self._config(thread_id), context=ctx, stream_mode=["updates", "values"]
            ):
                if mode == "values":
                    values = chunk
                    continue
                for node, update in chunk.items():
                    yield from _events(node, update)
        self._finished(thread_id, ctx, values)

    def _keep_context(self, thread_id: str, ctx: RunContext) -> None:
        self._contexts[thread_id] = ctx
        self._contexts.move_to_end(thread_id)
        while len(self._contexts) > KEPT_CONTEXTS:
            self._contexts.popitem(last=False)
        if ctx.recorder:
            self._session_dirs[thread_id] = ctx.recorder.dir

    def _finished(self, thread_id: str, ctx: RunContext, values: dict[str, Any]) -> AgentRun:
        """The run from the graph's final state values; an answered question's recording is closed with it."""
        run = self._agent_run(thread_id, values, values.get("__interrupt__", ()))
        if run.answer is not None and ctx.recorder:
            ctx.recorder.finish(values["answer"], steps=run.steps)
        return run

    def _withdraw_pending(self, thread_id: str) -> list[ToolMessage]:
        """A new question on a thread whose actions wait for approval drops them, unexecuted: each gets a result
        saying so, so the model knows, and no tool call is left without its result."""
        state = self.graph.get_state(self._config(thread_id))
        if not state.interrupts:
            return []
        return [
            ToolMessage(
                content=prompts.action_withdrawn(item["planned"]["reason"]),
                tool_call_id=item["tool_call_id"],
                status="error",
            )
            for item in state.values.get("pending", [])
        ]

    def _source(self, image: Path | Image.Image | None, screen: int | None) -> tuple[FrameSource, bool]:
        if isinstance(image, Image.Image):
            return _ImageSource(image), False
        if image is not None:
            return FileSource(image, ImageLimits.from_settings(self.settings)), False
        if screen is not None:
            return ScreenSource(monitor=screen), True
        return (self.screen_source or ScreenSource(monitor=1)), True

    def _context(
        self, question: str, thread_id: str, *, image: Any, screen: int | None, authorised: bool
    ) -> RunContext:
        source, live = self._source(image, screen)
        recorder = None
        if self.settings.record_sessions:
            recorder = SessionRecorder(self.settings.sessions_dir)
            recorder.start(
                question=question,
                thread_id=thread_id,
                language=detect_language(question),
                model_id=self.vlm.model_id if self.vlm else "none",
                settings=self._settings_summary(live, authorised),
            )
        return self._new_context(source.grab, live, authorised, recorder)

    def _context_for_resume(self, item: dict[str, Any]) -> RunContext:
        """After a restart or an evicted context: the live screen again (the action was planned already, the frame is
        only drawn on), recording into the question's session, so the approval and the action are kept with it."""
        source = self.screen_source or ScreenSource(monitor=1)
        session = item.get("session")
        try:
            recorder = SessionRecorder.reopen(Path(session)) if session and self.settings.record_sessions else None
        except (OSError, ValueError) as e:  # nothing may run that would go unrecorded
            raise ApprovalRefused(
                f"the session recording this action can't be continued ({e}); nothing was done"
            ) from None
        ctx = self._new_context(source.grab, True, False, recorder)
        ctx.frame = source.grab()
        self.actions.bind_frame(ctx.frame, None)
        return ctx

    def _new_context(
        self, grab: Callable[[], Frame], live: bool, authorised: bool, recorder: SessionRecorder | None
    ) -> RunContext:
        s = self.settings
        return RunContext(
            model=self.chat_model,
            tools=self.tools,
            tool_schemas=self.tool_schemas,
            actions=self.actions,
            grab=grab,
            live_source=live,
            gate=ChangeGate(s.change_threshold),
            parse=self.screen_parser,
            max_steps=s.max_steps,
            max_seconds=s.max_seconds,
            max_retries=s.max_retries,
            authorised=authorised,
            settle_seconds=0.3 if live and self.actions.mode == "live" else 0.0,
            recorder=recorder,
            clock=self.clock,
            drafts=self.drafts or self.chat_model is None,
            draft_lookup=self.draft_lookup,
            model_notes=[self.model_note] if self.model_note else [],
            view=self._view_setting(),
        )

    def _view_setting(self) -> ViewSetting:
        """settings.view, with `auto` settled to `region` when the model runs on a CPU (recorded: replay is the same)."""
        s = self.settings
        on_cpu = self.vlm is not None and hasattr(self.vlm, "device_is_cuda") and not self.vlm.device_is_cuda()
        return ViewSetting("region" if s.view == "auto" and on_cpu else s.view, s.min_pixels, s.max_pixels)

    def _tool_lookup(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        tool = self.tools.get(name)
        return tool(arguments) if tool else ToolResult(error=f"no {name} tool")

    def _settings_summary(self, live: bool, authorised: bool) -> dict[str, Any]:
        s = self.settings
        return {
            "max_steps": s.max_steps,
            "max_seconds": s.max_seconds,
            "max_retries": s.max_retries,
            "max_new_tokens": s.max_new_tokens,
            "action_mode": self.actions.mode,
            "screen_parse": self.screen_parser is not None,
            "change_threshold": s.change_threshold,
            "live_source": live,
            "authorised": authorised,
            "screen_size": list(self.actions.screen_size) if self.actions.screen_size else None,
            "view": self._view_setting().record(),
        }


@contextmanager
def _failure_recorded(ctx: RunContext) -> Iterator[None]:
    """The session says how its question ended, then the caller hears of it."""
    try:
        yield
    except Exception as e:
        if ctx.recorder:
            ctx.recorder.fail(f"{type(e).__name__}: {e}")
        raise


def _default_alarm_tools(settings: Settings):
    from storage.db import open_database
    from tools.alarms import AlarmTools

    return AlarmTools(open_database(settings.db_url))


def _default_parser(settings: Settings) -> ScreenParser | None:
    if not settings.screen_parse:
        return None
    from perception.screen import parser_for

    return parser_for(settings.site_profile)  # the site's conventions (docs/site-profiles.md)


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
            yield AgentEvent(
                kind="model",
                data={
                    "text": message.content if isinstance(message.content, str) else "",
                    "usage": getattr(message, "usage_metadata", None),
                },
            )
            for call in calls:
                yield AgentEvent(
                    kind="tool_call", data={"name": call["name"], "arguments": call["args"], "id": call["id"]}
                )
    elif node in ("act", "approve"):
        for message in update.get("messages", []):
            text = message.content if isinstance(message.content, str) else message.content[0]["text"]
            yield AgentEvent(
                kind="tool_result", data={"id": message.tool_call_id, "text": text, "error": message.status == "error"}
            )
    elif node == "draft" and update.get("draft"):  # the parser's answer, before any model turn
        yield AgentEvent(kind="draft", data=update["draft"])
    elif node == "answer" and update.get("answer"):
        yield AgentEvent(kind="answer", data=update["answer"])
