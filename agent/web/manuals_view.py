"""Manuals tab of the operator UI: search the plant's manuals (the agent's search_manuals tool), or list the pages the
last answer cited; each passage is shown with its document, page and heading, next to the rendered picture of the
page (PDFs), so the operator reads the procedure itself, not only the answer's summary."""

from __future__ import annotations

import html
import io
from typing import Any

import gradio as gr
from PIL import Image

from agent.service.docs_api import manual_db

MAX_PASSAGES = 5
PAGE_SCALE = 1.5  # 108 dpi: an A4 page readable in the browser


def manuals_tab(state: Any, thread: gr.State) -> None:
    """The tab's components and handlers; `state` is the FastAPI app.state, `thread` the Ask tab's thread."""
    cited = gr.State([])  # [(label, document, page)] of the passages shown
    with gr.Row():
        query = gr.Textbox(label="Search the manuals", placeholder="e.g. pump trip procedure / 泵跳车处理", scale=3)
        tag = gr.Textbox(label="Tag or model number (optional)", placeholder="e.g. TIC-101", scale=1)
    with gr.Row():
        search = gr.Button("Search", variant="primary")
        last_answer = gr.Button("Pages cited in the last answer")
    with gr.Row():
        with gr.Column(scale=2):
            passages = gr.HTML()
            pick = gr.Radio(label="Show page", choices=[], interactive=True)
        with gr.Column(scale=3):
            page = gr.Image(label="Page", type="pil", interactive=False)

    def on_search(text: str, tag_text: str):
        return _shown(state, *_search(state, text, tag_text))

    def on_cited(thread_id: str | None):
        return _shown(state, *_cited(state, thread_id))

    def on_pick(label: str | None, shown: list):
        return next(
            (_picture(state, document, number) for item_label, document, number in shown if item_label == label), None
        )

    outputs = [passages, pick, page, cited]
    search.click(on_search, [query, tag], outputs, api_name="search_manuals")
    query.submit(on_search, [query, tag], outputs, api_name=False)
    last_answer.click(on_cited, [thread], outputs, api_name="cited_pages")
    pick.input(on_pick, [pick, cited], page, api_name=False)


def _search(state: Any, text: str, tag_text: str) -> tuple[str, list[tuple[str, str, int | None]]]:
    from tools.manuals import ManualTools
    from tools.registry import Tool

    if not text.strip():
        return _message("Type what to look for."), []
    arguments = {"query": text.strip(), "tag": tag_text.strip() or None, "limit": MAX_PASSAGES}
    result = Tool.from_function(ManualTools(manual_db(state)).search_manuals)(arguments)
    if result.error:
        return _message(result.error), []
    if not result.data.passages:
        return _message(result.output), []
    items = [(p.where, p.document, p.page) for p in result.data.passages]
    return "".join(_card(p.where, p.text) for p in result.data.passages), items


def _cited(state: Any, thread_id: str | None) -> tuple[str, list[tuple[str, str, int | None]]]:
    if not thread_id:
        return _message("Ask a question first: its answer's cited pages are listed here."), []
    run = state.service.agent.result(thread_id)
    citations = [e for e in (run.answer.evidence if run.answer else []) if e.kind == "citation"]
    if not citations:
        return _message("The last answer cites no manual page."), []
    unique = list({(e.document, e.page): e for e in citations}.values())
    return "".join(_card(e.label, e.detail) for e in unique), [(e.label, e.document, e.page) for e in unique]


def _shown(state: Any, body: str, items: list[tuple[str, str, int | None]]):
    """Passages, the page choices (PDF pages only), the first page's picture, and the items for later picks."""
    pages = [item for item in items if item[2] is not None]
    first = _picture(state, pages[0][1], pages[0][2]) if pages else None
    labels = [label for label, _, _ in pages]
    return body, gr.update(choices=labels, value=labels[0] if labels else None), first, pages


def _picture(state: Any, document: str, number: int) -> Image.Image | None:
    """The rendered page, or None when it cannot be shown (not a PDF, file moved away since indexing)."""
    from storage.documents import document_by_name
    from tools.manual_files import DocumentError, render_page_png

    found = document_by_name(manual_db(state), document)
    if found is None or found.kind != "pdf":
        return None
    try:
        return Image.open(io.BytesIO(render_page_png(found.path, number, PAGE_SCALE)))
    except DocumentError:
        return None


def _card(where: str, text: str) -> str:
    body = html.escape(text).replace("\n", "<br>")
    return (
        f'<div class="manual-passage" style="margin-bottom:12px"><div style="font-weight:600">'
        f"{html.escape(where)}</div><div>{body}</div></div>"
    )


def _message(text: str) -> str:
    return f'<div class="manual-passage">{html.escape(text)}</div>'
