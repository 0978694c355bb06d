"""The operator web UI (Gradio), mounted at `/` of the service app.

Ask tab: a screenshot/photo or the live screen + a question (English or Chinese) → the answer streams into the
conversation (one thread per browser tab until "New conversation"), the screen comes back with the evidence boxes
and numbered elements drawn, the tool calls with their results, the alarm's recent history as a table and a chart
of activations per day, and a live action waiting for approval gets Approve / Reject buttons.
Sessions tab: recorded sessions, replayed one recorded event at a time with the frame it refers to.

Every question goes through the service's fair queue (Gradio's own queue does not limit it), so UI users and API
clients share the one model first come, first served.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from PIL import Image

from agent.recording import load_manifest
from agent.service.queue import QueueFull
from agent.service.runs import RunOutcome
from agent.web.drawing import draw_marks
from perception.capture import FrameSourceError

HISTORY_DAYS = 14
EXAMPLE_QUESTIONS = ["What does this alarm mean and has it happened recently?", "这个报警是什么意思？最近发生过吗？"]


def build_ui(state: Any) -> gr.Blocks:
    """`state`: the FastAPI app.state (service, alarm_tools, sessions)."""
    with gr.Blocks(title="hmi-agent", analytics_enabled=False) as ui:
        gr.Markdown("## hmi-agent · ask about the alarm on the operator screen")
        thread = gr.State(None)  # per browser tab: None until the first answer names the thread
        with gr.Tab("Ask", id="ask"):
            _ask_tab(state, thread)
        with gr.Tab("Sessions", id="sessions") as sessions_tab:
            _sessions_tab(state, sessions_tab)
    return ui


# ---------------------------------------------------------------------------------------------------- Ask tab


def _ask_tab(state: Any, thread: gr.State) -> None:
    with gr.Row():
        with gr.Column(scale=2):
            picture = gr.Image(type="pil", label="Screenshot or photo", sources=["upload", "clipboard"], elem_id="picture")
            live = gr.Checkbox(label="Capture the live screen instead", value=False, elem_id="live")
            question = gr.Textbox(label="Question (English or 中文)", placeholder=EXAMPLE_QUESTIONS[0], lines=2, elem_id="question")
            gr.Examples(EXAMPLE_QUESTIONS, inputs=question)
            with gr.Row():
                ask = gr.Button("Ask", variant="primary", elem_id="ask")
                new_thread = gr.Button("New conversation", elem_id="new-thread")
            thread_label = gr.Markdown("", elem_id="thread")
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Conversation", height=440, elem_id="chat")
            with gr.Group(visible=False, elem_id="pending") as pending_box:
                pending_text = gr.Markdown()
                with gr.Row():
                    approve = gr.Button("Approve", variant="primary", elem_id="approve")
                    reject = gr.Button("Reject", variant="stop", elem_id="reject")
    with gr.Row():
        marked = gr.Image(label="Screen: evidence (red) and numbered elements (blue)", interactive=False, elem_id="marked")
        with gr.Column():
            chart = gr.BarPlot(
                x="day", y="activations", title=f"Activations per day (last {HISTORY_DAYS} days)", x_label_angle=-45, elem_id="chart"
            )
            history = gr.Dataframe(label="Recent occurrences", interactive=False, elem_id="history")
    tool_log = gr.JSON(label="Tool calls and results", elem_id="tools")

    outputs = [chat, thread, thread_label, marked, tool_log, history, chart, pending_box, pending_text]

    def on_ask(image, use_live, text, thread_id, messages):
        text = (text or "").strip()
        if not text:
            raise gr.Error("Type a question first.")
        if image is None and not use_live:
            raise gr.Error("Upload a screenshot or photo, or tick 'Capture the live screen'.")
        messages = [*(messages or []), {"role": "user", "content": text}]
        picture = None if use_live else image
        yield from _follow(state, lambda: state.service.ask(text, image=picture, thread_id=thread_id), messages, picture)

    def on_decide(decision: str):
        def decide(thread_id, messages, request: gr.Request):
            operator = _operator(request)
            messages = [*(messages or []), {"role": "user", "content": f"{decision.title()} ({operator})"}]
            yield from _follow(state, lambda: state.service.resume(thread_id, decision, operator=operator), messages, None)

        return decide

    # concurrency_limit=None: the service queue, not Gradio's, decides who gets the model next.
    ask.click(on_ask, [picture, live, question, thread, chat], outputs, concurrency_limit=None, api_name="ask")
    question.submit(on_ask, [picture, live, question, thread, chat], outputs, concurrency_limit=None, api_name=False)
    approve.click(on_decide("approve"), [thread, chat], outputs, concurrency_limit=None, api_name="approve")
    reject.click(on_decide("reject"), [thread, chat], outputs, concurrency_limit=None, api_name="reject")
    new_thread.click(
        lambda: ([], None, "", None, None, None, None, gr.update(visible=False), ""), None, outputs, api_name=False
    )


def _operator(request: gr.Request | None) -> str:
    """The browser's basic-auth user (the service checked the password), for the approval record."""
    authorization = (request.headers.get("authorization") if request else None) or ""
    if authorization[:6].lower() == "basic ":
        try:
            return base64.b64decode(authorization[6:]).decode().partition(":")[0] or "operator"
        except (ValueError, UnicodeDecodeError):
            pass
    return "operator"


