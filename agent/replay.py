"""Replay a recorded session: the same question runs through the current code with frames served from the
recording, model replies replayed from it (the request is compared with the recorded one: strict mode fails on a
drifted prompt with a diff, lenient mode notes it and goes on), plant data tool results served from it, and every
action planned for real and compared with the recorded one (nothing moves). Approvals are replayed as recorded.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import tempfile
import warnings
from collections import defaultdict, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel, Field

from agent.answer import Answer
from agent.graph import ACTION_TOOLS
from agent.recording import load_manifest, request_hash, summarize_request
from agent.replay_draft import RecordedDraft
from agent.runner import HmiAgent
from agent.scripted import reply_from_raw
from agent.session_files import check_agent_manifest, confined, session_image
from agent.settings import Settings
from agent.tool_binding import FINAL_ANSWER
from perception.frames import Frame, ScreenGeometry
from perception.vlm.types import GenerationStats, ModelOutputError, VLMReply
from tools.actions import ActionRecord, PlannedAction, ScreenActions
from tools.registry import Tool
from tools.result import Citation, ToolResult


class ReplayMismatch(BaseModel):
    kind: Literal["prompt", "action", "tool", "frames", "model", "answer"]
    step: int | None = None
    detail: str


class ReplayReport(BaseModel):
    session: str
    question: str
    ok: bool
    steps: int
    recorded_steps: int
    mismatches: list[ReplayMismatch] = Field(default_factory=list)
    answer: dict[str, Any] | None = None

    def text(self) -> str:
        head = f"{'OK' if self.ok else 'MISMATCH'}: session {self.session} replayed {self.steps}/{self.recorded_steps} steps"
        return "\n".join([head, *(f"- [{m.kind}] step {m.step}: {m.detail}" for m in self.mismatches)])


class PromptDrift(AssertionError):
    """Strict replay: the agent asked the model something other than what was recorded."""


class _Log:
    """The recording's events, queued by kind, and the mismatches found while replaying."""

    def __init__(self, manifest: dict[str, Any], session_dir: Path, strict: bool):
        self.dir, self.strict = session_dir, strict
        events = manifest["events"]
        self.models = deque(e for e in events if e["kind"] == "model")
        self.frames = deque(e for e in events if e["kind"] == "frame")
        self.approvals = deque(e for e in events if e["kind"] == "approval")
        self.actions = deque(e for e in events if e["kind"] == "tool" and e["executed"])
        self.data: dict[str, deque] = defaultdict(deque)
        for e in events:
            if e["kind"] == "tool" and e["name"] not in ACTION_TOOLS and e["name"] != FINAL_ANSWER:
                self.data[e["name"]].append(e)
        self.frame_info = {f["file"]: f for f in manifest["frames"]}
        self.mismatches: list[ReplayMismatch] = []

    def mismatch(self, kind: str, step: int | None, detail: str) -> None:
        self.mismatches.append(ReplayMismatch(kind=kind, step=step, detail=detail))

    def result_of(self, event: dict[str, Any]) -> ToolResult:
        image = confined(self.dir, event["image"]).read_bytes() if event.get("image") else None
        citations = tuple(Citation(**c) for c in event.get("citations") or ())
        return ToolResult(output=event["output"], error=event["error"], image=image, citations=citations)


class RecordedModel:
    """Serves the recorded raw replies in order, checking each request against the recorded summary."""

    def __init__(self, log: _Log, model_id: str):
        self.log, self.model_id = log, model_id

    def generate(
        self,
        messages: list[dict],
        tools: list[dict] | None = None,
        *,
        max_new_tokens: int = 512,
        time_limit_s: float | None = None,
    ) -> VLMReply:
        """The recorded reply to this request (`time_limit_s` never binds: nothing is generated)."""
        if not self.log.models:
            raise PromptDrift("the agent asked the model more often than the recording did")
        event = self.log.models.popleft()
        summary = summarize_request(messages, tools)
        if request_hash(summary) != event["request_sha256"]:
            diff = prompt_diff(event["request"], summary)
            if self.log.strict:
                raise PromptDrift(f"step {event['step']}: the prompt drifted from the recording:\n{diff}")
            warnings.warn(f"replay: the prompt of step {event['step']} drifted from the recording", stacklevel=2)
            self.log.mismatch("prompt", event["step"], diff)
        if event["raw"] is None:
            raise ModelOutputError(event["error"])
        reply = reply_from_raw(event["raw"])
        return reply.model_copy(update={"stats": GenerationStats(**event["stats"])}) if event["stats"] else reply


