"""From the first command to an answer, as a new user types them: `hmi-agent alarms demo-data`, then
`hmi-agent ask ... --image examples/screens/demo.png`, timing when each progress line appears. The model is a scripted
Qwen-style server on loopback (agent/scripted_server.py) answering at once, so the figures are everything but model time:
process start, imports, OCR, the parser's draft, the tools, recording.

    .venv/bin/python bench/first_answer.py [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.scripted import tool_call_text
from agent.scripted_server import QwenScriptServer

CLI = Path(sys.executable).parent / "hmi-agent"
QUESTION = "What does the red alarm mean and has it happened recently?"
REPLIES = [
    tool_call_text("alarm_definition", {"tag": "TIC-101.HH"}),
    tool_call_text("alarm_history", {"tag": "TIC-101.HH", "since": "30d"}),
    tool_call_text("final_answer", {"on_screen": "TIC-101.HH high-high, 92.4 °C, unacknowledged.", "alarm_tag": "TIC-101.HH"}),
]
MILESTONES = {"thread": "(new)", "screen read": "observe: screen captured", "draft": "draft (", "first tool call": "→ ",
              "answer": "answer ready"}


def timeline(env: dict[str, str]) -> dict[str, float]:
    """Seconds from the command to each milestone's progress line, and to the process's exit."""
    started = time.monotonic()
    process = subprocess.Popen([str(CLI), "ask", QUESTION, "--image", str(ROOT / "examples/screens/demo.png")],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: dict[str, float] = {}
    for line in process.stderr:
        for name, marker in MILESTONES.items():
            if marker in line and name not in seen:
                seen[name] = time.monotonic() - started
    process.stdout.read()
    if process.wait() != 0:
        sys.exit("hmi-agent ask failed")
    seen["exit"] = time.monotonic() - started
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HMI_AGENT_")}
        env.update(HMI_AGENT_DB_URL=f"sqlite:///{scratch}/plant.sqlite", HMI_AGENT_DATA_DIR=f"{scratch}/data",
                   HMI_AGENT_BACKEND="openai", HF_HUB_OFFLINE="1")
        started = time.monotonic()
        subprocess.run([str(CLI), "alarms", "demo-data"], env=env, check=True, capture_output=True)
        print(f"hmi-agent alarms demo-data: {time.monotonic() - started:.1f} s")
        server = QwenScriptServer({"": REPLIES})
        env["HMI_AGENT_OPENAI_BASE_URL"] = server.base_url
        try:
            results = [timeline(env) for _ in range(runs)]
        finally:
            server.close()
    print(f"hmi-agent ask --image demo.png, scripted model (no model time), median of {runs}:")
    for name in [*MILESTONES, "exit"]:
        times = [r[name] for r in results if name in r]
        print(f"  {name:<16} {statistics.median(times):6.1f} s" if times else f"  {name:<16}   (not shown)")


if __name__ == "__main__":
    main()
