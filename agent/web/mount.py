"""Puts the operator UI onto a service app: the service (agent.service) knows nothing of the UI, the UI builds on it."""

from __future__ import annotations

from fastapi import FastAPI

from agent.service.api import MAX_IMAGE_BYTES


def mount_ui(app: FastAPI) -> FastAPI:
    """Mounts the Gradio UI at `/` of an app made by `agent.service.app.create_app`, behind the app's access check."""
    import gradio as gr

    from agent.web.answer_card import CARD_CSS
    from agent.web.ui import build_ui

    # the same upload cap as the API: Gradio's own default is no limit at all
    return gr.mount_gradio_app(
        app, build_ui(app.state), path="/", footer_links=["api"], max_file_size=MAX_IMAGE_BYTES, css=CARD_CSS
    )
