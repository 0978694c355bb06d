"""One line per thing the agent does, printed as it happens (stderr), so a question that takes seconds on a CPU is
never silent: observe, the parser's draft, each model turn, each tool call and its result, the answer."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

WIDTH = 110  # a progress line fits a terminal; the full texts are in the session recording


def _short(text: str, width: int = WIDTH) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _arguments(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in arguments.items())


class Progress:
    """Renders AgentEvents as timed one-liners; an event kind it does not know is still shown, generically."""

    def __init__(self, out: TextIO | None = None, clock=time.monotonic, enabled: bool = True) -> None:
        self.out = out or sys.stderr
        self.clock = clock
        self.started = clock()
        self.enabled = enabled  # --json: machine output, no progress lines
        self._answer_calls: set[str] = set()  # final_answer's tool-call ids: its result is the answer, shown once

    def say(self, text: str) -> None:
        if self.enabled:
            print(f"[{self.clock() - self.started:5.1f}s] {text}", file=self.out, flush=True)

    def follow(self, events: Iterable[Any]) -> Iterator[Any]:
        """Passes the events through, printing each."""
        for event in events:
            line = self.line(event.kind, event.data)
            if line:
                self.say(line)
            yield event

    def line(self, kind: str, data: dict[str, Any]) -> str | None:
        render = getattr(self, f"_{kind}", None)
        if render is not None:
            return render(data)
        return f"{kind}: {_short(json.dumps(data, ensure_ascii=False, default=str))}"

    @staticmethod
    def _step(data: dict[str, Any]) -> str:
        what = {"observe": "screen captured and read", "verify": "screen checked after the action"}
        node = data.get("node", "step")
        return f"{node}: {what.get(node, 'done')} (step {data.get('steps') or 0})"

    @staticmethod
    def _draft(data: dict[str, Any]) -> str:
        text = data.get("text") or data.get("on_screen") or ""
        lines = [line for line in str(text).splitlines() if line.strip()]
        shown = "\n         ".join(_short(line) for line in lines[:6])
        return f"draft (screen parser, before the model):\n         {shown}" if shown else "draft: nothing to say yet"

    @staticmethod
    def _model(data: dict[str, Any]) -> str | None:
        text = (data.get("text") or "").strip()
        usage = data.get("usage") or {}
        tokens = f" [{usage['output_tokens']} tokens]" if usage.get("output_tokens") else ""
        return f"model: {_short(text)}{tokens}" if text else (f"model replied{tokens}" if tokens else None)

    def _tool_call(self, data: dict[str, Any]) -> str | None:
        if data.get("name") == "final_answer":  # the answer itself follows, rendered for people
            self._answer_calls.add(data.get("id"))
            return None
        return f"→ {data.get('name')}: {_short(_arguments(data.get('arguments') or {}))}"

    def _tool_result(self, data: dict[str, Any]) -> str | None:
        if data.get("id") in self._answer_calls and not data.get("error"):
            return None
        lines = [line.strip() for line in str(data.get("text", "")).splitlines() if line.strip()]
        first = " ".join(lines[:2]) if len(lines) > 1 and lines[0].endswith(":") else (lines or [""])[0]  # a heading
        flagged = data.get("error") and not first.lower().startswith("error")
        return f"  ← {'error: ' if flagged else ''}{_short(first, WIDTH - 4)}"

    @staticmethod
    def _approval(data: dict[str, Any]) -> str:
        action = data.get("action") or {}
        return f"waiting for approval: {_short(action.get('reason') or data.get('name') or 'a live action')}"

    @staticmethod
    def _answer(data: dict[str, Any]) -> str:
        return "answer ready" + (" (from the screen parser)" if data.get("source") == "parser" else "")