def _follow(state: Any, submit, messages: list[dict], picture: Image.Image | None):
    """Queues the job, streams its progress into the chat, then fills in the answer panels."""
    keep = gr.update()
    try:
        ticket = submit()
    except QueueFull as busy:
        messages.append({"role": "assistant", "content": f"⏳ The model is {busy}."})
        yield messages, keep, keep, keep, keep, keep, keep, keep, keep
        return
    progress = {"role": "assistant", "content": "", "metadata": {"title": "Working…", "status": "pending"}}
    messages.append(progress)
    tools: list[dict] = []
    try:
        for event in ticket.stream():
            line = _progress_line(event, tools)
            if line:
                progress["content"] += line + "\n"
                yield messages, keep, keep, keep, tools, keep, keep, keep, keep
    except FrameSourceError as e:  # no such monitor, or no display to capture: shown in the page
        raise gr.Error(str(e)) from None
    outcome: RunOutcome = ticket.future.result()
    run = outcome.run
    progress["metadata"] = {"title": f"{run.steps} step(s), {len(tools)} tool call(s)", "status": "done"}
    if run.answer is not None:
        messages.append({"role": "assistant", "content": run.answer.text})
    pending = run.pending_action
    if pending is not None:
        messages.append({"role": "assistant", "content": f"Waiting for approval: {pending.reason}"})
    table, chart = _alarm_history(state, run.answer.alarm_tag if run.answer else None)
    yield (
        messages,
        run.thread_id,
        f"Thread `{run.thread_id[:12]}`" + (f" · session `{Path(run.session_dir).name}`" if run.session_dir else ""),
        _marked_screen(run, outcome.screen, picture),
        tools,
        table,
        chart,
        gr.update(visible=pending is not None),
        f"**Live action waiting for approval:** {pending.reason}" if pending else "",
    )


def _progress_line(event: Any, tools: list[dict]) -> str | None:
    data = event.data
    if event.kind == "step":
        return "📷 looked at the screen" if data.get("node") == "observe" else "📷 looked again to verify"
    if event.kind == "model":
        return f"💭 {data['text'][:300]}" if data.get("text") else None
    if event.kind == "tool_call":
        tools.append({"id": data["id"], "tool": data["name"], "arguments": data["arguments"], "result": None})
        return f"🔧 {data['name']}({json.dumps(data['arguments'], ensure_ascii=False)})"
    if event.kind == "tool_result":
        call = next((t for t in tools if t["id"] == data["id"]), None)
        if call is not None:
            call["result"] = data["text"]
            call["error"] = bool(data.get("error"))
        return ("⚠️ " if data.get("error") else "✅ ") + data["text"].splitlines()[0][:200] if data["text"] else None
    if event.kind == "approval":
        return "✋ waiting for the operator's approval"
    return None


def _marked_screen(run: Any, screen: Any, picture: Image.Image | None) -> Image.Image | None:
    """The frame the answer refers to (the session's first frame, else the upload) with elements and evidence."""
    image = _first_frame(run.session_dir) or picture
    if image is None:
        return None
    elements = [(e.id, e.bbox) for e in screen.elements] if screen is not None else []
    evidence = [(e.label, e.bbox) for e in (run.answer.evidence if run.answer else []) if e.bbox]
    return draw_marks(image, elements, evidence)


