"""A scripted Qwen-style model server for tests and benches: OpenAI-compatible `/v1/chat/completions` on loopback,
streamed like vLLM.

The *decisions* are scripted (the model's replies per question), everything else is the real wire: the service's
OpenAICompatibleVLM sends the real requests (images, tools, history) and parses the replies. A reply is either raw
Qwen3-VL text (`<tool_call>{...}</tool_call>` in the content, as vLLM sends it without a tool parser) or a
structured tool call (`StructuredCall`, as vLLM's hermes parser sends it). The script is picked by the newest
question in the conversation that contains one of its keywords; the turn is how many assistant replies follow it,
so follow-ups and approvals resume where they should, in any order, against one server.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class StructuredCall:
    """A tool call sent in the OpenAI `tool_calls` field, with the model's words before it."""

    name: str
    arguments: dict[str, Any]
    text: str = ""


@dataclass(frozen=True)
class ServerError:
    """An HTTP error status, as an overloaded server answers."""

    status: int = 500


Reply = str | StructuredCall | ServerError


class QwenScriptServer:
    def __init__(self, scripts: dict[str, list[Reply]]) -> None:
        self.scripts = scripts
        self.requests: list[dict] = []
        state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                state.requests.append(body)
                state.answer(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reply_for(self, messages: list[dict]) -> Reply:
        for index in range(len(messages) - 1, -1, -1):
            text = _text(messages[index])
            if messages[index]["role"] != "user" or "Operator's question:" not in text:
                continue  # a tool result, a verification or a correction: not the question
            script = self.scripts[next((k for k in self.scripts if k and k in text), "")]
            turn = sum(1 for m in messages[index + 1 :] if m["role"] == "assistant")
            return script[min(turn, len(script) - 1)]
        raise ValueError("no operator's question in the conversation")

    def answer(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        reply = self.reply_for(body["messages"])
        if isinstance(reply, ServerError):
            handler.send_response(reply.status)
            handler.send_header("Content-Type", "application/json")
            handler.end_headers()
            handler.wfile.write(b'{"error": {"message": "model overloaded, try again later"}}')
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        for chunk in _chunks(reply):
            handler.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
        handler.wfile.write(b"data: [DONE]\n\n")


def _text(message: dict) -> str:
    content = message.get("content") or ""
    if isinstance(content, str):
        return content
    return " ".join(item.get("text", "") for item in content if isinstance(item, dict))


def _chunks(reply: str | StructuredCall):
    yield {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
    text = reply if isinstance(reply, str) else reply.text
    for start in range(0, len(text), 24):  # streamed in pieces, as a server does
        yield {"choices": [{"index": 0, "delta": {"content": text[start : start + 24]}}]}
    if isinstance(reply, StructuredCall):
        call = {
            "index": 0,
            "id": f"call_{uuid.uuid4().hex[:8]}",
            "type": "function",
            "function": {"name": reply.name, "arguments": json.dumps(reply.arguments, ensure_ascii=False)},
        }
        yield {"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}
    yield {"choices": [], "usage": {"prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940}}
