"""The operator web UI (Gradio), mounted at `/` of the service app.

Ask tab: a screenshot/photo or the live screen + a question (English or Chinese; Enter asks) -> progress streams
into the conversation (one thread per browser tab until "New conversation"), then the answer card (agent.web.
answer_card), the latest frame with evidence, numbered elements and the actions carried out, the whole trail of
lookups and actions (agent.web.trail) and the alarm's history over the window the agent looked at (agent.web.
history_view). A live action waiting for approval shows its frame with the target marked, the alarm it acts on and
what the model expects (agent.web.approval_view): Approve, Reject, or click the frame to move the target and
approve that. Actions waiting for approval are listed for every operator view, so a reload loses none.
Sessions tab (agent.web.sessions_view): recorded questions with their status, replayed event by event.

Every question goes through the service's fair queue (Gradio's own queue does not limit it), so UI users and API
clients share the one model first come, first served. Errors are one message in the status box, never a red
"Error" badge on every panel.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from agent.answer import Answer
from agent.recording import load_manifest
from agent.service.queue import QueueFull
from agent.service.runs import RunOutcome
from agent.service.security import ANONYMOUS
from agent.session_files import session_image
from agent.web.alarm_system_tab import alarm_system_tab
from agent.web.answer_card import answer_card, error_card, evidence_words
from agent.web.approval_view import approval_html, approval_picture, clicked_point
from agent.web.drawing import draw_marks
from agent.web.history_view import history_view
from agent.web.manuals_view import manuals_tab
from agent.web.sessions_view import sessions_tab
from agent.web.trail import progress_line, trail_html
from agent.web.words import language_of, words_for
from perception.capture import FrameSourceError
from perception.images import ImageLimits, ImageRejected, open_image

EXAMPLE_QUESTIONS = ["What does this alarm mean and has it happened recently?", "这个报警是什么意思？最近发生过吗？"]


def build_ui(state: Any) -> gr.Blocks:
    """`state`: the FastAPI app.state (service, alarm_tools, sessions)."""
    with gr.Blocks(title="hmi-agent", analytics_enabled=False) as ui:
        gr.Markdown("## hmi-agent - ask about the alarm on the operator screen")
        model_line = gr.Markdown(elem_id="model-state")  # says so while answers are drafts (docs/two-speeds.md)
        thread = gr.State(None)  # per browser tab: None until the first answer names the thread
        with gr.Tab("Ask", id="ask"):
            panels = _ask_tab(state, thread)
        with gr.Tab("Sessions", id="sessions") as sessions:
            sessions_tab(state, sessions)
        with gr.Tab("Manuals", id="manuals"):
            manuals_tab(state, thread)
        with gr.Tab("Alarm system", id="alarm-system"):
            alarm_system_tab(state)
        # a reloaded page, or another operator's, picks up the actions waiting for approval
        ui.load(lambda: panels.waiting_update(state), None, panels.waiting, api_name=False)
        ui.load(lambda: _model_line(state), None, model_line, api_name=False)
    return ui


def _model_line(state: Any) -> str:
    """Nothing when the model is ready; else its state as /healthz says it ("loading", "unavailable: ...")."""
    model_state = state.model_state()
    return "" if model_state == "ready" else f"Model: {model_state}. Answers meanwhile: the screen parser's drafts."


# ---------------------------------------------------------------------------------------------------- Ask tab


def _ask_tab(state: Any, thread: gr.State) -> Panels:
    with gr.Row():
        with gr.Column(scale=2):
            # a file path, not "pil": Gradio would decode any size; we open it as every entry point does (pixel cap, EXIF)
            picture = gr.Image(
                type="filepath",
                image_mode=None,
                label="Screenshot or photo",
                sources=["upload", "clipboard"],
                elem_id="picture",
            )
            live = gr.Checkbox(label="Capture the live screen instead", value=False, elem_id="live")
            # one line that grows: Enter asks, Shift+Enter breaks the line (Gradio submits on Enter only when lines=1)
            question = gr.Textbox(
                label="Question (English or 中文) - Enter asks, Shift+Enter for a new line",
                placeholder=EXAMPLE_QUESTIONS[0],
                lines=1,
                max_lines=6,
                elem_id="question",
            )
            gr.Examples(EXAMPLE_QUESTIONS, inputs=question)
            with gr.Row():
                ask = gr.Button("Ask", variant="primary", elem_id="ask")
                new_thread = gr.Button("New conversation", elem_id="new-thread")
            thread_label = gr.Markdown("", elem_id="thread")
            with gr.Row():
                waiting = gr.Dropdown(
                    label="Actions waiting for approval (any operator)", choices=[], elem_id="pending-list", scale=4
                )
                refresh_waiting = gr.Button("Refresh", elem_id="refresh-pending", scale=1)
        with gr.Column(scale=3):
            status = gr.HTML(elem_id="status")
            chat = gr.Chatbot(label="Conversation", height=360, elem_id="chat")
            card = gr.HTML(elem_id="answer-card")
            with gr.Group(visible=False, elem_id="pending") as pending_box:
                pending_text = gr.HTML(elem_id="approval-text")
                # no label overlay: it would cover the top left of the screen (often the alarm banner)
                pending_picture = gr.Image(
                    show_label=False, interactive=False, elem_id="approval-frame", buttons=["download", "fullscreen"]
                )
                with gr.Row():
                    approve = gr.Button("Approve", variant="primary", elem_id="approve")
                    approve_edit = gr.Button("Approve edited target", elem_id="approve-edit", interactive=False)
                    reject = gr.Button("Reject", variant="stop", elem_id="reject")
    gr.Markdown(
        "Screen: evidence in red, numbered screen elements in blue, actions in amber (full-screen button to zoom)"
    )
    marked = gr.Image(show_label=False, interactive=False, elem_id="marked", buttons=["download", "fullscreen"])
    trail = gr.HTML(elem_id="tools")
    with gr.Row(visible=False) as history_box:  # no empty chart, no table headed "1 2 3" before there is a history
        with gr.Column():
            chart_title = gr.Markdown(elem_id="chart-title")
            chart = gr.BarPlot(x="day", y="activations", x_label_angle=-45, elem_id="chart")
        history = gr.Dataframe(
            label="Recent occurrences",
            interactive=False,
            elem_id="history",
            wrap=True,
            column_widths=["22%", "10%", "12%", "22%", "12%", "22%"],
        )
    approval = gr.State(None)  # the approval shown in this tab: {"approval_id", "thread_id"}
    edited = gr.State(None)  # the operator's edited target, 0-1000 picture coordinates

    panels = Panels(
        chat=chat,
        thread=thread,
        thread_label=thread_label,
        status=status,
        card=card,
        marked=marked,
        trail=trail,
        history=history,
        chart_title=chart_title,
        chart=chart,
        history_box=history_box,
        pending_box=pending_box,
        pending_text=pending_text,
        pending_picture=pending_picture,
        approval=approval,
        edited=edited,
        approve_edit=approve_edit,
        waiting=waiting,
    )
    outputs = panels.all()

    def on_ask(image, use_live, text, thread_id, messages):
        text = (text or "").strip()
        problem = None if text else "Type a question first."
        if not problem and image is None and not use_live:
            problem = "Upload a screenshot or photo, or tick 'Capture the live screen'."
        if problem:
            yield {status: error_card(problem, language_of(text))}
            return
        try:
            picture = None if use_live else _open_upload(state, image)
        except gr.Error as e:
            yield {status: error_card(e.message, language_of(text))}
            return
        messages = [*(messages or []), {"role": "user", "content": text}]
        yield from _follow(
            state,
            panels,
            lambda: state.service.ask(text, image=picture, thread_id=thread_id),
            messages,
            language_of(text),
        )

    def on_decide(decision: str):
        def decide(shown, point, messages, request: gr.Request):
            if not shown:
                yield {
                    status: error_card(
                        "No action is selected: pick one from the list of actions waiting for approval.", "en"
                    )
                }
                return
            operator = _operator(state, request)
            verdict: Any = (
                {"element_id": None, "x": point[0], "y": point[1]} if decision == "edit" and point else decision
            )
            shown_as = "approve" if decision == "edit" else decision
            language = language_of(shown.get("question"))
            said = words_for(language)["decided"].format(decision=words_for(language)[shown_as], who=operator)
            messages = [*(messages or []), {"role": "user", "content": said}]
            yield from _follow(
                state,
                panels,
                lambda: state.service.resume(
                    shown["thread_id"], verdict, operator=operator, approval_id=shown["approval_id"]
                ),
                messages,
                language,
            )

        return decide

    def on_pick(approval_id):
        try:
            listed = state.approvals.listed(approval_id) if approval_id else None
        except KeyError:
            listed = None
        if listed is None:
            return {pending_box: gr.update(visible=False), approval: None}
        return {**panels.approval_update(listed), thread: listed.thread_id}

    def on_edit(shown, event: gr.SelectData):
        if not shown:
            return {}
        listed = state.approvals.listed(shown["approval_id"])
        frame = approval_picture(listed)
        point = clicked_point(event.index, frame.size) if frame is not None else None
        return {
            edited: point,
            pending_text: approval_html(listed, point),
            pending_picture: approval_picture(listed, point),
            approve_edit: gr.update(interactive=point is not None),
        }

    # concurrency_limit=None: the service queue, not Gradio's, decides who gets the model next.
    ask.click(on_ask, [picture, live, question, thread, chat], outputs, concurrency_limit=None, api_name="ask")
    question.submit(on_ask, [picture, live, question, thread, chat], outputs, concurrency_limit=None, api_name=False)
    decision_inputs = [approval, edited, chat]
    approve.click(on_decide("approve"), decision_inputs, outputs, concurrency_limit=None, api_name="approve")
    approve_edit.click(on_decide("edit"), decision_inputs, outputs, concurrency_limit=None, api_name="approve_edited")
    reject.click(on_decide("reject"), decision_inputs, outputs, concurrency_limit=None, api_name="reject")
    pending_picture.select(on_edit, approval, outputs, api_name=False)
    waiting.change(on_pick, waiting, outputs, api_name=False)
    refresh_waiting.click(lambda: panels.waiting_update(state), None, waiting, api_name="pending_approvals")
    new_thread.click(panels.cleared, None, outputs, api_name=False)
    return panels


@dataclass
class Panels:
    """The Ask tab's components, so each handler updates only what it changes (a dict of component -> value)."""

    chat: Any
    thread: Any
    thread_label: Any
    status: Any
    card: Any
    marked: Any
    trail: Any
    history: Any
    chart_title: Any
    chart: Any
    history_box: Any
    pending_box: Any
    pending_text: Any
    pending_picture: Any
    approval: Any
    edited: Any
    approve_edit: Any
    waiting: Any

    def all(self) -> list[Any]:
        return [getattr(self, f.name) for f in fields(self)]

    def cleared(self) -> dict[Any, Any]:
        return {
            self.chat: [],
            self.thread: None,
            self.thread_label: "",
            self.status: "",
            self.card: "",
            self.marked: None,
            self.trail: "",
            self.history: None,
            self.chart_title: "",
            self.chart: None,
            self.history_box: gr.update(visible=False),
            self.approval: None,
            self.edited: None,
            self.pending_box: gr.update(visible=False),
        }

    def approval_update(self, listed: Any) -> dict[Any, Any]:
        shown = {"approval_id": listed.approval_id, "thread_id": listed.thread_id, "question": listed.question}
        return {
            self.pending_box: gr.update(visible=True),
            self.pending_text: approval_html(listed),
            self.pending_picture: approval_picture(listed),
            self.approval: shown,
            self.edited: None,
            self.approve_edit: gr.update(interactive=False),
        }

    def waiting_update(self, state: Any, selected: str | None = None) -> Any:
        choices = [
            (f"{a.action.reason} - {a.question[:60]}" + (" (expired)" if a.expired else ""), a.approval_id)
            for a in state.approvals.pending()
        ]
        return gr.update(choices=choices, value=selected if selected in {c[1] for c in choices} else None)


