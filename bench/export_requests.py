"""Writes the exact model requests of recorded example sessions to bench/answer_requests/ for bench/gpu_model.py.

The GPU benchmark's "answer" measurement sends a real-size Qwen3-VL what the agent really sends: the system prompt,
the tool schemas, the operator's question with the screen parser's hints, the screenshots, the tool results. Those
come from replaying `examples/sessions/` through the current agent code, captured at the model's door, so the GPU
machine needs none of the agent's packages (langgraph, SQLAlchemy, ...) to replay them.

    .venv/bin/python -m bench.export_requests          # after a prompt or tool-schema change (a test checks)
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = Path(__file__).resolve().parent / "answer_requests"
# ack-simulated is the case: one screenshot, one grounded click, then the answer. alarm-meaning-en looks up
# the alarm's definition and history before answering (three turns).
SESSIONS = ("ack-simulated", "alarm-meaning-en")


def capture(session_dir: Path) -> list[dict[str, Any]]:
    """The model calls a strict replay of the session makes: messages (PIL images), tool schemas, recorded reply."""
    from agent.replay import RecordedModel, replay_session

    calls: list[dict[str, Any]] = []
    recorded_generate = RecordedModel.generate

    def capturing(self, messages, tools=None, *, max_new_tokens=512, **limits):
        reply = recorded_generate(self, messages, tools, max_new_tokens=max_new_tokens, **limits)
        calls.append({"messages": messages, "tools": tools, "reply": reply.raw, "max_new_tokens": max_new_tokens})
        return reply

    with patch.object(RecordedModel, "generate", capturing):
        report = replay_session(session_dir, strict=True)
    if not report.ok:
        raise RuntimeError(f"{session_dir.name} no longer replays:\n{report.text()}")
    return calls


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def to_json(calls: list[dict[str, Any]], images: dict[str, bytes]) -> list[dict[str, Any]]:
    """Images become {"type": "image", "file": NAME} (named by content hash, collected in `images`); random tool-call
    ids become call_1, call_2, ... so the export is the same on every run."""
    call_ids: dict[str, str] = {}

    def item(value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("image"), Image.Image):
            data = _png(value["image"])
            name = f"screen-{hashlib.sha256(data).hexdigest()[:12]}.png"
            images[name] = data
            return {"type": "image", "file": name}
        if isinstance(value, dict):
            return {key: (call_ids.setdefault(inner, f"call_{len(call_ids) + 1}") if key in ("id", "tool_call_id")
                          else item(inner)) for key, inner in value.items()}
        if isinstance(value, list):
            return [item(inner) for inner in value]
        return value

    return [item(call) for call in calls]


def export(out_dir: Path = OUT_DIR) -> dict[str, Any]:
    """Captures every session in SESSIONS; writes requests.json and the screenshots into out_dir."""
    from agent.recording import load_manifest

    images: dict[str, bytes] = {}
    sessions, agent_seconds = {}, {}
    for name in SESSIONS:
        folder = ROOT / "examples" / "sessions" / name
        sessions[name] = to_json(capture(folder), images)
        # graph nodes' own time when it was recorded with a scripted model: what a real model's time adds to
        nodes = [e["seconds"] for e in load_manifest(folder)["events"] if e["kind"] == "node"]
        agent_seconds[name] = round(sum(nodes), 3)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in set(out_dir.glob("screen-*.png")) - {out_dir / name for name in images}:
        stale.unlink()  # a screenshot no recorded request shows any more
    for name, data in images.items():
        (out_dir / name).write_bytes(data)
    document = {"about": "model requests of recorded sessions, exported by bench/export_requests.py",
                "agent_seconds": agent_seconds, "sessions": sessions}
    (out_dir / "requests.json").write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    return document


if __name__ == "__main__":
    document = export()
    for session, calls in document["sessions"].items():
        print(f"{session}: {len(calls)} model calls")
    print(f"written to {OUT_DIR.relative_to(ROOT)}/")
