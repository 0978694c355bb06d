"""The OpenAI-compatible backend against a real local HTTP server that checks what vLLM/llama-server would get."""

import base64
import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from perception.vlm.budget import smart_resize, vision_tokens
from perception.vlm.openai_backend import OpenAICompatibleVLM
from perception.vlm.types import ModelOutputError, ModelServerError

TOOLS = [{"type": "function", "function": {"name": "click", "description": "Click.", "parameters": {"type": "object"}}}]
BUDGET = (16 * 32 * 32, 256 * 32 * 32)


class Stub:
    """Answers POST /v1/chat/completions with a scripted reply; keeps every request body."""

    def __init__(self):
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.status = 200
        self.content = "The pump tripped."
        self.tool_calls: list[dict] = []
        self.usage = {"prompt_tokens": 321, "completion_tokens": 7, "total_tokens": 328}

    def chunks(self):
        yield {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
        for word in self.content.split(" "):
            yield {"choices": [{"index": 0, "delta": {"content": word + " "}}]}
        for index, call in enumerate(self.tool_calls):  # arguments arrive in two pieces, as vLLM streams them
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            head = {"name": call["function"]["name"], "arguments": arguments[:half]}
            pieces = [
                {"index": index, "id": call["id"], "function": head},
                {"index": index, "function": {"arguments": arguments[half:]}},
            ]
            for piece in pieces:
                yield {"choices": [{"index": 0, "delta": {"tool_calls": [piece]}}]}
        yield {"choices": [], "usage": self.usage}


@pytest.fixture
def stub():
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            state.headers.append(dict(self.headers))
            if self.path != "/v1/chat/completions" or state.status != 200:
                self.send_response(404 if self.path != "/v1/chat/completions" else state.status)
                self.end_headers()
                self.wfile.write(b'{"error": "model overloaded"}')
                return
            self.send_response(200)
            if body.get("stream"):
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in state.chunks():
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
            else:
                message = {"role": "assistant", "content": state.content, "tool_calls": state.tool_calls or None}
                payload = {"choices": [{"index": 0, "message": message}], "usage": state.usage}
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(payload).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    server.shutdown()
    server.server_close()


def messages(image):
    return [
        {"role": "system", "content": "You are an HMI assistant."},
        {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": "Which alarm?"}]},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "click", "arguments": {"x": 1}}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "clicked"},
    ]


def client(stub, **kwargs):
    return OpenAICompatibleVLM(
        stub.base_url, "Qwen/Qwen3-VL-4B-Instruct", api_key="k", min_pixels=BUDGET[0], max_pixels=BUDGET[1], **kwargs
    )


def test_request_shape_images_tools_and_history(stub):
    client(stub).generate(messages(Image.new("RGB", (1920, 1080), "gray")), TOOLS, max_new_tokens=64)
    body, headers = stub.requests[0], stub.headers[0]
    assert headers["Authorization"] == "Bearer k"
    assert body["model"] == "Qwen/Qwen3-VL-4B-Instruct" and body["max_tokens"] == 64 and body["tools"] == TOOLS
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    image_item, text_item = body["messages"][1]["content"]
    assert text_item == {"type": "text", "text": "Which alarm?"}
    url = image_item["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert sent.size == smart_resize(1920, 1080, *BUDGET)  # resized to the pixel budget before sending
    assert body["messages"][2]["tool_calls"][0]["function"] == {"name": "click", "arguments": '{"x": 1}'}
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "c1", "content": "clicked"}


def test_streamed_reply_with_server_parsed_tool_calls_and_stats(stub):
    stub.content = "Looking."
    function = {"name": "click", "arguments": '{"x": 500, "y": 250}'}
    stub.tool_calls = [{"id": "call_9", "type": "function", "function": function}]
    reply = client(stub).generate(messages(Image.new("RGB", (1280, 800))), TOOLS)
    assert reply.text == "Looking."  # raw holds the calls as Qwen3-VL writes them: what the session records
    assert reply.raw == 'Looking. \n<tool_call>\n{"name": "click", "arguments": {"x": 500, "y": 250}}\n</tool_call>'
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [("call_9", "click", {"x": 500, "y": 250})]
    assert (reply.stats.input_tokens, reply.stats.output_tokens) == (321, 7)
    assert reply.stats.vision_tokens == vision_tokens(1280, 800, *BUDGET)  # the server does not report it
    assert 0 < reply.stats.time_to_first_token_s <= reply.stats.total_s


def test_tool_call_text_in_content_is_parsed_when_the_server_has_no_tool_parser(stub):
    stub.content = 'Sure <tool_call> {"name": "click", "arguments": {"x": 3}} </tool_call>'
    for stream in (True, False):
        reply = client(stub, stream=stream).generate(messages(Image.new("RGB", (64, 64))), TOOLS)
        assert reply.text == "Sure" and [(c.name, c.arguments) for c in reply.tool_calls] == [("click", {"x": 3})]
    assert stub.requests[-1]["stream"] is False and "stream_options" not in stub.requests[-1]


def test_non_streamed_reply_uses_total_time(stub):
    reply = client(stub, stream=False).generate([{"role": "user", "content": "hi"}])
    assert reply.text == "The pump tripped." and reply.stats.vision_tokens == 0
    assert reply.stats.time_to_first_token_s == reply.stats.total_s


def test_malformed_tool_call_in_content_raises_with_raw(stub):
    stub.content = "<tool_call>{'name': 'click'}</tool_call>"
    with pytest.raises(ModelOutputError, match="double quotes") as error:
        client(stub, stream=False).generate([{"role": "user", "content": "hi"}], TOOLS)
    assert error.value.raw == stub.content and error.value.stats.input_tokens == 321


def test_http_error_names_the_url_and_status(stub):
    stub.status = 503
    expected = r"at http://127\.0\.0\.1:\d+/v1/chat/completions answered HTTP 503: .*overloaded"
    with pytest.raises(ModelServerError, match=expected):
        client(stub).generate([{"role": "user", "content": "hi"}])
    wrong_path = OpenAICompatibleVLM(stub.base_url.removesuffix("/v1"), "m")
    with pytest.raises(ModelServerError, match="HTTP 404"):
        wrong_path.generate([{"role": "user", "content": "hi"}])


def test_connection_refused_names_the_url():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(ModelServerError, match=f"cannot reach the model server at {url}/chat/completions"):
        OpenAICompatibleVLM(url, "m", timeout=5).generate([{"role": "user", "content": "hi"}])


def test_an_error_sent_inside_the_stream_is_a_server_error(stub):
    # vLLM and llama-server report failures after the 200 header as a data chunk holding "error"
    error = {"error": {"message": "prompt is too long: 40000 tokens > 32768", "type": "BadRequestError"}}
    stub.chunks = lambda: iter([{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}, error])
    with pytest.raises(ModelServerError, match="prompt is too long"):
        client(stub).generate([{"role": "user", "content": "hi"}])


def test_streamed_tool_calls_without_index_stay_separate_calls(stub):
    # Ollama streams each whole tool call in its own delta and leaves out "index"
    calls = [
        {"id": "call_a", "function": {"name": "click", "arguments": '{"x": 1}'}},
        {"id": "call_b", "function": {"name": "press_key", "arguments": '{"key": "enter"}'}},
    ]
    stub.chunks = lambda: iter([{"choices": [{"index": 0, "delta": {"tool_calls": [c]}}]} for c in calls])
    reply = client(stub).generate([{"role": "user", "content": "hi"}], TOOLS)
    assert [(c.id, c.name, c.arguments) for c in reply.tool_calls] == [
        ("call_a", "click", {"x": 1}), ("call_b", "press_key", {"key": "enter"})
    ]