def prompt_diff(recorded: dict[str, Any], replayed: dict[str, Any], limit: int = 60) -> str:
    lines = difflib.unified_diff(
        json.dumps(recorded, indent=1, ensure_ascii=False).splitlines(),
        json.dumps(replayed, indent=1, ensure_ascii=False).splitlines(),
        "recorded",
        "replayed",
        lineterm="",
        n=2,
    )
    out = list(lines)
    return "\n".join(out[:limit] + ([f"... {len(out) - limit} more diff lines"] if len(out) > limit else []))


class RecordedFrames:
    """The recorded frames, in the order the agent looked at them, with their recorded screen geometry."""

    def __init__(self, log: _Log):
        self.log, self.last = log, None

    def grab(self) -> Frame:
        if not self.log.frames:
            self.log.mismatch("frames", None, "the agent looked at the screen more often than recorded")
            return self.last
        info = self.log.frame_info[self.log.frames.popleft()["file"]]
        geometry = ScreenGeometry(**info["geometry"]) if info["geometry"] else None
        image = session_image(self.log.dir, info["file"])
        self.last = Frame(image, info["source"], datetime.now(UTC), geometry)
        return self.last


@dataclasses.dataclass(frozen=True)
class RecordedTool(Tool):
    """A plant data tool (alarm definitions/history) answering from the recording: the database may differ."""

    log: _Log | None = None

    def __call__(self, arguments: dict[str, Any]) -> ToolResult:
        queue = self.log.data[self.name]
        if not queue:
            self.log.mismatch("tool", None, f"{self.name}({arguments}) was not called in the recording")
            return ToolResult(error=f"{self.name} has no recorded result")
        event = queue.popleft()
        if event["arguments"] != arguments:
            self.log.mismatch(
                "tool", event["step"], f"{self.name} arguments {arguments} != recorded {event['arguments']}"
            )
        return self.log.result_of(event)


class RecordedAlarmTools:
    """The real alarm tools' schemas (so a changed docstring shows as prompt drift) with recorded answers."""

    def __init__(self, log: _Log):
        from storage.db import open_database
        from tools.alarms import AlarmTools

        self._tools = [
            RecordedTool(t.name, t.description, t.args_model, t.function, log=log)
            for t in AlarmTools(open_database("sqlite://")).tools()
        ]

    def tools(self) -> list[Tool]:
        return self._tools


class ReplayActions(ScreenActions):
    """Plans for real (validation, coordinates) but never moves anything: execute compares with the recording."""

    def __init__(self, log: _Log, *, mode: str, screen_size: tuple[int, int] | None):
        super().__init__(mode=mode, screen_size=screen_size, min_interval=0)
        self.log = log

    def execute(self, action: PlannedAction, *, approved_by: str | None = None) -> ToolResult:
        if not self.log.actions:
            self.log.mismatch("action", None, f"extra action: {action.reason}")
            return ToolResult(error="this action was not in the recording")
        event = self.log.actions.popleft()
        planned = action.model_dump()
        if planned != event["planned"]:
            changed = {k: (event["planned"].get(k), v) for k, v in planned.items() if event["planned"].get(k) != v}
            self.log.mismatch("action", event["step"], f"{action.kind} differs (recorded, replayed): {changed}")
        self.history.append(
            ActionRecord(time=self.clock(), action=action, mode=self.mode, outcome="replayed", approved_by=approved_by)
        )
        return self.log.result_of(event)


