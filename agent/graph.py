"""The agent loop as a LangGraph StateGraph: observe → draft → think → act → (approve) → verify → think … → answer.

Each node is small and does one thing; where to go next is decided by the named route_* functions. Frames, tools
and the model come from the RunContext (runtime context, not checkpointed); the thread state holds only messages
and plain values, so the SQLite checkpointer can persist threads and resume approvals in another process.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent import prompts
from agent.answer import Answer, Evidence, citation_evidence, tool_evidence_label
from agent.approval import alarm_near, pending_item
from agent.chat_model import image_block
from agent.draft import compose_draft, disagreements, pick_alarm
from agent.model_state import INSTALL_HINT, INSTALL_HINT_ZH
from agent.state import AgentState, RunContext
from agent.tool_binding import FINAL_ANSWER
from perception.view import View
from perception.vlm.types import ModelDeadlineError, ModelOutputError
from tools.actions import PlannedAction
from tools.result import ToolResult

ACTION_TOOLS = frozenset({"click", "double_click", "type_text", "press_key", "scroll"})


def _timed(name: str) -> Callable:
    """Adds the node's wall time to ctx.timings and the session record (the agent-overhead bench reads them)."""

    def wrap(node: Callable) -> Callable:
        @functools.wraps(node)
        def timed(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
            started = time.perf_counter()
            update = node(state, runtime)
            seconds = time.perf_counter() - started
            ctx = runtime.context
            ctx.timings[name] = ctx.timings.get(name, 0.0) + seconds
            if ctx.recorder:
                ctx.recorder.node(name, step=state.get("steps", 0), seconds=seconds)
            return update

        return timed

    return wrap


# ------------------------------------------------------------------------------------------------------- nodes


def _look(ctx: RunContext, state: AgentState, node: str) -> tuple[list[dict], Any]:
    """Grabs a frame, parses it (optional), chooses the view of it, binds both for actions and records them.
    Returns (the image blocks and the words saying what they show, parse)."""
    frame = ctx.grab()
    screen = ctx.parse(frame.image) if ctx.parse else None
    view = _view_of(ctx, state, frame, screen)
    ctx.actions.bind_frame(frame, screen, view)
    ctx.frame, ctx.screen = frame, screen
    shown = view.images(frame)
    if ctx.recorder:  # the full view's image is the frame's PNG: encoded once
        ctx.recorder.frame(frame, step=state.get("steps", 0), node=node, png=None if view.overview else shown[0])
        if view.overview:
            ctx.recorder.view(step=state.get("steps", 0), view=view.record())
    images = [image_block(png) for png in shown]
    words = [{"type": "text", "text": prompts.region_view(view.box)}] if view.overview else []
    return [*images, *words], screen


def _view_of(ctx: RunContext, state: AgentState, frame: Any, screen: Any) -> View:
    """The region around the alarm the draft picks (same rules, without lookups), or the whole frame."""
    if ctx.view is None or screen is None:
        return View.full(frame)
    pick = pick_alarm(state["question"], screen, None)
    return ctx.view.choose(frame, pick.element if pick else None)


@_timed("observe")
def observe(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """First look for a question: the screenshot, the question and the numbered element hints."""
    ctx = runtime.context
    shown, screen = _look(ctx, state, "observe")
    ctx.gate.is_new(ctx.frame)  # primes the gate: verify compares against this frame
    text = prompts.observation(state["question"], screen.hints() if screen else None, ctx.frame.geometry is not None)
    return {"messages": [HumanMessage(content=[*shown, {"type": "text", "text": text}])]}


def draft(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """The screen parser's draft answer (agent/draft.py), streamed before any model turn; the answer when there
    is no model. Passed through (untimed, unrecorded) when the run makes no draft."""
    return _draft(state, runtime) if runtime.context.drafts else {}


@_timed("draft")
def _draft(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    result, lookups = compose_draft(state["question"], ctx.screen, ctx.draft_lookup, language=state["language"])
    if ctx.recorder:
        ctx.recorder.draft(
            step=state.get("steps", 0),
            answer=result.model_dump(mode="json"),
            lookups=[lookup.record() for lookup in lookups],
            model_notes=ctx.model_notes if ctx.model is None else None,
        )
    return {"draft": result.model_dump(mode="json"), "draft_only": ctx.model is None}


def _limit_reached(state: AgentState, ctx: RunContext) -> str | None:
    if state.get("retries", 0) > ctx.max_retries:
        return "retries"
    if state.get("steps", 0) >= ctx.max_steps:
        return "steps"
    if ctx.clock() - state["started_at"] > ctx.max_seconds:
        return "time"
    return None


@_timed("think")
def think(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """One model turn with the tool schemas; an unparsable reply goes back to the model as a correction."""
    ctx = runtime.context
    if reason := _limit_reached(state, ctx):
        return {"limited": True, "limit_reason": reason}
    messages = [SystemMessage(prompts.system_prompt(state["language"])), *state["messages"]]
    steps = state.get("steps", 0) + 1
    started = time.perf_counter()
    time_left = ctx.max_seconds - (ctx.clock() - state["started_at"])
    try:  # the call is cancelled where the question's time runs out: one slow server must not hold the queue
        reply = ctx.model.invoke(messages, time_limit_s=time_left, summarize=ctx.recorder is not None)
    except ModelDeadlineError as e:
        stats = e.stats.model_dump() if e.stats else None
        _record_model(ctx, steps, getattr(e, "request", None), None, stats, str(e), time.perf_counter() - started)
        return {"steps": steps, "limited": True, "limit_reason": "time"}
    except ModelOutputError as e:  # the model's mistake: show it its reply and what was wrong with it
        stats = e.stats.model_dump() if getattr(e, "stats", None) else None
        _record_model(
            ctx,
            steps,
            getattr(e, "request", None),
            getattr(e, "raw", None),
            stats,
            str(e),
            time.perf_counter() - started,
        )
        correction = HumanMessage(prompts.unparsable_reply(str(e)))
        return {
            "steps": steps,
            "retries": state.get("retries", 0) + 1,
            "messages": [AIMessage(getattr(e, "raw", None) or ""), correction],
        }
    meta = reply.response_metadata
    summary = meta.pop("request", None)  # for the record only: the thread keeps the reply without it
    _record_model(ctx, steps, summary, meta.get("raw"), meta.get("stats"), None, time.perf_counter() - started)
    return {"steps": steps, "messages": [reply]}


def _record_model(
    ctx: RunContext,
    step: int,
    summary: dict | None,
    raw: str | None,
    stats: dict | None,
    error: str | None,
    seconds: float,
) -> None:
    ctx.timings["model"] = ctx.timings.get("model", 0.0) + seconds
    if ctx.recorder:
        ctx.recorder.model_call(step=step, summary=summary or {}, raw=raw, stats=stats, error=error, seconds=seconds)


@_timed("act")
def act(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Runs the last reply's tool calls. Live actions without authorisation wait in `pending` for approval."""
    ctx = runtime.context
    update: dict[str, Any] = {"messages": [], "pending": [], "evidence": list(state.get("evidence") or [])}
    mistakes = 0
    for call in state["messages"][-1].tool_calls:
        name, arguments = call["name"], call["args"]
        started = time.perf_counter()
        planned: PlannedAction | None = None
        if name in ACTION_TOOLS and name in ctx.tools:
            outcome = ctx.actions.plan(name, arguments)
            if isinstance(outcome, PlannedAction) and ctx.actions.mode == "live" and not ctx.authorised:
                update["pending"].append(_pending(ctx, state, call, outcome))
                continue
            planned = outcome if isinstance(outcome, PlannedAction) else None
            result = ctx.actions.execute(planned) if planned else outcome
        elif name in ctx.tools:
            result = ctx.tools[name](arguments)
        else:
            result = ToolResult(error=prompts.unknown_tool(name, list(ctx.tools)))
        mistakes += bool(result.error)
        if name == FINAL_ANSWER and not result.error:
            update["final"] = result.data
        if planned and not result.error:
            update["acted"] = True
        update["messages"].append(_tool_message(call["id"], result))
        update["evidence"] += _evidence_of(name, arguments, result, state["language"], planned)
        _record_tool(
            ctx, state, name, arguments, result, time.perf_counter() - started, planned, executed=planned is not None
        )
    update["retries"] = state.get("retries", 0) + 1 if mistakes else 0
    if update["pending"]:
        update["paused_at"] = ctx.clock()
    return update


def _tool_message(tool_call_id: str, result: ToolResult) -> ToolMessage:
    content: Any = result.as_text()
    if result.image:  # e.g. the frame with a simulated click drawn on it: the model sees where it clicked
        content = [{"type": "text", "text": content}, image_block(result.image)]
    return ToolMessage(content=content, tool_call_id=tool_call_id, status="error" if result.error else "success")


def _pending(ctx: RunContext, state: AgentState, call: dict, planned: PlannedAction) -> dict[str, Any]:
    """A live action waiting for approval, with what the operator decides on: the model's words and the alarm."""
    return pending_item(
        call,
        planned.model_dump(),
        requested_at=ctx.clock(),
        session=str(ctx.recorder.dir) if ctx.recorder else None,
        question=state["question"],
        expectation=_text_of(state["messages"][-1]),
        alarm=alarm_near(ctx.screen, planned.image_y),
    )


def _evidence_of(
    name: str, arguments: dict, result: ToolResult, language: str, planned: PlannedAction | None = None
) -> list[dict]:
    if result.error or name == FINAL_ANSWER:
        return []
    label = tool_evidence_label(name, arguments, language, reason=planned.reason if planned else None)
    tool = Evidence(kind="tool", label=label, detail=(result.output or "")[:500], tool=name, arguments=arguments)
    return [e.model_dump() for e in [tool, *citation_evidence(result.citations, language, name)]]


def _record_tool(
    ctx: RunContext,
    state: AgentState,
    name: str,
    arguments: dict,
    result: ToolResult,
    seconds: float,
    planned: PlannedAction | None,
    *,
    executed: bool,
    approved_by: str | None = None,
) -> None:
    if ctx.recorder:
        ctx.recorder.tool_call(
            step=state.get("steps", 0),
            name=name,
            arguments=arguments,
            result=result,
            seconds=seconds,
            planned=planned.model_dump() if planned else None,
            executed=executed,
            approved_by=approved_by,
        )


@_timed("approve")
def approve(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Pauses for the operator's decision on the first pending live action (interrupt), then carries it out.

    One action per visit: LangGraph re-runs a node from its start on resume, so nothing with a side effect may
    come before the interrupt.
    """
    ctx = runtime.context
    item, rest = state["pending"][0], state["pending"][1:]
    reply = interrupt({"action": item["planned"], **{k: v for k, v in item.items() if k != "planned"}})
    decision, operator = reply["decision"], reply["operator"]
    # the time limit is the agent's: minutes the operator took to decide don't count against it
    started_at = state["started_at"] + max(ctx.clock() - state.get("paused_at", ctx.clock()), 0.0)
    if ctx.recorder:
        ctx.recorder.approval(
            step=state.get("steps", 0),
            planned=item["planned"],
            decision=decision,
            operator=operator,
            note=reply.get("note"),
            approval_id=item.get("approval_id"),
        )
    started = time.perf_counter()
    planned, result = _decide(ctx, item, decision, operator)
    _record_tool(
        ctx,
        state,
        item["name"],
        item["arguments"],
        result,
        time.perf_counter() - started,
        planned,
        executed=planned is not None,
        approved_by=operator if planned else None,
    )
    update: dict[str, Any] = {
        "pending": rest,
        "messages": [_tool_message(item["tool_call_id"], result)],
        "started_at": started_at,
        "paused_at": ctx.clock(),
    }
    if planned and not result.error:
        update["acted"] = True
        update["evidence"] = list(state.get("evidence") or []) + _evidence_of(
            item["name"], item["arguments"], result, state["language"], planned
        )
    return update


def _decide(ctx: RunContext, item: dict, decision: Any, operator: str) -> tuple[PlannedAction | None, ToolResult]:
    """(the action carried out or None, its result) for the operator's decision."""
    planned = PlannedAction.model_validate(item["planned"])
    if decision == "reject":
        return None, ToolResult(error=prompts.approval_rejected(planned.reason, operator))
    if isinstance(decision, dict):  # the operator edited the arguments: plan again from the edited ones
        ctx.actions.bind_frame(
            ctx.frame, ctx.screen
        )  # the operator's x, y are on the whole picture, not the model's view
        edited = ctx.actions.plan(item["name"], {**item["arguments"], **decision})
        if isinstance(edited, ToolResult):
            return None, edited
        planned = edited
    return planned, ctx.actions.execute(planned, approved_by=operator)


@_timed("verify")
def verify(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """After an action: look again and tell the model whether the screen changed and the clicked element is gone."""
    ctx = runtime.context
    if not ctx.live_source:
        return {"acted": False, "messages": [HumanMessage(prompts.verification(False, False, None))]}
    target = _last_target_label(ctx)
    time.sleep(ctx.settle_seconds)
    previous = ctx.frame
    shown, screen = _look(ctx, state, "verify")
    changed = ctx.gate.is_new(ctx.frame) if previous is not None else True
    gone = None if target is None or screen is None else not any(e.text == target for e in screen.elements)
    text = prompts.verification(changed, True, gone)
    if screen is not None:
        text += f"\nElements now on the screen:\n{screen.hints()}"
    return {"acted": False, "messages": [HumanMessage(content=[*shown, {"type": "text", "text": text}])]}


def _last_target_label(ctx: RunContext) -> str | None:
    history = ctx.actions.history
    return history[-1].action.element_label if history else None


@_timed("answer")
def answer(state: AgentState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Builds the structured Answer: from final_answer, from plain text, or a summary when a limit was hit."""
    ctx = runtime.context
    language = state["language"]
    evidence = _cited_once([Evidence.model_validate(e) for e in state.get("evidence") or []])
    final = state.get("final")
    if final:
        evidence = _element_evidence(ctx, final.get("element_ids", [])) + evidence
        fields = {k: v for k, v in final.items() if k != "element_ids"}
        result = Answer(language=language, evidence=evidence, **fields)
    elif state.get("limited"):
        result = _limited_answer(state, language, evidence)
    else:
        result = Answer(language=language, on_screen=_text_of(state["messages"][-1]) or "-", evidence=evidence)
    result = _with_draft(result, state, ctx)
    # JSON-ready: the thread checkpoints it and the session record stores it as it is
    return {"answer": result.model_dump(mode="json"), "messages": [AIMessage(result.text)]}


def _with_draft(result: Answer, state: AgentState, ctx: RunContext) -> Answer:
    """Without a model the draft is the answer, with why and how to install one; else the model's answer notes
    where it disagrees with the draft."""
    draft_answer = Answer.model_validate(state["draft"]) if state.get("draft") else None
    if state.get("draft_only") and draft_answer is not None:
        result, notes = draft_answer, [_in_language(note, draft_answer.language) for note in ctx.model_notes]
    else:
        notes = disagreements(draft_answer, result) if draft_answer is not None else []
    if not notes:
        return result
    with_notes = result.model_copy(update={"notes": result.notes + notes})
    if result.text != result.render():  # a text given verbatim is kept
        return with_notes
    return with_notes.model_copy(update={"text": with_notes.render()})


def _in_language(model_note: str, language: str) -> str:
    """A Chinese answer leads the "model not installed" note with what to do, in Chinese."""
    return INSTALL_HINT_ZH + model_note if language == "zh" and model_note.endswith(INSTALL_HINT) else model_note


def _cited_once(evidence: list[Evidence]) -> list[Evidence]:
    """A manual page cited by several lookups (the definition's procedure, then a search) is listed once."""
    seen: set[tuple] = set()
    kept = []
    for item in evidence:
        if item.kind == "citation":
            key = (item.document, item.page, item.label)
            if key in seen:
                continue
            seen.add(key)
        kept.append(item)
    return kept


def _element_evidence(ctx: RunContext, element_ids: list[int]) -> list[Evidence]:
    elements = [ctx.screen.element(i) for i in element_ids] if ctx.screen is not None else []
    return [
        Evidence(kind="element", label=f"[{e.id}] {e.text or e.tag or e.kind}", bbox=e.bbox, detail=e.kind)
        for e in elements
        if e
    ]


def _limited_answer(state: AgentState, language: str, evidence: list[Evidence]) -> Answer:
    """What was found before the step/time/retry limit: the last words of the model and the tool results."""
    by_tool = {e.tool: e.detail for e in evidence if e.kind == "tool"}
    said = next((_text_of(m) for m in reversed(state["messages"]) if isinstance(m, AIMessage) and _text_of(m)), "")
    stopped = {
        "en": f"Stopped ({prompts.LIMIT_REASONS[state['limit_reason']]}) before a full answer.",
        "zh": "在得出完整答案前已达到上限。",
    }[language]
    return Answer(
        language=language,
        on_screen=f"{stopped} {said}".strip()[:2000],
        meaning=by_tool.get("alarm_definition"),
        recent_history=by_tool.get("alarm_history"),
        evidence=evidence,
        limited=True,
    )


def _text_of(message: Any) -> str:
    content = message.content
    if isinstance(content, str):
        return content.strip()
    return " ".join(b["text"] for b in content if isinstance(b, dict) and b.get("type") == "text").strip()


# ------------------------------------------------------------------------------------------------------ routing


def route_after_draft(state: AgentState) -> str:
    return "answer" if state.get("draft_only") else "think"


def route_after_think(state: AgentState) -> str:
    if state.get("limited"):
        return "answer"
    last = state["messages"][-1]
    if isinstance(last, HumanMessage):  # a correction after an unusable reply: think again
        return "think"
    return "act" if last.tool_calls else "answer"


def route_after_tools(state: AgentState) -> str:
    """After `act` and after `approve`: a pending action waits for approval, then answer, verify or think again."""
    if state.get("pending"):
        return "approve"
    if state.get("final"):
        return "answer"
    return "verify" if state.get("acted") else "think"


def build_graph(checkpointer: Any = None):
    """The compiled agent graph. Invoke with `context=RunContext(...)`."""
    graph = StateGraph(AgentState, context_schema=RunContext)
    for node in (observe, draft, think, act, approve, verify, answer):
        graph.add_node(node.__name__, node)
    graph.add_edge(START, "observe")
    graph.add_edge("observe", "draft")
    graph.add_conditional_edges("draft", route_after_draft, ["think", "answer"])
    graph.add_conditional_edges("think", route_after_think, ["act", "answer", "think"])
    graph.add_conditional_edges("act", route_after_tools, ["approve", "answer", "verify", "think"])
    graph.add_conditional_edges("approve", route_after_tools, ["approve", "answer", "verify", "think"])
    graph.add_edge("verify", "think")
    graph.add_edge("answer", END)
    return graph.compile(checkpointer=checkpointer)
