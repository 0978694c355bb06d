"""Replaying a session's draft answer (agent/draft.py): the draft is composed again by the current code from the
recorded frame and the recorded tool results (with their data), and compared with the recorded draft. A session
answered by the draft alone (no model) replays without a model; one recorded before drafts existed, without one."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from tools.result import Citation, ToolResult


class RecordedDraft:
    def __init__(self, manifest: dict[str, Any], mismatch: Callable[[str, int | None, str], None]):
        self.event = next((e for e in manifest["events"] if e["kind"] == "draft"), None)
        self.lookups = deque(self.event["lookups"] if self.event else [])
        self.mismatch = mismatch

    def agent_kwargs(self, model: Any) -> dict[str, Any]:
        """HmiAgent arguments: drafts only when one was recorded; no model when the draft was the answer."""
        kwargs: dict[str, Any] = {"model": model, "drafts": self.event is not None, "draft_lookup": self.lookup}
        notes = self.event.get("model_notes") if self.event else None
        if notes is not None:
            kwargs.update(model=None, model_note=notes[0] if notes else "no model")
        return kwargs

    def lookup(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        if not self.lookups:
            self.mismatch("tool", 0, f"the draft called {name}({arguments}), which the recorded draft did not")
            return ToolResult(error=f"{name} has no recorded result")
        recorded = self.lookups.popleft()
        if (recorded["name"], recorded["arguments"]) != (name, arguments):
            self.mismatch(
                "tool", 0, f"the draft called {name}({arguments}), recorded {recorded['name']}({recorded['arguments']})"
            )
        citations = tuple(Citation(**c) for c in recorded.get("citations") or ())
        return ToolResult(
            output=recorded["output"], error=recorded["error"], data=recorded["data"], citations=citations
        )

    def check(self, replayed: dict[str, Any] | None) -> None:
        """The replayed draft (Answer dump, or None) against the recorded one."""
        if self.event is None:
            return
        if self.lookups:
            self.mismatch("tool", 0, f"{len(self.lookups)} recorded draft tool call(s) were not made")
        recorded = self.event["answer"]
        if replayed != recorded:
            self.mismatch("answer", 0, f"draft differs: recorded {recorded}, replayed {replayed}")