def _open_upload(state: Any, path: str) -> Image.Image:
    try:
        return open_image(Path(path), ImageLimits.from_settings(state.settings))
    except ImageRejected as e:
        raise gr.Error(f"The picture cannot be used: it is {e}") from None


def _operator(state: Any, request: gr.Request | None) -> str:
    """Who decides, as the service's credentials prove it (login user, named token), for the approval record."""
    authorization = (request.headers.get("authorization") if request else None) or None
    return state.access_policy.identify(authorization) or ANONYMOUS


def _follow(state: Any, panels: Panels, submit, messages: list[dict], language: str):
    """Queues the job, streams its progress into the chat, then fills in the answer card and the panels. A failure
    is one message in the status box (the question stays where it was typed)."""
    words = words_for(language)
    try:
        ticket = submit()
    except QueueFull as busy:
        yield {panels.status: error_card(words["busy"].format(busy=busy), language)}
        return
    progress = {"role": "assistant", "content": "", "metadata": {"title": words["working"], "status": "pending"}}
    messages.append(progress)
    calls: dict[str, str] = {}
    yield {panels.status: "", panels.chat: messages}
    try:
        for event in ticket.stream():
            update = {}
            if event.kind in ("draft", "answer"):  # a draft first (the screen parser's), then the model's
                update[panels.card] = answer_card(Answer.model_validate(event.data))
            if line := progress_line(event, calls, language):
                progress["content"] += line + "\n"
                update[panels.chat] = messages
            if update:
                yield update
    except (FrameSourceError, ValueError, ConnectionError) as e:  # no display; approval refused; model server down
        progress["metadata"] = {"title": words["error_title"], "status": "done"}
        # the approval panel stays as it was: an expired action can still be rejected from it
        yield {
            panels.status: error_card(str(e), language),
            panels.chat: messages,
            panels.waiting: panels.waiting_update(state),
        }
        return
    outcome: RunOutcome = ticket.future.result()
    yield _finished(state, panels, outcome, messages, progress, calls, language)


