"""`POST /api/ask/stream`: the same question as /api/ask, answered as events while they happen (NDJSON, one JSON
object a line): the parser's draft first, then the model's turns, tool calls and results, then the answer; the last
line is the whole AgentRun. Event shapes: docs/two-speeds.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import StreamingResponse

from agent.service.api import read_image
from perception.capture import FrameSourceError

router = APIRouter(prefix="/api")


def _line(kind: str, data: Any) -> str:
    return json.dumps({"kind": kind, "data": data}, ensure_ascii=False, default=str) + "\n"


def _lines(ticket: Any) -> Iterator[str]:
    """Blocking (Starlette runs it on a worker thread): each event as it comes, then the run or the error."""
    try:
        for event in ticket.stream():
            yield _line(event.kind, event.data)
        yield _line("run", ticket.future.result().run.model_dump(mode="json"))
    except FrameSourceError as e:  # no such monitor, or no display to capture: said in the stream, not a 500
        yield _line("error", {"detail": str(e)})


@router.post("/ask/stream", tags=["agent"])
async def ask_stream(
    request: Request,
    question: Annotated[str, Form(min_length=1, max_length=2000, pattern=r"\S", description="In English or Chinese.")],
    image: Annotated[
        UploadFile | None, File(description="Screenshot or photo; omit to capture the live screen.")
    ] = None,
    screen: Annotated[int | None, Form(ge=1, le=16, description="Monitor to capture when no image is sent.")] = None,
    thread_id: Annotated[str | None, Form(max_length=128, description="Continue a conversation.")] = None,
) -> StreamingResponse:
    """Ask about the screen and get NDJSON events as they happen: `{"kind": "draft", "data": <Answer>}` first (the
    screen parser's answer, no model), then step/model/tool_call/tool_result/approval/answer events, and last
    `{"kind": "run", "data": <AgentRun>}`. 503 when the queue is full."""
    picture = await read_image(request, image) if image is not None else None
    ticket = request.app.state.service.ask(
        question, image=picture, screen=None if picture else screen, thread_id=thread_id
    )
    return StreamingResponse(_lines(ticket), media_type="application/x-ndjson")
