"""Session recording (simonw/llm style: every prompt and reply kept): one folder per question under
`settings.sessions_dir/<id>/` with `manifest.json` and the frames (and action pictures) as PNG.

The manifest holds the question, a settings summary, the model id, and the events in order: frames shown, model
calls (request summary + its hash, the RAW reply text, stats, seconds), tool calls with their results, approvals,
node timings, and the final answer. Request summaries keep message roles, texts, image sizes and tool names — not
the pixels a second time — and their hash is what replay compares to detect a drifted prompt.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perception.frames import Frame
from tools.result import ToolResult

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def summarize_request(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> dict[str, Any]:
    """What the model was asked, without pixels or random tool-call ids: stable across runs of the same session."""
    summary = []
    for message in messages:
        content = message.get("content") or ""
        items = [{"type": "text", "text": content}] if isinstance(content, str) else content
        entry: dict[str, Any] = {
            "role": message["role"],
            "text": "\n".join(i["text"] for i in items if i.get("type") == "text"),
            "images": [list(i["image"].size) for i in items if i.get("type") == "image"],
        }
        if message.get("tool_calls"):
            entry["tool_calls"] = [[c["function"]["name"], c["function"]["arguments"]] for c in message["tool_calls"]]
        summary.append(entry)
    schemas = json.dumps(tools or [], sort_keys=True, ensure_ascii=False)
    return {
        "messages": summary,
        "tools": [t["function"]["name"] for t in tools or []],
        "tools_sha256": hashlib.sha256(schemas.encode()).hexdigest()[:16],
    }


def request_hash(summary: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(summary, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def new_session_id(kind: str = "", now: datetime | None = None) -> str:
    """UTC start time to the millisecond first, so listing folders by name lists sessions in start order."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}.{now.microsecond // 1000:03d}-{kind + '-' if kind else ''}{uuid.uuid4().hex[:6]}"


class SessionRecorder:
    """Writes one session folder; the manifest is rewritten (atomically) after every event so a crash loses nothing."""

    def __init__(self, root: Path, *, session_id: str | None = None) -> None:
        self.id = session_id or new_session_id()
        self.dir = Path(root) / self.id
        self.dir.mkdir(parents=True, exist_ok=False)
        self.manifest: dict[str, Any] = {"version": FORMAT_VERSION, "id": self.id, "events": [], "frames": []}
        self._last_frame: tuple[str, str] | None = None  # (png sha, file) so a re-grabbed still photo is stored once

    @classmethod
    def reopen(cls, session_dir: Path) -> SessionRecorder:
        """Continues an existing session (an approval decided after its run context was evicted or the service
        restarted): later events are appended to its manifest."""
        session_dir = Path(session_dir)
        recorder = cls.__new__(cls)
        recorder.manifest = load_manifest(session_dir)
        recorder.id, recorder.dir, recorder._last_frame = recorder.manifest["id"], session_dir, None
        return recorder

    def start(self, *, question: str, thread_id: str, language: str, model_id: str, settings: dict[str, Any]) -> None:
        self.manifest.update(
            question=question,
            thread_id=thread_id,
            language=language,
            model_id=model_id,
            settings=settings,
            started_at=datetime.now(UTC).isoformat(),
        )
        self._write()

    def frame(self, frame: Frame, *, step: int, node: str, png: bytes | None = None) -> str:
        png = png or frame.png_bytes()
        digest = hashlib.sha256(png).hexdigest()
        if self._last_frame and self._last_frame[0] == digest:
            name = self._last_frame[1]
        else:
            name = f"frame-{len(self.manifest['frames']) + 1:03d}.png"
            (self.dir / name).write_bytes(png)
            self.manifest["frames"].append(
                {"file": name, "source": frame.source, "geometry": asdict(frame.geometry) if frame.geometry else None}
            )
            self._last_frame = (digest, name)
        self._event("frame", step=step, node=node, file=name)
        return name

    def view(self, *, step: int, view: dict[str, Any]) -> None:
        """The region of the last frame the model was shown (perception/view.py): its coordinates are on it."""
        self._event("view", step=step, view=view)

    def model_call(
        self,
        *,
        step: int,
        summary: dict[str, Any],
        raw: str | None,
        stats: dict | None,
        error: str | None,
        seconds: float,
    ) -> None:
        self._event(
            "model",
            step=step,
            request=summary,
            request_sha256=request_hash(summary),
            raw=raw,
            stats=stats,
            error=error,
            seconds=round(seconds, 4),
        )

    def tool_call(
        self,
        *,
        step: int,
        name: str,
        arguments: dict[str, Any],
        result: ToolResult,
        seconds: float,
        planned: dict | None = None,
        executed: bool = False,
        approved_by: str | None = None,
    ) -> None:
        image = None
        if result.image:
            image = f"tool-{len(self.manifest['events']) + 1:03d}.png"
            (self.dir / image).write_bytes(result.image)
        self._event(
            "tool",
            step=step,
            name=name,
            arguments=arguments,
            output=result.output,
            error=result.error,
            image=image,
            planned=planned,
            executed=executed,
            approved_by=approved_by,
            seconds=round(seconds, 4),
            **({"citations": [asdict(c) for c in result.citations]} if result.citations else {}),
        )

    def approval(
        self,
        *,
        step: int,
        planned: dict,
        decision: Any,
        operator: str,
        note: str | None = None,
        approval_id: str | None = None,
    ) -> None:
        """`operator`: who decided, as the service authenticated them; `note`: what the request said, unverified."""
        self._event(
            "approval",
            step=step,
            planned=planned,
            decision=decision,
            operator=operator,
            note=note,
            approval_id=approval_id,
        )

    def draft(
        self, *, step: int, answer: dict[str, Any], lookups: list[dict[str, Any]], model_notes: list[str] | None
    ) -> None:
        """The screen parser's draft answer and the tool calls it made (with their data: replay composes it again);
        `model_notes`: why there was no model (the draft was the answer), None when a model followed."""
        self._event("draft", step=step, answer=answer, lookups=lookups, model_notes=model_notes)

    def node(self, name: str, *, step: int, seconds: float) -> None:
        self._event("node", step=step, name=name, seconds=round(seconds, 4))

    def finish(self, answer: dict[str, Any], *, steps: int) -> None:
        self.manifest.update(answer=answer, steps=steps, finished_at=datetime.now(UTC).isoformat())
        self._write()

    def fail(self, error: str) -> None:
        """The question ended with an error instead of an answer (model server down, screen gone, ...)."""
        self.manifest.update(error=error[:2000], finished_at=datetime.now(UTC).isoformat())
        self._write()

    def _event(self, kind: str, **fields: Any) -> None:
        self.manifest["events"].append({"kind": kind, **fields})
        self._write()

    def _write(self) -> None:
        tmp = self.dir / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(self.manifest, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
        os.replace(tmp, self.dir / MANIFEST)


def load_manifest(session_dir: Path) -> dict[str, Any]:
    path = Path(session_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{session_dir} is not a recorded session: {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:  # not UTF-8 or not JSON: a damaged or foreign file
        raise ValueError(f"{path} is not a session manifest: {e}") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path} is not a session manifest: expected a JSON object")
    if manifest.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: session format version {manifest.get('version')!r}, expected {FORMAT_VERSION}")
    return manifest
