"""How `ask` renders agent events as progress lines: one line each, final_answer never as JSON, and an event kind
the CLI has no renderer for (a node added later) still shown."""

from __future__ import annotations

import io

from agent.cli.progress import WIDTH, Progress
from agent.runner import AgentEvent


def _lines(*events: AgentEvent) -> list[str]:
    out = io.StringIO()
    progress = Progress(out=out, clock=lambda: 0.0)
    list(progress.follow(events))
    return out.getvalue().splitlines()


def test_an_event_kind_without_a_renderer_is_shown_generically():
    future = AgentEvent.model_construct(kind="verdict", data={"agrees": False, "note": "the model read TIC-1O1"})
    assert _lines(future) == [
        '[  0.0s] verdict: {"agrees": false, "note": "the model read TIC-1O1"}']


def test_final_answer_call_and_its_result_are_not_printed_but_other_calls_are_one_line_each():
    lines = _lines(
        AgentEvent(kind="tool_call", data={"name": "alarm_history", "arguments": {"tag": "TIC-101.HH", "since": "30d"}, "id": "a"}),
        AgentEvent(kind="tool_result", data={"id": "a", "text": "TIC-101.HH (area Reactor), window:\n22 activation(s)\n" + "x" * 500, "error": False}),
        AgentEvent(kind="tool_call", data={"name": "final_answer", "arguments": {"on_screen": "…"}, "id": "b"}),
        AgentEvent(kind="tool_result", data={"id": "b", "text": "Answer given to the operator.", "error": False}),
    )
    assert lines == ["[  0.0s] → alarm_history: tag=TIC-101.HH, since=30d",
                     "[  0.0s]   ← TIC-101.HH (area Reactor), window: 22 activation(s)"]


def test_a_long_model_text_is_cut_to_one_line():
    (line,) = _lines(AgentEvent(kind="model", data={"text": "word " * 100 + "\nsecond line", "usage": None}))
    assert len(line) <= len("[  0.0s] model: ") + WIDTH and line.endswith("…")
