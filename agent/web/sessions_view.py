"""The Sessions tab: recorded questions with their status (answered, limited, failed, waiting for approval), opened
as a readable list of events, each shown on its frame with the event's action drawn."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

import gradio as gr
import pandas as pd
from PIL import Image

from agent.answer import tool_evidence_label
from agent.graph import ACTION_TOOLS
from agent.tool_binding import FINAL_ANSWER
from agent.web.drawing import draw_target
from perception.vlm.parsing import parse_tool_calls
from perception.vlm.types import ModelOutputError

SHOWN_KINDS = ("frame", "model", "tool", "approval")  # node timings are for benches, not operators
STATUS_WORDS = {
    "answered": "answered",
    "limited": "stopped at a limit",
    "failed": "failed",
    "unfinished": "unfinished",
    "pending": "waiting for approval",
}


def sessions_tab(state: Any, tab: gr.Tab) -> None:
    sessions = state.sessions
    refresh = gr.Button("Refresh", elem_id="refresh-sessions")
    table = gr.Dataframe(
        label="Recorded questions (newest first)", interactive=False, elem_id="session-list", wrap=True
    )
    with gr.Row():
        pick = gr.Dropdown(label="Session", choices=[], elem_id="session-pick")
        step = gr.Slider(0, 1, value=0, step=1, label="Event", elem_id="session-step")
    with gr.Row():
        frame = gr.Image(
            label="Frame at this event, with its action drawn",
            interactive=False,
            elem_id="session-frame",
            buttons=["download", "fullscreen"],
        )
        events = gr.HTML(elem_id="session-event")
    answer = gr.Markdown(elem_id="session-answer")

    def listing():
        rows = sessions.list()
        waiting = {a.session for a in state.approvals.pending()} if getattr(state, "approvals", None) else set()
        frame_table = pd.DataFrame(
            [
                {
                    "started": readable_time(s.started_at),
                    "status": STATUS_WORDS["pending" if _dir(sessions, s.id) in waiting else s.status],
                    "question": s.question,
                    "steps": s.steps if s.steps is not None else "",
                    "answer": (s.answer or "")[:120],
                    "id": s.id,
                }
                for s in rows
            ],
            columns=["started", "status", "question", "steps", "answer", "id"],
        )
        return frame_table, gr.update(choices=[s.id for s in rows], value=rows[0].id if rows else None)

    def open_session(session_id):
        if not session_id:
            return gr.update(maximum=1, value=0), None, "", ""
        manifest = sessions.manifest(session_id)
        shown = shown_events(manifest)
        answer_text = (manifest.get("answer") or {}).get(
            "text"
        ) or "(no answer recorded: unfinished, failed or awaiting approval)"
        error = f"\n\n**Error:** {manifest['error']}" if manifest.get("error") else ""
        summary = f"**Q:** {manifest.get('question', '')}\n\n**A:** " + answer_text.replace("\n", "  \n") + error
        return gr.update(maximum=max(len(shown) - 1, 1), value=0), *replay(sessions, manifest, 0), summary

    def show_step(session_id, index):
        if not session_id:
            return None, ""
        return replay(sessions, sessions.manifest(session_id), int(index))

    refresh.click(listing, None, [table, pick], api_name="sessions")
    tab.select(listing, None, [table, pick], api_name=False)
    pick.change(open_session, pick, [step, frame, events, answer], api_name="open_session")
    step.change(show_step, [pick, step], [frame, events], api_name="session_step")


def _dir(sessions: Any, session_id: str) -> str:
    return str(sessions.root / session_id)


def readable_time(stamp: str | None) -> str:
    """An ISO time stamp to the second, in the service's local time (as the approval deadlines): '2026-01-14 13:30:02'."""
    if not stamp:
        return ""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp


def shown_events(manifest: dict) -> list[dict]:
    return [e for e in manifest.get("events", []) if e.get("kind") in SHOWN_KINDS]


def replay(sessions: Any, manifest: dict, index: int) -> tuple[Image.Image | None, str]:
    """The frame seen at event `index` (with the event's action drawn) and the event list, that event marked."""
    events = shown_events(manifest)
    if not events:
        return None, ""
    index = min(max(index, 0), len(events) - 1)
    event = events[index]
    return _picture(sessions, manifest["id"], events[: index + 1], event), _event_list(events, index)


def _picture(sessions: Any, session_id: str, seen: list[dict], event: dict) -> Image.Image | None:
    if event.get("kind") == "tool" and event.get("image"):  # the action as it was drawn when carried out
        return _open(sessions, session_id, event["image"])
    frame_file = next((e["file"] for e in reversed(seen) if e.get("kind") == "frame"), None)
    image = _open(sessions, session_id, frame_file) if frame_file else None
    planned = event.get("planned") or {}
    if image is not None and planned.get("image_x") is not None:
        draw_target(image, (planned["image_x"], planned["image_y"]), planned.get("reason", ""))
    return image


def _open(sessions: Any, session_id: str, name: str) -> Image.Image | None:
    try:
        with Image.open(sessions.file(session_id, name)) as image:
            return image.convert("RGB")
    except (KeyError, OSError):
        return None


def _event_list(events: list[dict], current: int) -> str:
    items = []
    for n, event in enumerate(events):
        text = escape(describe(event))
        items.append(f'<li aria-current="step"><strong>{text}</strong></li>' if n == current else f"<li>{text}</li>")
    return f'<ol class="hmi-events" start="0">{"".join(items)}</ol>'


def _reply_words(raw: str) -> str:
    """The model's words and the tools it asked for, not its tool-call syntax."""
    try:
        text, calls = parse_tool_calls(raw)
    except ModelOutputError:
        text, calls = raw, []
    text = " ".join(text.split())[:160]
    asked = ", ".join("the answer" if c.name == FINAL_ANSWER else c.name.replace("_", " ") for c in calls)
    return (f": {text}" if text else "") + (f" - asks for {asked}" if asked else "")


def describe(event: dict) -> str:
    """One recorded event in words."""
    kind = event.get("kind")
    if kind == "frame":
        return f"Looked at the screen ({event.get('node', '')}, {event.get('file', '')})"
    if kind == "model":
        seconds = f"{event.get('seconds', 0):.1f} s"
        if event.get("error"):
            return f"Model reply unusable ({seconds}): {event['error'][:160]}"
        return f"Model replied ({seconds})" + _reply_words(event.get("raw") or "")
    if kind == "tool":
        name = event.get("name", "?")
        if name == FINAL_ANSWER:
            return "Wrote the answer"
        what = (event.get("planned") or {}).get("reason") if name in ACTION_TOOLS else None
        what = what or tool_evidence_label(name, event.get("arguments") or {}, "en")
        outcome = event.get("error") or (event.get("output") or "").strip().split("\n")[0]
        who = f", approved by {event['approved_by']}" if event.get("approved_by") else ""
        return f"{what}{who}: {outcome[:160]}"
    if kind == "approval":
        verdict = "approved" if event.get("decision") != "reject" else "rejected"
        if isinstance(event.get("decision"), dict):
            verdict = f"approved with edits {event['decision']}"
        note = f" (note: {event['note']})" if event.get("note") else ""
        return f"{verdict.capitalize()} by {event.get('operator', '?')}{note}: {(event.get('planned') or {}).get('reason', '')}"
    return str(kind)
