"""Every shape of Qwen3-VL output we have to read: tool calls and grounding JSON, tidy or not."""

import pytest

from perception.vlm.parsing import Grounding, parse_grounding, parse_tool_calls, strip_thinking
from perception.vlm.types import ModelOutputError


def test_single_tool_call_with_text_around_it():
    text, calls = parse_tool_calls(
        'Let me look that up.\n<tool_call>\n{"name": "alarm_history", "arguments": {"tag": "TIC-101"}}\n</tool_call>'
    )
    assert text == "Let me look that up."
    assert [(c.name, c.arguments) for c in calls] == [("alarm_history", {"tag": "TIC-101"})]
    assert calls[0].id.startswith("call_")


def test_several_calls_keep_their_order_and_get_distinct_ids():
    _, calls = parse_tool_calls(
        '<tool_call>{"name": "a", "arguments": {}}</tool_call>\n'
        '<tool_call>{"name": "b", "arguments": {"x": 1}}</tool_call> done'
    )
    assert [c.name for c in calls] == ["a", "b"] and calls[0].id != calls[1].id


def test_missing_closing_tag_at_the_end_and_fenced_json():
    _, calls = parse_tool_calls('<tool_call>\n```json\n{"name": "click", "arguments": {"x": 5, "y": 9}}\n```')
    assert calls[0].arguments == {"x": 5, "y": 9}


def test_arguments_given_as_a_json_string_are_decoded():
    _, calls = parse_tool_calls('<tool_call>{"name": "click", "arguments": "{\\"x\\": 1}"}</tool_call>')
    assert calls[0].arguments == {"x": 1}


def test_no_tool_call_is_plain_text():
    assert parse_tool_calls("The alarm means the tank is overfilling.") == (
        "The alarm means the tank is overfilling.",
        [],
    )


def test_single_quotes_are_a_clear_error():
    with pytest.raises(ModelOutputError, match="double quotes"):
        parse_tool_calls("<tool_call>{'name': 'click', 'arguments': {'x': 1}}</tool_call>")


@pytest.mark.parametrize(
    "block, message",
    [
        ('{"arguments": {}}', "must hold one JSON object"),
        ('["click"]', "must hold one JSON object"),
        ('{"name": "click", "arguments": [1, 2]}', "must be a JSON object"),
        ('{"name": "click", "arguments": {"x": 1', "cut off"),
    ],
)
def test_malformed_tool_calls_name_the_problem(block, message):
    with pytest.raises(ModelOutputError, match=message):
        parse_tool_calls(f"<tool_call>{block}</tool_call>")


def test_thinking_is_stripped_before_parsing():
    raw = '<think>\nThe user wants history. {"not": "a call"}\n</think>\n\n<tool_call>{"name": "h", "arguments": {}}'
    text, calls = parse_tool_calls(raw)
    assert text == "" and [c.name for c in calls] == ["h"]
    # Thinking templates put <think> in the prompt: the output then starts inside the reasoning
    assert strip_thinking("reasoning...\n</think>\n\nAnswer") == "Answer"



def test_a_tool_call_drafted_in_unfinished_thinking_is_not_a_call():
    # Output cut at max_new_tokens inside <think>: what the model was still weighing must not be executed
    raw = '<think>\nMaybe acknowledge it: <tool_call>{"name": "click", "arguments": {"x": 1, "y": 2}}</tool_call> or'
    assert parse_tool_calls(raw) == ("", [])
    assert strip_thinking("Answer <think>\nstill going") == "Answer"

def test_grounding_list_of_boxes():
    found = parse_grounding('[{"bbox_2d": [10, 20, 110, 220], "label": "TIC-101 alarm"}, {"bbox_2d": [1,2,3,4]}]')
    assert found == [
        Grounding(label="TIC-101 alarm", bbox_2d=(10, 20, 110, 220)),
        Grounding(label="", bbox_2d=(1, 2, 3, 4)),
    ]


def test_grounding_fenced_with_prose_and_points():
    found = parse_grounding(
        'Here it is:\n```json\n[{"point_2d": [500, 250], "label": "ACK button"}]\n```\nClick there.'
    )
    assert found == [Grounding(label="ACK button", point_2d=(500, 250))]


def test_grounding_unfenced_with_trailing_text_and_single_object():
    assert parse_grounding('{"bbox_2d": [1, 2, 3, 4], "label": "x"} is the pump.') == [
        Grounding(label="x", bbox_2d=(1, 2, 3, 4))
    ]


def test_grounding_bare_coordinates():
    assert parse_grounding("[100, 200, 300, 400]") == [Grounding(bbox_2d=(100, 200, 300, 400))]
    assert parse_grounding("<think>hmm</think>[5, 6]") == [Grounding(point_2d=(5, 6))]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[{"bbox_2d": [10, 20, 30', "cut off"),
        ("I cannot see any alarm.", "no grounding JSON found"),
        ('[{"label": "pump"}]', "neither bbox_2d nor point_2d"),
        ('[{"bbox_2d": [1, 2, 3]}]', "bbox_2d must be a list of 4 numbers"),
        ('[{"point_2d": ["a", 2]}]', "point_2d must be a list of 2 numbers"),
        ('["pump"]', "must be a JSON object"),
    ],
)
def test_bad_grounding_raises_a_message_for_the_model(text, message):
    with pytest.raises(ModelOutputError, match=message):
        parse_grounding(text)
