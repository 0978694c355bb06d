"""Qwen3-VL behind an OpenAI-compatible server (vLLM, SGLang, llama.cpp llama-server, Ollama): many stations, one GPU.

Images are resized here to the pixel budget (Qwen's own rule), so the server sees exactly what the in-process backend
would and the vision-token count is known without asking the server.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
from PIL import Image

from perception.vlm.budget import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_PIXELS,
    smart_resize,
    vision_tokens,
)
from perception.vlm.parsing import parse_tool_calls, tool_call_from_payload
from perception.vlm.types import (
    GenerationStats,
    ModelDeadlineError,
    ModelOutputError,
    ModelServerError,
    ToolCall,
    VLMReply,
)


def _data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class OpenAICompatibleVLM:
    """Same interface as TransformersQwen3VL, over HTTP `/chat/completions` (streamed, to time the first token)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 120,
        *,
        min_pixels: int = DEFAULT_MIN_PIXELS,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        stream: bool = True,
    ):
        self.base_url = base_url.rstrip("/")
        self.model_id = model
        self.min_pixels = min_pixels
        self.max_pixels = max_pixels
        self.stream = stream
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def close(self) -> None:
        self._client.close()

    def generate(
        self,
        messages: list[dict],
        tools: list[dict] | None = None,
        *,
        max_new_tokens: int = 512,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        time_limit_s: float | None = None,
    ) -> VLMReply:
        """One model turn; raises ModelServerError when the server is unreachable or refuses, ModelOutputError (with
        `.raw`/`.stats`) when the reply holds a malformed tool call, ModelDeadlineError when the whole call (not
        one read: a server can trickle a byte a second) takes more than `time_limit_s`; the request is then closed."""
        budget = (min_pixels or self.min_pixels, max_pixels or self.max_pixels)
        wire_messages, image_tokens = self._wire_messages(messages, budget)
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": wire_messages,
            "max_tokens": max_new_tokens,
            "temperature": 0,
            "stream": self.stream,
        }
        if tools:
            body["tools"] = tools
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        started = time.perf_counter()
        deadline = _Deadline(time_limit_s if time_limit_s is not None else self.timeout, self.url)
        content, wire_calls, usage, first_token_at = self._post(body, deadline)
        finished = time.perf_counter()
        stats = GenerationStats.timed(
            input_tokens=int(usage.get("prompt_tokens") or 0),
            vision_tokens=image_tokens,
            output_tokens=int(usage.get("completion_tokens") or 0),
            started=started,
            first_token_at=first_token_at,
            finished=finished,
        )
        try:
            text, tool_calls = self._tool_calls(content, wire_calls)
        except ModelOutputError as e:
            e.raw, e.stats = _raw_with_wire_calls(content, wire_calls), stats
            raise
        raw = _raw_with_blocks(content, tool_calls) if wire_calls else content
        return VLMReply(text=text, tool_calls=tool_calls, raw=raw, stats=stats)

    def _wire_messages(self, messages: list[dict], budget: tuple[int, int]) -> tuple[list[dict], int]:
        """HF-shaped messages -> OpenAI wire format: images resized to the budget as data URLs, arguments as JSON."""
        wire, tokens = [], 0
        for message in messages:
            out = {k: v for k, v in message.items() if k != "content"}
            content = message.get("content")
            if isinstance(content, list):
                items = []
                for item in content:
                    if isinstance(item, dict) and (item.get("type") == "image" or "image" in item):
                        image: Image.Image = item["image"]
                        width, height = smart_resize(image.width, image.height, *budget)
                        tokens += vision_tokens(image.width, image.height, *budget)
                        resized = image.resize((width, height), Image.Resampling.BICUBIC)
                        items.append({"type": "image_url", "image_url": {"url": _data_url(resized)}})
                    else:
                        items.append(item)
                content = items
            out["content"] = content if content is not None else ""
            if message.get("tool_calls"):
                out["tool_calls"] = [_wire_tool_call(call) for call in message["tool_calls"]]
            wire.append(out)
        return wire, tokens

    def _post(self, body: dict, deadline: _Deadline) -> tuple[str, list[dict], dict, float | None]:
        try:
            with self._client.stream("POST", self.url, json=body, timeout=deadline.timeout()) as response:
                self._check(response)
                if body["stream"]:
                    return _read_stream(response, self.url, deadline)
                payload = json.loads(b"".join(deadline.chunks(response)))
                _raise_if_error(payload, self.url)
                message = payload["choices"][0]["message"]
                return message.get("content") or "", message.get("tool_calls") or [], payload.get("usage") or {}, None
        except httpx.ConnectError as e:
            raise ModelServerError(f"cannot reach the model server at {self.url}: {e}") from e
        except httpx.TimeoutException as e:
            if deadline.passed():
                raise deadline.error() from None
            raise ModelServerError(f"the model server at {self.url} did not answer in time ({type(e).__name__})") from e
        except (KeyError, IndexError, json.JSONDecodeError) as e:
            raise ModelServerError(f"the model server at {self.url} sent an unexpected reply: {e!r}") from e

    def _check(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            detail = response.read().decode("utf-8", "replace").strip().replace("\n", " ")[:200]
            raise ModelServerError(f"the model server at {self.url} answered HTTP {response.status_code}: {detail}")

    @staticmethod
    def _tool_calls(content: str, wire_calls: list[dict]) -> tuple[str, list[ToolCall]]:
        """Server-parsed tool calls when it has a tool parser enabled, else the `<tool_call>` blocks in the text."""
        text, parsed = parse_tool_calls(content)
        if not wire_calls:
            return text, parsed
        calls = []
        for call in wire_calls:
            function = call.get("function") or {}
            payload = {"name": function.get("name"), "arguments": function.get("arguments") or {}}
            calls.append(tool_call_from_payload(payload, call_id=call.get("id")))
        return text, calls


def _raw_with_blocks(content: str, calls: list[ToolCall]) -> str:
    """A reply whose tool calls the server parsed, written as Qwen3-VL writes them (`<tool_call>` blocks after the
    text): the session records one raw text that replay parses back to the same calls, whichever way they came."""
    blocks = [
        "<tool_call>\n" + json.dumps({"name": c.name, "arguments": c.arguments}, ensure_ascii=False) + "\n</tool_call>"
        for c in calls
    ]
    return "\n".join([content, *blocks] if content.strip() else blocks)


def _raw_with_wire_calls(content: str, wire_calls: list[dict]) -> str:
    """A reply whose structured tool calls were malformed: the text plus the calls exactly as the server sent them."""
    if not wire_calls:
        return content
    return "\n".join(
        [
            content,
            *(
                "<tool_call>\n" + json.dumps(c.get("function") or c, ensure_ascii=False) + "\n</tool_call>"
                for c in wire_calls
            ),
        ]
    )


class _Deadline:
    """One overall time limit for a model call. httpx's timeouts are per read, so each read is also given at most
    the time left, and every chunk received checks the clock."""

    def __init__(self, seconds: float, url: str):
        self.seconds = seconds
        self.url = url
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.left() <= 0

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(max(self.left(), 0.001))

    def error(self) -> ModelDeadlineError:
        return ModelDeadlineError(
            f"the model server at {self.url} did not finish within {self.seconds:.1f} s; the request was cancelled"
        )

    def chunks(self, response: httpx.Response) -> Iterator[bytes]:
        """The body as it arrives; ModelDeadlineError once the deadline passes (closing the request)."""
        for chunk in response.iter_bytes():
            if self.passed():
                raise self.error()
            yield chunk

    def lines(self, response: httpx.Response) -> Iterator[str]:
        """The body's lines (server-sent events) as they arrive, with the deadline checked per chunk, not per line:
        a line that never ends must not hold the call."""
        pending = b""
        for chunk in self.chunks(response):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.rstrip(b"\r").decode("utf-8", "replace")
        if pending:
            yield pending.decode("utf-8", "replace")


def _wire_tool_call(call: dict) -> dict:
    function = call.get("function", call)
    arguments = function.get("arguments", {})
    return {
        "id": call.get("id", ""),
        "type": "function",
        "function": {
            "name": function["name"],
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False),
        },
    }


