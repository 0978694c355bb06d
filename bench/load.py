"""Load benchmark: N concurrent operators against one (scripted) model behind the real service over HTTP.

Starts `hmi-agent serve`'s app (uvicorn, 127.0.0.1, free port) around an HmiAgent whose model decisions are
scripted and take --model-seconds per call (like a real model), then lets --operators clients each ask
--questions questions with a screenshot upload, all at once. Prints, per queue bound: answered, refused busy
(503), throughput, p50/p95/max latency of answered questions, and whether every answer has its session record.

    .venv/bin/python bench/load.py                         # 20 operators, queue bounds 8 and 40
    .venv/bin/python bench/load.py --operators 50 --queue 10 --queue 100 --model-seconds 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from agent.scripted import ScriptedModel, tool_call_text  # noqa: E402
from agent.service.app import create_app  # noqa: E402
from agent.settings import Settings  # noqa: E402

ANSWER = tool_call_text("final_answer", {"on_screen": "alarm banner TI-101.HI", "alarm_tag": "TI-101.HI"})


class TimedScript(ScriptedModel):
    """A scripted model decision that takes as long as a real model call would."""

    def __init__(self, seconds: float):
        super().__init__([ANSWER], repeat_last=True)
        self.seconds = seconds

    def generate(self, *args, **kwargs):
        time.sleep(self.seconds)
        return super().generate(*args, **kwargs)


def screenshot_png() -> bytes:
    image = Image.new("RGB", (1280, 800), (200, 200, 200))
    ImageDraw.Draw(image).rectangle((0, 0, 1280, 40), fill=(220, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(settings: Settings, model_seconds: float) -> tuple[uvicorn.Server, threading.Thread, str]:
    from storage.db import open_database
    from tools.alarms import AlarmTools

    app = create_app(settings, model=TimedScript(model_seconds), alarm_tools=AlarmTools(open_database(settings.db_url)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{server.config.port}"


async def operator(client: httpx.AsyncClient, png: bytes, questions: int, results: list) -> None:
    for n in range(questions):
        started = time.perf_counter()
        response = await client.post(
            "/api/ask", data={"question": f"What does this alarm mean? ({n})"}, files={"image": ("hmi.png", png, "image/png")}
        )
        results.append((response.status_code, time.perf_counter() - started, response.json()))


async def run_load(base_url: str, operators: int, questions: int) -> tuple[list, float]:
    png = screenshot_png()
    results: list = []
    limits = httpx.Limits(max_connections=operators + 5)
    async with httpx.AsyncClient(base_url=base_url, timeout=600, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(operator(client, png, questions, results) for _ in range(operators)))
        return results, time.perf_counter() - started


def measure(queue_size: int, args: argparse.Namespace, root: Path) -> dict:
    data = root / f"queue-{queue_size}"
    settings = Settings(data_dir=data, db_url=f"sqlite:///{data / 'alarms.sqlite'}", screen_parse=False, queue_size=queue_size)
    server, thread, url = start_server(settings, args.model_seconds)
    try:
        results, wall = asyncio.run(run_load(url, args.operators, args.questions))
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    answered = [(seconds, body) for status, seconds, body in results if status == 200]
    busy = [body for status, _, body in results if status == 503]
    latencies = sorted(seconds for seconds, _ in answered)
    recorded = {p.name for p in settings.sessions_dir.iterdir()} if settings.sessions_dir.exists() else set()
    sessions_ok = {Path(body["session_dir"]).name for _, body in answered} == recorded
    return {
        "queue": queue_size,
        "requests": len(results),
        "answered": len(answered),
        "busy_503": len(busy),
        "other": len(results) - len(answered) - len(busy),
        "answers/s": len(answered) / wall,
        "p50_s": statistics.median(latencies) if latencies else float("nan"),
        "p95_s": latencies[max(0, int(0.95 * len(latencies)) - 1)] if latencies else float("nan"),
        "max_s": latencies[-1] if latencies else float("nan"),
        "sessions": "all" if sessions_ok else "MISMATCH",
        "example_busy": busy[0]["detail"] if busy else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--questions", type=int, default=3, help="questions per operator, asked one after another")
    parser.add_argument("--model-seconds", type=float, default=0.1, help="time one scripted model call takes")
    parser.add_argument("--queue", type=int, action="append", help="queue bound(s) to try (default 8 and 40)")
    args = parser.parse_args()
    bounds = args.queue or [8, 40]
    print(f"{args.operators} operators x {args.questions} questions, one model call = {args.model_seconds:.2f} s "
          f"(ideal: {1 / args.model_seconds:.1f} answers/s)")
    header = f"{'queue':>5} {'requests':>8} {'answered':>8} {'busy503':>7} {'other':>5} {'answers/s':>9} {'p50 s':>6} {'p95 s':>6} {'max s':>6} {'sessions':>8}"
    print(header)
    examples = []
    with tempfile.TemporaryDirectory() as tmp:
        for bound in bounds:
            row = measure(bound, args, Path(tmp))
            print(f"{row['queue']:>5} {row['requests']:>8} {row['answered']:>8} {row['busy_503']:>7} {row['other']:>5} "
                  f"{row['answers/s']:>9.2f} {row['p50_s']:>6.2f} {row['p95_s']:>6.2f} {row['max_s']:>6.2f} {row['sessions']:>8}")
            if row["example_busy"]:
                examples.append(f"queue {bound}: 503 {row['example_busy']!r}")
    for line in examples:
        print(line)


if __name__ == "__main__":
    main()
