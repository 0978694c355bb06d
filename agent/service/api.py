"""JSON HTTP API (under /api, schema at /openapi.json). Model work goes through the service's fair queue."""

from __future__ import annotations

import asyncio
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel

from agent.runner import AgentRun
from agent.service.sessions import SessionSummary
from perception.capture import FrameSourceError
from perception.frames import rgb_image

router = APIRouter(prefix="/api")

MAX_IMAGE_BYTES = 40 * 1024 * 1024


class Decision(BaseModel):
    operator: str | None = None  # who decided; defaults to the logged-in user
    arguments: dict[str, Any] | None = None  # approve with edited arguments


async def read_image(upload: UploadFile) -> Image.Image:
    """An uploaded PNG/JPEG as RGB; bad or oversized files are a 400 naming the file."""
    data = await upload.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise HTTPException(413, f"{upload.filename!r} is larger than {MAX_IMAGE_BYTES // 2**20} MiB")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError):
        raise HTTPException(400, f"{upload.filename!r} is not a readable PNG or JPEG image") from None
    return rgb_image(image)


def _operator(request: Request, given: str | None) -> str:
    """Who decided. A logged-in (basic auth) user is recorded as themselves, whatever the body says; token clients
    name the operator in the body."""
    return request.scope.get("hmi_user") or given or "api"


@router.post("/ask", tags=["agent"])
async def ask(
    request: Request,
    question: Annotated[str, Form(min_length=1, max_length=2000, pattern=r"\S", description="In English or Chinese.")],
    image: Annotated[UploadFile | None, File(description="Screenshot or photo; omit to capture the live screen.")] = None,
    screen: Annotated[int | None, Form(ge=1, le=16, description="Monitor to capture when no image is sent (default: the configured screen).")] = None,
    thread_id: Annotated[str | None, Form(max_length=128, description="Continue a conversation.")] = None,
) -> AgentRun:
    """Ask about what is on the screen. Returns the AgentRun: the answer (or the live action awaiting approval),
    the thread id to continue with, the session folder and the number of steps. 503 when the queue is full."""
    picture = await read_image(image) if image is not None else None
    service = request.app.state.service
    ticket = service.ask(question, image=picture, screen=None if picture else screen, thread_id=thread_id)
    try:
        return (await asyncio.wrap_future(ticket.future)).run
    except FrameSourceError as e:  # no such monitor, or no display to capture: say so, not a 500
        raise HTTPException(400, str(e)) from None


@router.post("/threads/{thread_id}/{decision}", tags=["agent"])
async def decide(
    request: Request, thread_id: str, decision: Literal["approve", "reject"], body: Decision | None = None
) -> AgentRun:
    """Approve (optionally with edited arguments) or reject the live action a thread is waiting on."""
    body = body or Decision()
    verdict: Any = body.arguments if decision == "approve" and body.arguments else decision
    ticket = request.app.state.service.resume(thread_id, verdict, operator=_operator(request, body.operator))
    try:
        return (await asyncio.wrap_future(ticket.future)).run
    except ValueError as e:  # no action waiting on that thread
        raise HTTPException(404, str(e)) from None


@router.post("/parse", tags=["perception"])
async def parse(request: Request, image: Annotated[UploadFile, File(description="Screenshot or photo.")]) -> dict:
    """Parse a screen image into numbered elements (texts, buttons, alarm indicators/rows, banners)."""
    picture = await read_image(image)
    parse_screen = request.app.state.screen_parser
    return (await asyncio.to_thread(parse_screen, picture)).model_dump(mode="json")


@router.get("/alarms/{tag}/definition", tags=["alarms"])
def alarm_definition(request: Request, tag: str) -> dict:
    """The plant's definition of an alarm tag: description, priority, cause, recommended response."""
    return _tool_data(request.app.state.alarm_tools.alarm_definition(tag))


@router.get("/alarms/{tag}/history", tags=["alarms"])
def alarm_history(
    request: Request,
    tag: str,
    since: Annotated[str, Query(description="How far back: 24h, 7d, 30d or an ISO date.")] = "7d",
    until: Annotated[str | None, Query(description="End of the window (ISO date); default now.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 10,
) -> dict:
    """Recent activations of an alarm tag, newest first, with counts per day."""
    return _tool_data(request.app.state.alarm_tools.alarm_history(tag, since=since, until=until, limit=limit))


@router.get("/sessions", tags=["sessions"])
def sessions(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[SessionSummary]:
    """Recorded sessions, newest first."""
    return request.app.state.sessions.list(limit)


@router.get("/sessions/{session_id}", tags=["sessions"])
def session(request: Request, session_id: str) -> dict:
    """One recorded session's manifest: question, every model call, tool call, frame and the answer, in order."""
    try:
        return request.app.state.sessions.manifest(session_id)
    except KeyError:
        raise HTTPException(404, f"no recorded session {session_id!r}") from None


@router.get("/sessions/{session_id}/files/{name}", tags=["sessions"], response_class=FileResponse)
def session_file(request: Request, session_id: str, name: str) -> FileResponse:
    """A frame or action picture of a recorded session (PNG)."""
    try:
        return FileResponse(request.app.state.sessions.file(session_id, name), media_type="image/png")
    except KeyError:
        raise HTTPException(404, f"session {session_id!r} has no picture {name!r}") from None


def _tool_data(result: Any) -> dict:
    """A ToolResult as JSON: its structured data, or a 404 carrying the tool's error (e.g. an unknown tag)."""
    if result.error:
        raise HTTPException(404, result.error)
    data = result.data
    return data.model_dump(mode="json") if isinstance(data, BaseModel) else {"output": result.output, "data": data}