def _raise_if_error(payload: dict, url: str) -> None:
    """Servers that fail after sending HTTP 200 (mid-stream) put `{"error": {"message": ...}}` in the body."""
    error = payload.get("error")
    if error:
        detail = (error.get("message") or json.dumps(error)) if isinstance(error, dict) else str(error)
        raise ModelServerError(f"the model server at {url} reported an error: {detail[:200]}")


def _call_index(piece: dict, calls: dict[int, dict]) -> int:
    """The tool call a streamed piece belongs to. Ollama leaves out `index`: a new id then starts the next call."""
    if "index" in piece:
        return piece["index"]
    if not calls:
        return 0
    last = max(calls)
    return last + 1 if piece.get("id") and calls[last]["id"] not in (None, piece["id"]) else last


def _read_stream(response: httpx.Response, url: str, deadline: _Deadline) -> tuple[str, list[dict], dict, float | None]:
    """Accumulates server-sent chunks: content deltas, tool-call deltas (arguments arrive in pieces), final usage."""
    content: list[str] = []
    calls: dict[int, dict] = {}
    usage: dict = {}
    first_token_at = None
    for line in deadline.lines(response):
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            break
        chunk = json.loads(data)
        _raise_if_error(chunk, url)
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if (delta.get("content") or delta.get("tool_calls")) and first_token_at is None:
                first_token_at = time.perf_counter()
            content.append(delta.get("content") or "")
            for piece in delta.get("tool_calls") or []:
                blank = {"id": None, "function": {"name": "", "arguments": ""}}
                call = calls.setdefault(_call_index(piece, calls), blank)
                call["id"] = piece.get("id") or call["id"]
                function = piece.get("function") or {}
                call["function"]["name"] += function.get("name") or ""
                call["function"]["arguments"] += function.get("arguments") or ""
    return "".join(content), [calls[i] for i in sorted(calls)], usage, first_token_at
