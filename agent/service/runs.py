"""The agent behind the service: every question and approval becomes a queued job on the one model, its events
feed the metrics, and the UI gets them live. Model and capture timings come from thin wrappers around the model
and the screen source (the agent's events say what happened, not how long the model took)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image

from agent.service.approvals import ApprovalStore
from agent.service.metrics import ServiceMetrics
from agent.service.queue import Emit, ModelQueue, QueueFull, Ticket


class MeteredModel:
    """A VisionLanguageModel that reports each generate() (latency, time to first token, tokens/s, vision tokens)."""

    def __init__(self, model: Any, metrics: ServiceMetrics) -> None:
        self.model = model
        self.metrics = metrics
        self.model_id = model.model_id

    def generate(self, messages: list[dict], tools: list[dict] | None = None, *, max_new_tokens: int = 512, **limits):
        try:
            reply = self.model.generate(messages, tools, max_new_tokens=max_new_tokens, **limits)
        except Exception:
            self.metrics.errors.labels("model").inc()
            raise
        self.metrics.observe_stats(reply.stats)
        return reply


class MeteredSource:
    """A frame source (ScreenSource) whose grabs are timed."""

    def __init__(self, source: Any, metrics: ServiceMetrics) -> None:
        self.source = source
        self.metrics = metrics

    def grab(self):
        with self.metrics.capture_seconds.time():
            return self.source.grab()


@dataclass
class RunOutcome:
    """What a finished job hands back: the AgentRun, the events it emitted, and the screen parse of the latest frame
    (the one the answer's element evidence refers to; None when parsing is off)."""

    run: Any
    events: list[Any]
    screen: Any = None


class AgentService:
    def __init__(
        self, agent: Any, queue: ModelQueue, metrics: ServiceMetrics, approvals: ApprovalStore | None = None
    ) -> None:
        self.agent = agent
        self.queue = queue
        self.metrics = metrics
        self.approvals = approvals

    def ask(
        self,
        question: str,
        *,
        image: Image.Image | None = None,
        screen: int | None = None,
        thread_id: str | None = None,
    ) -> Ticket:
        """Queues a question; the ticket streams AgentEvents and ends with a RunOutcome. Raises QueueFull."""
        thread_id = thread_id or uuid.uuid4().hex

        def job(emit: Emit) -> RunOutcome:
            return self._run(
                emit, thread_id, lambda: self.agent.stream(question, image=image, screen=screen, thread_id=thread_id)
            )

        return self._submit(job)

    def resume(
        self, thread_id: str, decision: Any, *, operator: str, approval_id: str | None = None, note: str | None = None
    ) -> Ticket:
        """Queues the operator's decision on a pending live action (it may run more model steps). `operator`: who
        the service authenticated; `approval_id`: the action decided on (ApprovalRefused for any other)."""

        def job(emit: Emit) -> RunOutcome:
            return self._run(
                emit,
                thread_id,
                lambda: self.agent.resume_stream(
                    thread_id, decision, operator=operator, approval_id=approval_id, note=note
                ),
            )

        return self._submit(job)

    def _submit(self, job) -> Ticket:
        try:
            return self.queue.submit(job)
        except QueueFull:  # the caller answers "busy, N requests ahead"
            self.metrics.queue_rejections.labels("model").inc()
            raise

    def _run(self, emit: Emit, thread_id: str, start) -> RunOutcome:
        events: list[Any] = []
        tool_names: dict[str, str] = {}  # tool_call id -> name, to label the result
        started = time.perf_counter()
        try:
            for event in start():
                self._observe(event, tool_names)
                events.append(event)
                emit(event)
            run = self.agent.result(thread_id)
            if self.approvals is not None:
                self.approvals.record(thread_id, run.approval)
        except Exception:
            self.metrics.questions.labels("failed").inc()
            self.metrics.errors.labels("run").inc()
            raise
        outcome = "pending" if run.pending_action else ("limited" if run.answer and run.answer.limited else "answered")
        self.metrics.questions.labels(outcome).inc()
        self.metrics.question_seconds.observe(time.perf_counter() - started)
        return RunOutcome(run=run, events=events, screen=self.agent.screen_of(thread_id))

    def _observe(self, event: Any, tool_names: dict[str, str]) -> None:
        if event.kind == "model":
            self.metrics.steps.inc()
        elif event.kind == "tool_call":
            tool_names[event.data["id"]] = event.data["name"]
        elif event.kind == "tool_result":
            failed = bool(event.data.get("error"))
            self.metrics.tool_calls.labels(
                tool_names.pop(event.data["id"], "unknown"), "error" if failed else "ok"
            ).inc()
            if failed:
                self.metrics.errors.labels("tool").inc()
