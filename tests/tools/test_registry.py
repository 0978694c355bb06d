"""The tool registry: a Google-style docstring becomes the schema, bad arguments go back to the model as text."""

from typing import Annotated

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
