"""Recorded sessions (agent/recording.py folders) as summaries for listings and manifests for step-by-step replay."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from agent.recording import MANIFEST, load_manifest
from agent.session_files import ManifestError, confined

_SAFE_NAME = re.compile(r"^[\w][\w.-]{0,127}$")  # session ids and frame files: no separators, no "..", no hidden


class SessionSummary(BaseModel):
    id: str
    question: str = ""
    thread_id: str | None = None
    model_id: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    steps: int | None = None
    events: int = 0
    answer: str | None = None
    # answered | limited | failed | unfinished (running, waiting for an approval, or cut off)
    status: str = "unfinished"


class SessionStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def list(self, limit: int = 100) -> list[SessionSummary]:
        """Newest first (session ids start with their UTC start time). Unreadable folders are skipped."""
        if not self.root.is_dir():
            return []
        folders = sorted(
            (p for p in self.root.iterdir() if (p / MANIFEST).is_file()), key=lambda p: p.name, reverse=True
        )
        summaries = []
        for folder in folders[:limit]:
            try:
                confined(self.root, f"{folder.name}/{MANIFEST}")
                summaries.append(summarize(load_manifest(folder)))
            except (ValueError, OSError):
                continue
        return summaries

    def manifest(self, session_id: str) -> dict[str, Any]:
        """Raises KeyError for an unknown (or unsafe) id."""
        folder = self._folder(session_id)
        try:
            confined(folder, MANIFEST)
            return load_manifest(folder)
        except (FileNotFoundError, ValueError):  # ManifestError included: missing, or a link out of the folder
            raise KeyError(session_id) from None

    def file(self, session_id: str, name: str) -> Path:
        """A frame or action picture of a session; raises KeyError when it isn't one."""
        if not _SAFE_NAME.match(name) or not name.endswith(".png"):
            raise KeyError(name)
        try:  # resolved: a symlink in the folder must not serve a file from elsewhere
            return confined(self._folder(session_id), name)
        except ManifestError:
            raise KeyError(name) from None

    def _folder(self, session_id: str) -> Path:
        if not _SAFE_NAME.match(session_id):
            raise KeyError(session_id)
        folder = (self.root / session_id).resolve()
        if not folder.is_relative_to(self.root.resolve()) or not folder.is_dir():
            raise KeyError(session_id)
        return folder


def summarize(manifest: dict[str, Any]) -> SessionSummary:
    answer = manifest.get("answer") or {}
    return SessionSummary(
        id=manifest["id"],
        question=manifest.get("question", ""),
        thread_id=manifest.get("thread_id"),
        model_id=manifest.get("model_id"),
        started_at=manifest.get("started_at"),
        finished_at=manifest.get("finished_at"),
        steps=manifest.get("steps"),
        events=len(manifest.get("events", [])),
        answer=answer.get("text") if isinstance(answer, dict) else None,
        status=_status(manifest, answer),
    )


def _status(manifest: dict[str, Any], answer: Any) -> str:
    if manifest.get("error"):
        return "failed"
    if isinstance(answer, dict) and answer:
        return "limited" if answer.get("limited") else "answered"
    return "unfinished"
