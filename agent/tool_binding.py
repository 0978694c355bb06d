"""The tools the model gets: the plant's alarm tools, the screen actions, and final_answer (how it ends a question)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from tools.registry import Tool
from tools.result import ToolResult

FINAL_ANSWER = "final_answer"


def final_answer(
    on_screen: Annotated[str, Field(min_length=1, max_length=2000)],
    alarm_tag: str | None = None,
    meaning: str | None = None,
    recent_history: str | None = None,
    recommended_action: str | None = None,
    element_ids: list[int] | None = None,
) -> ToolResult:
    """Gives the operator the answer and ends the question. Write every text in the operator's language.

    Args:
        on_screen: What the screen shows that matters for the question.
        alarm_tag: The alarm tag the question is about, e.g. TI-101.HI, if any.
        meaning: What the alarm means, from alarm_definition.
        recent_history: How often and when it happened recently, from alarm_history.
        recommended_action: What the operator should do now.
        element_ids: Numbers of the screen elements the answer rests on.
    """
    arguments = dict(
        on_screen=on_screen,
        alarm_tag=alarm_tag,
        meaning=meaning,
        recent_history=recent_history,
        recommended_action=recommended_action,
        element_ids=element_ids or [],
    )
    return ToolResult(output="Answer given to the operator.", data=arguments)


def build_tools(*tool_lists: list[Tool]) -> dict[str, Tool]:
    """All tools by name, final_answer last; a name clash is our bug."""
    tools: dict[str, Tool] = {}
    for tool in [t for tools_ in tool_lists for t in tools_] + [Tool.from_function(final_answer)]:
        if tool.name in tools:
            raise ValueError(f"two tools are named {tool.name!r}")
        tools[tool.name] = tool
    return tools


def schemas(tools: dict[str, Tool]) -> list[dict[str, Any]]:
    return [tool.schema() for tool in tools.values()]