def _finished(
    state: Any, panels: Panels, outcome: RunOutcome, messages: list[dict], progress: dict, calls: dict, language: str
) -> dict[Any, Any]:
    run = outcome.run
    words = words_for(language)
    progress["metadata"] = {"title": words["progress_done"].format(steps=run.steps, tools=len(calls)), "status": "done"}
    if run.answer is not None:  # the whole answer is in the card; the conversation keeps its gist
        gist = [run.answer.on_screen, run.answer.recommended_action]
        messages.append({"role": "assistant", "content": "\n".join(g for g in gist if g)})
    manifest = _manifest(run.session_dir)
    table, chart, title = history_view(state.alarm_tools, run.answer)
    update = {
        panels.chat: messages,
        panels.thread: run.thread_id,
        panels.thread_label: f"Thread `{run.thread_id}`"
        + (f" - session `{Path(run.session_dir).name}`" if run.session_dir else ""),
        panels.card: answer_card(run.answer),
        panels.marked: _marked_screen(manifest, run, outcome.screen),
        panels.trail: f"<h4>{words['trail']}</h4>" + trail_html(manifest, language, run.pending_action),
        panels.history: table,
        panels.chart: chart,
        panels.chart_title: f"**{title}**" if title else "",
        panels.history_box: gr.update(visible=table is not None),
        panels.waiting: panels.waiting_update(state, run.approval.approval_id if run.approval else None),
    }
    if run.approval is not None:
        messages.append({"role": "assistant", "content": f"{words['waiting']}: {run.approval.action.reason}"})
        return update | panels.approval_update(state.approvals.listed(run.approval.approval_id))
    return update | {panels.pending_box: gr.update(visible=False), panels.approval: None, panels.edited: None}


def _manifest(session_dir: Path | None) -> dict | None:
    try:
        return load_manifest(Path(session_dir)) if session_dir else None
    except (OSError, ValueError):
        return None


def _marked_screen(manifest: dict | None, run: Any, screen: Any) -> Image.Image | None:
    """The latest frame of the question (after any action) with the evidence, the numbered elements of the parse
    the answer was made from, and every action carried out this question drawn at its target."""
    frames = (manifest or {}).get("frames") or []
    try:
        image = session_image(Path(run.session_dir), frames[-1]["file"]) if frames else None
    except (OSError, ValueError):
        image = None
    if image is None:
        return None
    elements = [(e.id, e.bbox) for e in screen.elements] if screen is not None else []
    evidence = [
        (evidence_words(e, run.answer.language), e.bbox) for e in (run.answer.evidence if run.answer else []) if e.bbox
    ]
    targets = [
        (e["planned"].get("reason", ""), (e["planned"]["image_x"], e["planned"]["image_y"]))
        for e in (manifest or {}).get("events", [])
        if e.get("kind") == "tool" and e.get("executed") and (e.get("planned") or {}).get("image_x") is not None
    ]
    return draw_marks(image, elements, evidence, targets)
