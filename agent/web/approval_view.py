"""The approval panel: what a live action will do, on which alarm, what the model expects, until when it may be
approved, and the frame with its target marked (click the frame to move the target: Edit)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path

from PIL import Image

from agent.approval import PendingApproval
from agent.recording import load_manifest
from agent.service.approvals import ListedApproval
from agent.session_files import session_image
from agent.web.drawing import EDITED_COLOUR, draw_target
from agent.web.words import language_of, words_for
from perception.coords import MODEL_SCALE


def approval_html(approval: ListedApproval | None, edited: tuple[int, int] | None = None) -> str:
    if approval is None:
        return ""
    language = language_of(approval.question)
    words = words_for(language)
    rows = [(words["action"], approval.action.reason)]
    if approval.alarm:
        rows.append((words["acts_on"], approval.alarm))
    rows.append((words["expects"], approval.expectation or words["no_expectation"]))
    rows.append((words["asked"], approval.question))
    if approval.expired:
        rows.append((words["expires"], words["expired"]))
    elif approval.expires_at is not None:
        rows.append((words["expires"], datetime.fromtimestamp(approval.expires_at).strftime("%H:%M:%S")))
    if edited is not None:
        rows.append(("", words["edited"].format(x=edited[0], y=edited[1])))
    body = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    hint = f"<p>{escape(words['edit_hint'])}</p>" if approval.action.x is not None else ""
    return (
        f'<div class="hmi-approval" lang="{language}" id="approval-body"><h3>{escape(words["approval_title"])}</h3>'
        f"<dl>{body}</dl>{hint}</div>"
    )


def approval_picture(approval: PendingApproval | None, edited: tuple[int, int] | None = None) -> Image.Image | None:
    """The latest frame of the action's session with the planned target (and an edited one) marked."""
    frame = latest_frame(Path(approval.session)) if approval and approval.session else None
    if frame is None:
        return None
    action = approval.action
    if action.image_x is not None:
        draw_target(frame, (action.image_x, action.image_y), action.reason)
    if edited is not None:
        point = (edited[0] * frame.width // MODEL_SCALE, edited[1] * frame.height // MODEL_SCALE)
        draw_target(
            frame,
            point,
            words_for(language_of(approval.question))["edited"].format(x=edited[0], y=edited[1]),
            colour=EDITED_COLOUR,
        )
    return frame


def clicked_point(index: list[int] | tuple[int, int], frame_size: tuple[int, int]) -> tuple[int, int]:
    """A click on the picture (image pixels) as the model's 0-1000 coordinates, which an edited action takes."""
    x, y = index
    width, height = frame_size
    return (
        min(max(round(x * MODEL_SCALE / width), 0), MODEL_SCALE),
        min(max(round(y * MODEL_SCALE / height), 0), MODEL_SCALE),
    )


def latest_frame(session_dir: Path) -> Image.Image | None:
    try:
        frames = load_manifest(session_dir)["frames"]
        return session_image(session_dir, frames[-1]["file"]) if frames else None
    except (OSError, KeyError, ValueError):
        return None