def _first_frame(session_dir: Path | None) -> Image.Image | None:
    if session_dir is None:
        return None
    try:
        frames = load_manifest(Path(session_dir))["frames"]
        return Image.open(Path(session_dir) / frames[0]["file"]).convert("RGB") if frames else None
    except (OSError, KeyError, ValueError):
        return None


def _alarm_history(state: Any, tag: str | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Recent occurrences table and activations per day (zeros included) of the answer's alarm."""
    if not tag:
        return None, None
    result = state.alarm_tools.alarm_history(tag, since=f"{HISTORY_DAYS}d", limit=500)
    if result.error or result.data is None:
        return None, None
    recent = result.data.recent
    table = pd.DataFrame(
        [
            {
                "activated": o.activated_at.strftime("%Y-%m-%d %H:%M"),
                "condition": o.condition,
                "value": o.value,
                "acked by": o.operator or "",
                "cleared": o.cleared_at.strftime("%H:%M") if o.cleared_at else "",
            }
            for o in recent[:20]
        ]
    )
    per_day = Counter(o.activated_at.date() for o in recent)
    today = datetime.now(timezone.utc).date()
    days = [today - timedelta(days=n) for n in reversed(range(HISTORY_DAYS))]
    chart = pd.DataFrame({"day": [d.strftime("%m-%d") for d in days], "activations": [per_day.get(d, 0) for d in days]})
    return table, chart


# ----------------------------------------------------------------------------------------------- Sessions tab


def _sessions_tab(state: Any, tab: gr.Tab) -> None:
    sessions = state.sessions
    refresh = gr.Button("Refresh", elem_id="refresh-sessions")
    table = gr.Dataframe(label="Recorded sessions (newest first)", interactive=False, elem_id="session-list")
    with gr.Row():
        pick = gr.Dropdown(label="Session", choices=[], elem_id="session-pick")
        step = gr.Slider(0, 1, value=0, step=1, label="Event", elem_id="session-step")
    with gr.Row():
        frame = gr.Image(label="Frame at this event", interactive=False)
        event = gr.JSON(label="Event", elem_id="session-event")
    answer = gr.Markdown(elem_id="session-answer")

    def listing():
        rows = sessions.list()
        frame_table = pd.DataFrame(
            [{"id": s.id, "question": s.question, "steps": s.steps, "started": s.started_at, "answer": (s.answer or "")[:120]} for s in rows]
        )
        return frame_table, gr.update(choices=[s.id for s in rows], value=rows[0].id if rows else None)

    def open_session(session_id):
        if not session_id:
            return gr.update(maximum=1, value=0), None, None, ""
        manifest = sessions.manifest(session_id)
        last = max(len(manifest["events"]) - 1, 0)
        shown = _replay(sessions, manifest, 0)
        answer_text = (manifest.get("answer") or {}).get("text") or "(no answer recorded: unfinished or awaiting approval)"
        return gr.update(maximum=max(last, 1), value=0), *shown, f"**Q:** {manifest.get('question', '')}\n\n**A:** " + answer_text.replace("\n", "  \n")

    def show_step(session_id, index):
        if not session_id:
            return None, None
        return _replay(sessions, sessions.manifest(session_id), int(index))

    refresh.click(listing, None, [table, pick], api_name="sessions")
    tab.select(listing, None, [table, pick], api_name=False)
    pick.change(open_session, pick, [step, frame, event, answer], api_name="open_session")
    step.change(show_step, [pick, step], [frame, event], api_name="session_step")


def _replay(sessions: Any, manifest: dict, index: int) -> tuple[Image.Image | None, dict | None]:
    """The event at `index` and the latest frame seen up to it."""
    events = manifest.get("events", [])
    if not events:
        return None, None
    index = min(max(index, 0), len(events) - 1)
    frame_file = next((e["file"] for e in reversed(events[: index + 1]) if e.get("kind") == "frame"), None)
    image = Image.open(sessions.file(manifest["id"], frame_file)) if frame_file else None
    return image, {"index": index, "of": len(events), **events[index]}
