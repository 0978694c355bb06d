"""What an operator approves: one exact planned live action, named by an id derived from it.

The id is a hash of the action (tool call id, kind, target, arguments), so an approval names that action and no
other: a thread that now waits on a different action, or on none, refuses it. A decision consumes the action
(single use), and an action older than the approval timeout can only be rejected.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from tools.actions import PlannedAction


class ApprovalRefused(ValueError):
    """The decision does not fit the action waiting on the thread (another action, none, or expired)."""


def approval_id(item: dict[str, Any]) -> str:
    """The id of one pending action (see `pending_item`): stable across processes and restarts."""
    bound = {key: item[key] for key in ("tool_call_id", "name", "arguments", "planned")}
    return hashlib.sha256(json.dumps(bound, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:24]


def pending_item(
    call: dict[str, Any],
    planned: dict[str, Any],
    *,
    requested_at: float,
    session: str | None,
    question: str,
    expectation: str,
    alarm: str | None,
) -> dict[str, Any]:
    """A live action waiting for the operator, as kept in the thread state: enough to decide on and to record it
    after an eviction or a restart."""
    item = {"tool_call_id": call["id"], "name": call["name"], "arguments": call["args"], "planned": planned}
    return {
        **item,
        "approval_id": approval_id(item),
        "requested_at": requested_at,
        "session": session,
        "question": question,
        "expectation": expectation,
        "alarm": alarm,
    }


def check_decision(item: dict[str, Any], decision: Any, given_id: str | None, *, now: float, timeout_s: float) -> None:
    """Raises ApprovalRefused when `given_id` names another action, or an approval comes after the timeout."""
    if given_id is not None and given_id != item.get("approval_id", approval_id(item)):
        raise ApprovalRefused(f"approval {given_id!r} is not for the action waiting now ({item['planned']['reason']})")
    waited = now - item.get("requested_at", now)
    if decision != "reject" and waited > timeout_s:
        raise ApprovalRefused(
            f"the action {item['planned']['reason']!r} waited {waited:.0f} s, longer than the approval timeout "
            f"({timeout_s:.0f} s): it can only be rejected now; ask again for a fresh look at the screen"
        )


def alarm_near(screen: Any, image_y: int | None) -> str | None:
    """The alarm tag on the screen row the action points at (e.g. the ACK button's row), if the parse shows one."""
    if screen is None or image_y is None:
        return None
    on_row = [e for e in screen.elements if getattr(e, "tag", None) and e.bbox[1] <= image_y <= e.bbox[3]]
    if on_row:
        return on_row[0].tag
    tags = {e.tag for e in screen.elements if getattr(e, "tag", None)}
    return tags.pop() if len(tags) == 1 else None  # one alarm on screen (banner and row): that is the one it acts on


class PendingApproval(BaseModel):
    """A live action waiting for the operator, as the API lists it and the UI shows it."""

    approval_id: str
    thread_id: str
    action: PlannedAction
    name: str  # the tool the model called (click, type_text, ...)
    arguments: dict[str, Any]  # as the model gave them (what Edit starts from)
    requested_at: float | None = None  # wall clock (time.time()); None in checkpoints from before approval ids
    question: str = ""  # the operator's question that led to the action
    expectation: str = ""  # what the model said along with the call: what it expects to happen
    alarm: str | None = None  # the alarm tag on the row the action points at, when the screen parse shows one
    session: str | None = None  # the session folder recording this question

    @classmethod
    def from_interrupt(cls, thread_id: str, value: dict[str, Any]) -> PendingApproval:
        """From the approve node's interrupt payload (checkpoints from before approval ids lack the extra fields)."""
        item = {**value, "planned": value["action"]}
        extra = {
            k: value[k]
            for k in ("requested_at", "question", "expectation", "alarm", "session")
            if value.get(k) is not None
        }
        return cls(
            approval_id=value.get("approval_id") or approval_id(item),
            thread_id=thread_id,
            action=value["action"],
            name=value["name"],
            arguments=value["arguments"],
            **extra,
        )
