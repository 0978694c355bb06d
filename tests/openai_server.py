"""A scripted OpenAI-compatible model server on loopback, for the hardening tests: each reply is a list of tool
calls sent *structured* (`delta.tool_calls`, as vLLM with a tool parser does), and the server can trickle its
stream a byte at a time, as a stuck or hostile server would."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ScriptedServer:
    def __init__(self, replies: list[list[tuple[str, dict]]], *, trickle_s: float = 0.0):
        self.replies = replies  # per request: [(tool name, arguments), ...]; the last repeats
        self.trickle_s = trickle_s  # seconds between bytes; 0 = send at once
        self.requests: list[dict] = []
        self.url = ""

    def stream(self, index: int) -> bytes:
        calls = self.replies[min(index, len(self.replies) - 1)]
        chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
        for n, (name, arguments) in enumerate(calls):
            piece = {"index": n, "id": f"call-{index}-{n}", "type": "function",
                     "function": {"name": name, "arguments": json.dumps(arguments)}}
            chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": [piece]}}]})
        chunks.append({"choices": [], "usage": {"prompt_tokens": 100, "completion_tokens": 20}})
        return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"


@contextmanager
def serve(server: ScriptedServer) -> Iterator[ScriptedServer]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append(body)
            payload = server.stream(len(server.requests) - 1)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                if not server.trickle_s:
                    self.wfile.write(payload)
                    return
                for byte in payload:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(server.trickle_s)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on us: what a deadline does

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http.daemon_threads = True
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{http.server_address[1]}/v1"
    try:
        yield server
    finally:
        http.shutdown()
        http.server_close()
