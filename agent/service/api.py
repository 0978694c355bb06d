"""JSON HTTP API (under /api, schema at /openapi.json). Model work goes through the service's fair queue."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse
from PIL import Image
from pydantic import BaseModel, Field

from agent.approval import ApprovalRefused
from agent.runner import AgentRun
from agent.service.approvals import ListedApproval
from agent.service.queue import QueueFull
from agent.service.security import ANONYMOUS
from agent.service.sessions import SessionSummary
from perception.capture import FrameSourceError
from perception.images import ImageLimits, ImageRejected, open_image

router = APIRouter(prefix="/api")

MAX_IMAGE_BYTES = 40 * 1024 * 1024


class Decision(BaseModel):
    approval_id: str | None = Field(
        None,
        max_length=64,
        description="The action decided on (AgentRun.approval.approval_id); "
        "required to approve: an approval names one exact action.",
    )
    note: str | None = Field(None, max_length=500, description="Recorded with the decision, as given.")
    operator: str | None = Field(
        None,
        max_length=200,
        description="Recorded as a note only: the approver is who the credentials say (named token, login).",
    )
    arguments: dict[str, Any] | None = None  # approve with edited arguments


async def read_image(request: Request, upload: UploadFile) -> Image.Image:
    """An uploaded PNG/JPEG as upright RGB, as every entry point opens images (perception.images); bad, oversized
    or too many pixels is a 400/413 naming the file."""
    data = await upload.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise HTTPException(413, f"{upload.filename!r} is larger than {MAX_IMAGE_BYTES // 2**20} MiB")
    try:
        return await cpu_job(request, open_image, data, ImageLimits.from_settings(request.app.state.settings))
    except ImageRejected as e:
        raise HTTPException(400, f"{upload.filename!r} is {e}") from None


async def cpu_job(request: Request, job, *args):
    """`job(*args)` under the service's bound on CPU work; a refusal (QueueFull, answered 503) is counted."""
    try:
        return await request.app.state.cpu_work.run(job, *args)
    except QueueFull:
        request.app.state.metrics.queue_rejections.labels("cpu_work").inc()
        raise


def _approver(request: Request, body: Decision) -> tuple[str, str | None]:
    """(who decided, as the credentials prove it; the body's words, recorded as an unverified note)."""
    said = [text for text in (body.operator, body.note) if text]
    return request.scope.get("hmi_user") or ANONYMOUS, " / ".join(said) or None


@router.post("/ask", tags=["agent"])
async def ask(
    request: Request,
    question: Annotated[str, Form(min_length=1, max_length=2000, pattern=r"\S", description="In English or Chinese.")],
    image: Annotated[
        UploadFile | None, File(description="Screenshot or photo; omit to capture the live screen.")
    ] = None,
    screen: Annotated[
        int | None,
        Form(ge=1, le=16, description="Monitor to capture when no image is sent (default: the configured screen)."),
    ] = None,
    thread_id: Annotated[str | None, Form(max_length=128, description="Continue a conversation.")] = None,
) -> AgentRun:
    """Ask about what is on the screen. Returns the AgentRun: the answer (or the live action awaiting approval),
    the thread id to continue with, the session folder and the number of steps. 503 when the queue is full."""
    picture = await read_image(request, image) if image is not None else None
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
    """Approve (optionally with edited arguments) or reject the live action a thread is waiting on. An approval
    must name the action (`approval_id`); one for any other action, or after the approval timeout, is a 409."""
    body = body or Decision()
    if decision == "approve" and not body.approval_id:
        raise HTTPException(422, "an approval must name the action: send approval_id from the run's approval")
    return await _resume(request, thread_id, decision, body)


@router.get("/approvals", tags=["agent"])
def approvals(request: Request) -> list[ListedApproval]:
    """Live actions waiting for an operator's decision, oldest first (expired ones can still be rejected)."""
    return request.app.state.approvals.pending()


@router.post("/approvals/{approval_id}/{decision}", tags=["agent"])
async def decide_approval(
    request: Request, approval_id: str, decision: Literal["approve", "reject"], body: Decision | None = None
) -> AgentRun:
    """Approve (optionally with edited arguments) or reject one listed pending action."""
    try:
        entry = request.app.state.approvals.get(approval_id)
    except KeyError:
        raise HTTPException(404, f"no live action {approval_id!r} is waiting for approval") from None
    body = (body or Decision()).model_copy(update={"approval_id": approval_id})
    return await _resume(request, entry.thread_id, decision, body)


async def _resume(request: Request, thread_id: str, decision: str, body: Decision) -> AgentRun:
    verdict: Any = body.arguments if decision == "approve" and body.arguments else decision
    approver, note = _approver(request, body)
    ticket = request.app.state.service.resume(
        thread_id, verdict, operator=approver, approval_id=body.approval_id, note=note
    )
    try:
        return (await asyncio.wrap_future(ticket.future)).run
    except ApprovalRefused as e:  # another action, expired, or its recording can't be continued
        raise HTTPException(409, str(e)) from None
    except ValueError as e:  # no action waiting on that thread
        raise HTTPException(404, str(e)) from None


@router.post("/parse", tags=["perception"])
async def parse(request: Request, image: Annotated[UploadFile, File(description="Screenshot or photo.")]) -> dict:
    """Parse a screen image into numbered elements (texts, buttons, alarm indicators/rows, banners)."""
    picture = await read_image(request, image)
    return (await cpu_job(request, request.app.state.screen_parser, picture)).model_dump(mode="json")


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
