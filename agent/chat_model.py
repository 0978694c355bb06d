"""VLMChatModel: a LangChain chat model over any perception.vlm backend (transformers, OpenAI-compatible, scripted),
so the graph speaks LangChain messages, binds tools the usual way and works with LangGraph's checkpointers/tooling.

LangChain messages become the backend's HF/OpenAI-shaped dicts (image blocks decoded to PIL, only the most recent
`max_images` screenshots kept — older ones cost vision tokens and rarely matter); the reply comes back as an AIMessage
with `tool_calls`, `usage_metadata`, and `response_metadata` holding the raw model text and GenerationStats.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from PIL import Image
from pydantic import ConfigDict, Field

from agent.recording import summarize_request
from tools.registry import Tool

OMITTED_IMAGE = "[earlier screenshot omitted]"
KEPT_IMAGES = 2  # screenshots the model is shown: the most recent ones


def image_block(png: bytes) -> dict[str, Any]:
    """A LangChain standard image content block (serialisable, so threads checkpoint)."""
    return {"type": "image", "base64": base64.b64encode(png).decode("ascii"), "mime_type": "image/png"}


_decoded: dict[str, Image.Image] = {}


def _decode_image(block: dict[str, Any]) -> Image.Image:
    data = block.get("base64") or block.get("data")
    if data is None and block.get("type") == "image_url":
        url = block["image_url"]["url"] if isinstance(block["image_url"], dict) else block["image_url"]
        data = url.split(",", 1)[1]
    if data is None:
        raise ValueError(f"unsupported image block (keys {sorted(block)}): give base64 PNG/JPEG data")
    key = hashlib.sha1(data.encode("ascii")).hexdigest()
    if key not in _decoded:
        if len(_decoded) >= 16:  # a thread shows few distinct screenshots; keep memory flat
            _decoded.pop(next(iter(_decoded)))
        _decoded[key] = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
    return _decoded[key]


def _is_image(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") in ("image", "image_url")


def _content(content: str | list, keep_image: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    items = []
    for block in content:
        if isinstance(block, str):
            items.append({"type": "text", "text": block})
        elif _is_image(block):
            items.append(
                {"type": "image", "image": _decode_image(block)}
                if keep_image(block)
                else {"type": "text", "text": OMITTED_IMAGE}
            )
        elif block.get("type") == "text":
            items.append({"type": "text", "text": block["text"]})
    return items


def forget_old_images(messages: Sequence[BaseMessage], keep: int = KEPT_IMAGES) -> list[BaseMessage]:
    """The messages with every screenshot but the last `keep` replaced by OMITTED_IMAGE text, exactly as
    to_vlm_messages would show them; changed messages are copies with the same id, the others are the same objects."""
    images = [id(b) for m in messages if isinstance(m.content, list) for b in m.content if _is_image(b)]
    dropped = set(images[: max(len(images) - keep, 0)])
    if not dropped:
        return list(messages)
    text = {"type": "text", "text": OMITTED_IMAGE}
    return [
        m.model_copy(update={"content": [text if id(b) in dropped else b for b in m.content]})
        if isinstance(m.content, list) and any(id(b) in dropped for b in m.content)
        else m
        for m in messages
    ]


def to_vlm_messages(messages: Sequence[BaseMessage], max_images: int = KEPT_IMAGES) -> list[dict[str, Any]]:
    """LangChain messages → the backend's dict messages, keeping only the last `max_images` images."""
    images = [id(b) for m in messages if isinstance(m.content, list) for b in m.content if _is_image(b)]
    kept = set(images[-max_images:]) if max_images else set()
    keep = lambda block: id(block) in kept  # noqa: E731
    converted = []
    for message in messages:
        if isinstance(message, SystemMessage):
            converted.append({"role": "system", "content": _content(message.content, keep)})
        elif isinstance(message, HumanMessage):
            converted.append({"role": "user", "content": _content(message.content, keep)})
        elif isinstance(message, AIMessage):
            entry: dict[str, Any] = {"role": "assistant", "content": _content(message.content, keep)}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["args"]}}
                    for c in message.tool_calls
                ]
            converted.append(entry)
        elif isinstance(message, ToolMessage):
            converted.append(
                {"role": "tool", "content": _content(message.content, keep), "tool_call_id": message.tool_call_id}
            )
        else:
            raise TypeError(f"unsupported message type {type(message).__name__}")
    return converted


def tool_schema(tool: Any) -> dict[str, Any]:
    return tool.schema() if isinstance(tool, Tool) else convert_to_openai_tool(tool)


class VLMChatModel(BaseChatModel):
    """LangChain chat model backed by a perception.vlm VisionLanguageModel."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    vlm: Any = Field(description="A perception.vlm.types.VisionLanguageModel")
    max_new_tokens: int = 512
    max_images: int = KEPT_IMAGES

    @property
    def _llm_type(self) -> str:
        return "hmi-agent-vlm"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_id": self.vlm.model_id, "max_new_tokens": self.max_new_tokens}

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any):
        """Accepts our registry Tools, LangChain tools, functions or OpenAI schemas; tool_choice is not supported by
        Qwen3-VL's template and is ignored."""
        return self.bind(tools=[tool_schema(t) for t in tools], **kwargs)

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        """`summarize=True`: the request's summary (agent.recording.summarize_request) comes back as
        response_metadata["request"], or as the `request` attribute of the model's error, for the session record."""
        tools = kwargs.get("tools")
        limit = {"time_limit_s": kwargs["time_limit_s"]} if kwargs.get("time_limit_s") is not None else {}
        request = to_vlm_messages(messages, self.max_images)  # converted once: the model call and its record share it
        summary = summarize_request(request, tools) if kwargs.get("summarize") else None
        try:
            reply = self.vlm.generate(
                request,
                tools,
                max_new_tokens=kwargs.get("max_new_tokens", self.max_new_tokens),
                **limit,
            )
        except Exception as e:
            e.request = summary  # type: ignore[attr-defined]
            raise
        stats = reply.stats
        message = AIMessage(
            content=reply.text,
            tool_calls=[
                {"name": c.name, "args": c.arguments, "id": c.id, "type": "tool_call"} for c in reply.tool_calls
            ],
            usage_metadata={
                "input_tokens": stats.input_tokens,
                "output_tokens": stats.output_tokens,
                "total_tokens": stats.input_tokens + stats.output_tokens,
            },
            response_metadata={
                "model_name": self.vlm.model_id,
                "raw": reply.raw,
                "stats": stats.model_dump(),
                **({"request": summary} if summary is not None else {}),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])
