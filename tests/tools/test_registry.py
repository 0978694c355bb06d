"""The tool registry: a Google-style docstring becomes the schema, bad arguments go back to the model as text."""

import re
from typing import Annotated

import pytest
from pydantic import Field

from tools.registry import Tool, parse_google_docstring
from tools.result import ToolResult


def look_up(tag: str, limit: Annotated[int, Field(ge=1, le=50)] = 10) -> ToolResult:
    """Looks an alarm tag up.

    Args:
        tag: The alarm tag as read on screen,
            e.g. TIC-101.
        limit: How many rows to return.

    Returns:
        A ToolResult.
    """
    return ToolResult(output=f"{tag}:{limit}")


def test_docstring_is_the_schema():
    schema = Tool.from_function(look_up).schema()["function"]
    assert schema["name"] == "look_up"
    assert schema["description"] == "Looks an alarm tag up."
    props = schema["parameters"]["properties"]
    assert props["tag"] == {"type": "string", "description": "The alarm tag as read on screen, e.g. TIC-101."}
    assert props["limit"]["maximum"] == 50 and props["limit"]["default"] == 10
    assert schema["parameters"]["required"] == ["tag"]


def test_valid_call_runs_the_function():
    assert Tool.from_function(look_up)({"tag": "TIC-101"}).output == "TIC-101:10"


def test_bad_arguments_go_back_to_the_model_as_text():
    result = Tool.from_function(look_up)({"tag": "TIC-101", "limit": 500})
    assert result.error and "limit=500" in result.error
    assert "unexpected=1" in Tool.from_function(look_up)({"tag": "x", "unexpected": 1}).error


def test_docstring_without_args_section():
    assert parse_google_docstring("Just a summary.") == ("Just a summary.", {})


def undocumented_limit(tag: str, limit: int = 10) -> ToolResult:
    """Looks an alarm tag up.

    Args:
        tag: The alarm tag.
    """
    return ToolResult(output=tag)


def stale_docstring(tag: str) -> ToolResult:
    """Looks an alarm tag up.

    Args:
        tag: The alarm tag.
        since: How far back (an argument the function no longer takes).
    """
    return ToolResult(output=tag)


def no_summary(tag: str) -> ToolResult:
    """
    Args:
        tag: The alarm tag.
    """
    return ToolResult(output=tag)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (undocumented_limit, "tool 'undocumented_limit': argument(s) limit have no description"),
        (stale_docstring, "tool 'stale_docstring': the docstring describes since, which the function does not take"),
        (no_summary, "tool 'no_summary' has no docstring summary"),
    ],
    ids=["undocumented argument", "documented argument that is gone", "no summary"],
)
def test_a_tool_with_a_gap_in_its_docstring_is_refused(function, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Tool.from_function(function)


def test_the_real_tool_set_describes_every_argument(tmp_path):
    from agent.tool_binding import build_tools
    from storage.db import open_database
    from tools.actions import ScreenActions
    from tools.alarms import AlarmTools

    alarm_tools = AlarmTools(open_database(f"sqlite:///{tmp_path / 'plant.sqlite'}"))
    tools = build_tools(alarm_tools.tools(), ScreenActions(mode="simulated", screen_size=(640, 400)).tools())
    assert {"alarm_definition", "alarm_history", "click", "type_text", "final_answer"} <= set(tools)
    for name, tool in tools.items():
        function = tool.schema()["function"]
        parameters = function["parameters"]
        assert function["name"] == name and function["description"].strip(), name
        assert parameters["type"] == "object" and parameters["additionalProperties"] is False, name
        assert set(parameters.get("required", [])) <= set(parameters["properties"]), name
        for argument, spec in parameters["properties"].items():
            assert spec.get("description", "").strip(), f"{name}({argument}) has no description"
            assert "title" not in spec, f"{name}({argument})"
