"""ScriptedModel: the fake for the model's *decisions* in tests, benches and example sessions.

It replays a list of replies — raw model text (parsed exactly like a real Qwen3-VL reply, so a malformed
`<tool_call>` raises the same ModelOutputError) or ready VLMReply objects — and keeps every request it got.
"""

from __future__ import annotations

import json
from typing import Any

from perception.vlm.parsing import parse_tool_calls
from perception.vlm.types import GenerationStats, ModelOutputError, VLMReply


def tool_call_text(name: str, arguments: dict[str, Any] | None = None, text: str = "") -> str:
    """A raw reply calling one tool, in Qwen3-VL's format."""
    call = json.dumps({"name": name, "arguments": arguments or {}}, ensure_ascii=False)
    return f"{text}\n<tool_call>\n{call}\n</tool_call>" if text else f"<tool_call>\n{call}\n</tool_call>"


class ScriptedModel:
    """A VisionLanguageModel that answers from a script. `repeat_last` keeps giving the last reply (limit tests)."""

    def __init__(self, replies: list[str | VLMReply], *, model_id: str = "scripted", repeat_last: bool = False):
        if not replies:
            raise ValueError("a ScriptedModel needs at least one reply")
        self.model_id = model_id
        self.replies = list(replies)
        self.repeat_last = repeat_last
        self.requests: list[dict[str, Any]] = []  # {"messages", "tools", "max_new_tokens"} per call

    def generate(
        self,
        messages: list[dict],
        tools: list[dict] | None = None,
        *,
        max_new_tokens: int = 512,
        time_limit_s: float | None = None,
    ) -> VLMReply:
        """The next scripted reply; it comes at once, so `time_limit_s` never binds."""
        self.requests.append({"messages": messages, "tools": tools, "max_new_tokens": max_new_tokens})
        index = len(self.requests) - 1
        if index >= len(self.replies) and not self.repeat_last:
            raise RuntimeError(f"the script has {len(self.replies)} replies and the agent asked for reply {index + 1}")
        reply = self.replies[min(index, len(self.replies) - 1)]
        return reply if isinstance(reply, VLMReply) else reply_from_raw(reply)


def reply_from_raw(raw: str) -> VLMReply:
    """Parses raw model text as a backend would; ModelOutputError carries the raw text for the session record."""
    try:
        text, calls = parse_tool_calls(raw)
    except ModelOutputError as e:
        e.raw = raw
        raise
    stats = GenerationStats(
        input_tokens=0,
        vision_tokens=0,
        output_tokens=len(raw.split()),
        time_to_first_token_s=0.0,
        total_s=0.0,
        tokens_per_s=0.0,
    )
    return VLMReply(text=text, tool_calls=calls, raw=raw, stats=stats)
