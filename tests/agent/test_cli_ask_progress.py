"""`hmi-agent ask` as a user runs it: the real CLI in a subprocess, the real screen parser on the demo screen, the
OpenAI-compatible backend talking to a scripted Qwen-style server on loopback (only the model's decisions are
scripted). Progress lines arrive while the model is still thinking; the thread id is printed for follow-ups; an
unknown thread is refused before anything loads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Self

import pytest

from agent.scripted import tool_call_text
from agent.scripted_server import QwenScriptServer
from storage.db import open_database
from storage.importing import import_file

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "screens" / "demo.png"
CLI = Path(sys.executable).parent / "hmi-agent"
MODEL_DELAY_S = 1.5

REPLIES = [
    tool_call_text("alarm_definition", {"tag": "TIC-101.HH"}, text="The banner shows TIC-101.HH, critical, unacknowledged."),
    tool_call_text("alarm_history", {"tag": "TIC-101.HH", "since": "30d"}),
    tool_call_text("final_answer", {
        "on_screen": "TIC-101.HH reactor R1 temperature high-high, 92.4 °C, unacknowledged.", "alarm_tag": "TIC-101.HH",
        "meaning": "R-101 reactor temperature above its 90 °C high-high limit; the interlock cuts the feed.",
        "recommended_action": "Check the cooling water pump and valve, put the controller in AUTO."}),
]

pytestmark = pytest.mark.slow  # each question is a fresh process: imports, OCR and scripted model turns


class ThinkingServer(QwenScriptServer):
    """Takes `delay_s` per reply, as a model on a CPU does: progress must show before the answer."""

    def __init__(self, replies: list[str], delay_s: float = 0.0) -> None:
        super().__init__({"": replies})
        self.delay_s = delay_s

    def answer(self, handler, body: dict) -> None:
        time.sleep(self.delay_s)
        super().answer(handler, body)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.fixture
def user_env(tmp_path) -> dict[str, str]:
    db = open_database(f"sqlite:///{tmp_path / 'plant.sqlite'}")
    import_file(db, ROOT / "examples" / "plant" / "definitions.csv")
    import_file(db, ROOT / "examples" / "plant" / "journal.csv")
    db.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HMI_AGENT_")}
    env.update(HMI_AGENT_DB_URL=f"sqlite:///{tmp_path / 'plant.sqlite'}", HMI_AGENT_DATA_DIR=str(tmp_path / "data"),
               HMI_AGENT_BACKEND="openai", HF_HUB_OFFLINE="1", COLUMNS="120")
    return env


def _ask(env: dict[str, str], server: ThinkingServer, *args: str) -> tuple[int, str, list[tuple[float, str]], float]:
    """Runs the CLI; returns (exit code, stdout, [(seconds since start, stderr line)], seconds to exit)."""
    env = {**env, "HMI_AGENT_OPENAI_BASE_URL": server.base_url}
    started = time.monotonic()
    process = subprocess.Popen([str(CLI), "ask", *args], env=env, cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[tuple[float, str]] = []

    def read_stderr():
        for line in process.stderr:
            lines.append((time.monotonic() - started, line.rstrip("\n")))

    reader = threading.Thread(target=read_stderr)
    reader.start()
    out = process.stdout.read()
    code = process.wait(timeout=120)
    reader.join()
    return code, out, lines, time.monotonic() - started


def _first(lines: list[tuple[float, str]], text: str) -> float:
    return next(at for at, line in lines if text in line)


def test_ask_prints_each_step_as_it_happens_then_the_answer_and_its_thread_id(user_env):
    with ThinkingServer(REPLIES, delay_s=MODEL_DELAY_S) as server:
        code, out, lines, took = _ask(user_env, server, "What does the red alarm mean?", "--image", str(DEMO))
    text = "\n".join(line for _, line in lines)
    assert code == 0, text
    assert "observe: capturing and reading the screen" in text and "observe: screen captured and read" in text
    assert "draft (screen parser, before the model)" in text and "TIC-101.HH" in text
    assert "model: The banner shows TIC-101.HH, critical, unacknowledged." in text
    assert "→ alarm_definition: tag=TIC-101.HH" in text and "→ alarm_history: tag=TIC-101.HH, since=30d" in text
    assert "  ← " in text and "final_answer" not in text  # the answer is shown once, for people, not as JSON
    # streamed: the first lookup was on screen while the model still had two turns to think
    assert _first(lines, "→ alarm_definition") < took - 2 * MODEL_DELAY_S + 0.5
    assert _first(lines, "observe: screen captured") < _first(lines, "→ alarm_definition")
    assert "R-101 reactor temperature above its 90 °C high-high limit" in out
    thread = next(line.split()[1] for line in out.splitlines() if line.startswith("thread: "))
    assert len(thread) == 32 and f"hmi-agent ask --thread {thread}" in out
    assert "session: " in out


def test_a_follow_up_continues_its_thread_and_an_unknown_thread_is_refused(user_env):
    user_env = {**user_env, "HMI_AGENT_SCREEN_PARSE": "false"}  # threads only: no OCR, quicker
    with ThinkingServer(REPLIES[2:]) as server:
        code, out, _, _ = _ask(user_env, server, "What does the red alarm mean?", "--image", str(DEMO))
        assert code == 0
        thread = next(line.split()[1] for line in out.splitlines() if line.startswith("thread: "))
        code, out, lines, _ = _ask(user_env, server, "And what should I check first?", "--image", str(DEMO),
                                   "--thread", thread)
        assert code == 0 and f"thread: {thread}" in out
        assert any(f"thread {thread} (follow-up)" in line for _, line in lines)
        asked = len(server.requests)
        code, out, lines, _ = _ask(user_env, server, "And now?", "--thread", "3f2a9c-typo")
    assert code == 2 and out == ""
    assert [line for _, line in lines] == [(
        f"hmi-agent: error: unknown thread '3f2a9c-typo': no conversation with that id in "
        f"{user_env['HMI_AGENT_DATA_DIR']}/threads.sqlite; leave out --thread to start one")]
    assert len(server.requests) == asked  # refused before the model was asked anything


@pytest.mark.xvfb
def test_a_live_action_shows_as_waiting_for_approval_and_a_no_at_the_prompt_rejects_it(xvfb, user_env):
    replies = [tool_call_text("click", {"x": 100, "y": 100}, text="I will press ACK."),
               tool_call_text("final_answer", {"on_screen": "Nothing was clicked: the operator said no."})]
    env = {**user_env, "HMI_AGENT_ACTION_MODE": "live", "HMI_AGENT_SCREEN_PARSE": "false"}
    with ThinkingServer(replies) as server:
        process = subprocess.run([str(CLI), "ask", "Acknowledge the alarm", "--screen", "1"], input="n\n", text=True,
                                 env={**env, "HMI_AGENT_OPENAI_BASE_URL": server.base_url}, cwd=ROOT,
                                 capture_output=True, timeout=120, check=False)
    assert process.returncode == 0, process.stderr
    assert "→ click: x=100, y=100" in process.stderr and "waiting for approval: left-click" in process.stderr
    assert "  ← ERROR: The operator" in process.stderr and "rejected this action" in process.stderr
    assert "Approve live action: left-click" in process.stdout  # typer's prompt, answered "n"
    assert "Nothing was clicked: the operator said no." in process.stdout and "thread: " in process.stdout