def replay_session(session_dir: str | Path, *, strict: bool = False) -> ReplayReport:
    """Runs a recorded session again against the current code; see the module docstring."""
    session_dir = Path(session_dir)
    manifest = load_manifest(session_dir)
    if manifest.get("kind") == "routine":
        raise ValueError(f"{session_dir} is a routine run, not an agent session: replay it with `hmi-agent routine`")
    check_agent_manifest(manifest, session_dir)
    log = _Log(manifest, session_dir, strict)
    recorded = manifest["settings"]
    with tempfile.TemporaryDirectory(prefix="hmi-replay-") as scratch:
        settings = Settings(
            data_dir=Path(scratch),
            record_sessions=False,
            screen_parse=recorded["screen_parse"],
            max_steps=recorded["max_steps"],
            max_seconds=recorded["max_seconds"],
            max_retries=recorded["max_retries"],
            max_new_tokens=recorded["max_new_tokens"],
            change_threshold=recorded["change_threshold"],
            action_mode=recorded["action_mode"],
            **_view_settings(recorded),
        )
        frames = RecordedFrames(log)
        size = tuple(recorded["screen_size"]) if recorded.get("screen_size") else None
        draft = RecordedDraft(manifest, log.mismatch)
        agent = HmiAgent(
            settings,
            **draft.agent_kwargs(RecordedModel(log, manifest["model_id"])),
            checkpointer=InMemorySaver(),
            screen_source=frames,
            alarm_tools=RecordedAlarmTools(log),
            actions=ReplayActions(log, mode=recorded["action_mode"], screen_size=size),
        )
        try:
            run = _replay_run(agent, manifest, frames, log)
            draft.check(_draft_of(agent, run.thread_id))
        except PromptDrift as e:
            log.mismatch("prompt", None, str(e))
            return _report(manifest, log, steps=0, answer=None)
    if log.models:
        log.mismatch("model", None, f"{len(log.models)} recorded model call(s) were not made")
    if log.actions:
        log.mismatch("action", None, f"{len(log.actions)} recorded action(s) were not made")
    answer = run.answer.model_dump(mode="json") if run.answer else None
    if answer != manifest.get("answer"):
        log.mismatch("answer", run.steps, f"answer differs: recorded {manifest.get('answer')}, replayed {answer}")
    return _report(manifest, log, steps=run.steps, answer=answer)


def _view_settings(recorded: dict[str, Any]) -> dict[str, Any]:
    """The view the session was recorded with (`auto` was settled for its device); before views: the full screen."""
    view = recorded.get("view") or {"mode": "full"}
    return {"view": view["mode"], **{k: view[k] for k in ("min_pixels", "max_pixels") if k in view}}


def _draft_of(agent: HmiAgent, thread_id: str) -> dict[str, Any] | None:
    draft = agent.graph.get_state({"configurable": {"thread_id": thread_id}}).values.get("draft")
    return Answer.model_validate(draft).model_dump(mode="json") if draft else None


def _replay_run(agent: HmiAgent, manifest: dict[str, Any], frames: RecordedFrames, log: _Log):
    image = None
    if not manifest["settings"]["live_source"]:  # a photo: the agent looks at it once, as recorded
        image = frames.grab().image
    run = agent.ask(manifest["question"], image=image, authorised=manifest["settings"]["authorised"])
    while run.pending_action is not None:
        if not log.approvals:
            log.mismatch(
                "action", run.steps, f"an approval was asked for {run.pending_action.reason} but none was recorded"
            )
            break
        approval = log.approvals.popleft()
        run = agent.resume(run.thread_id, approval["decision"], operator=approval["operator"])
    return run


def _report(manifest: dict[str, Any], log: _Log, *, steps: int, answer: dict | None) -> ReplayReport:
    return ReplayReport(
        session=manifest["id"],
        question=manifest["question"],
        ok=not log.mismatches,
        steps=steps,
        recorded_steps=manifest.get("steps", 0),
        mismatches=log.mismatches,
        answer=answer,
    )
