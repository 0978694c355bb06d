"""Turns Qwen3-VL text into typed tool calls and groundings; failures are ModelOutputErrors worded for the model."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from pydantic import BaseModel

from perception.vlm.types import ModelOutputError, ToolCall

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|\Z)", re.DOTALL)


def strip_thinking(text: str) -> str:
    """Drops `<think>...</think>` sections (Thinking models; the opening tag may sit in the prompt, so a bare
    `</think>` ends the reasoning too; a `<think>` never closed, output cut mid-reasoning, runs to the end)."""
    text = _THINK.sub("", text)
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    return text.split("<think>", 1)[0].strip()


def _unfence(text: str) -> str:
    match = _FENCE.search(text)
    return match.group(1).strip() if match else text.strip()


def _json_error(text: str, what: str, error: json.JSONDecodeError) -> ModelOutputError:
    if "'" in text and '"' not in text:
        hint = " (use double quotes: JSON does not accept single quotes)"
    elif error.pos >= len(text.rstrip()):
        hint = " (it is cut off: close every bracket and brace)"
    else:
        hint = ""
    snippet = text if len(text) <= 120 else text[:117] + "..."
    return ModelOutputError(f"could not parse {what} as JSON{hint}: {error.msg} at char {error.pos} in {snippet!r}")


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise _json_error(text, what, e) from e


def parse_tool_calls(text: str) -> tuple[str, list[ToolCall]]:
    """Finds every `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` block.

    Returns the remaining text (thinking and tool-call blocks removed) and the calls in order. A missing closing tag
    at the very end (output cut at the stop token) and ```json fences inside the block are accepted.
    """
    text = strip_thinking(text)
    calls = []
    for block in _TOOL_CALL.findall(text):
        payload = _loads(_unfence(block), "the <tool_call> block")
        calls.append(tool_call_from_payload(payload))
    remaining = _TOOL_CALL.sub("", text).strip()
    return remaining, calls


def tool_call_from_payload(payload: Any, call_id: str | None = None) -> ToolCall:
    """`{"name": ..., "arguments": {...} or a JSON string}` -> ToolCall; a new id unless the server gave one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("name"), str) or not payload["name"]:
        raise ModelOutputError(
            'a <tool_call> block must hold one JSON object {"name": "<function-name>", "arguments": {...}}, '
            f"got {json.dumps(payload)[:120]}"
        )
    arguments = payload.get("arguments", {})
    if isinstance(arguments, str):  # some servers and fine-tunes double-encode the arguments
        arguments = _loads(arguments, f"the arguments of {payload['name']!r}") if arguments.strip() else {}
    if not isinstance(arguments, dict):
        raise ModelOutputError(f"the arguments of {payload['name']!r} must be a JSON object, got {arguments!r}")
    return ToolCall(id=call_id or f"call_{uuid.uuid4().hex[:12]}", name=payload["name"], arguments=arguments)


class Grounding(BaseModel):
    """One element the model located, in its relative 0-1000 coordinates (map with perception.coords)."""

    label: str = ""
    bbox_2d: tuple[float, float, float, float] | None = None
    point_2d: tuple[float, float] | None = None


def parse_grounding(text: str) -> list[Grounding]:
    """Parses `[{"bbox_2d": [x1, y1, x2, y2], "label": ...}]` / `point_2d` answers, fenced or not, with prose around
    them, a single object instead of a list, or coordinates directly as a list. Truncated JSON raises."""
    body = _unfence(strip_thinking(text))
    start = min((i for i in (body.find("["), body.find("{")) if i >= 0), default=-1)
    if start < 0:
        raise ModelOutputError(
            'no grounding JSON found; answer with [{"bbox_2d": [x1, y1, x2, y2], "label": "..."}] '
            "in 0-1000 relative coordinates"
        )
    try:
        payload, _ = json.JSONDecoder().raw_decode(body, start)  # stops at the end of the JSON: trailing prose is fine
    except json.JSONDecodeError as e:
        raise _json_error(body, "the grounding answer", e) from e
    items = [payload] if isinstance(payload, dict) else payload
    if items and all(isinstance(v, (int, float)) for v in items):  # a bare [x1, y1, x2, y2] or [x, y]
        items = [{"bbox_2d" if len(items) == 4 else "point_2d": items}]
    return [_grounding_from(item) for item in items]


def _grounding_from(item: Any) -> Grounding:
    if not isinstance(item, dict):
        raise ModelOutputError(f"each grounding must be a JSON object with bbox_2d or point_2d, got {item!r}")
    bbox, point = item.get("bbox_2d"), item.get("point_2d")
    if bbox is None and point is None:
        raise ModelOutputError(f"grounding {json.dumps(item)[:120]} has neither bbox_2d nor point_2d")
    for key, value, size in (("bbox_2d", bbox, 4), ("point_2d", point, 2)):
        if value is not None and (
            not isinstance(value, list) or len(value) != size or not all(isinstance(v, (int, float)) for v in value)
        ):
            raise ModelOutputError(f"{key} must be a list of {size} numbers on the 0-1000 scale, got {value!r}")
    label = item.get("label", "")
    return Grounding(label=str(label), bbox_2d=tuple(bbox) if bbox else None, point_2d=tuple(point) if point else None)
