"""Every text the model sees that we wrote: the system prompt, the observation, the corrections."""

from __future__ import annotations

SYSTEM_PROMPT = """\
You are an assistant for an industrial control-room operator. You see the operator's HMI/SCADA screen as a screenshot \
and answer the operator's question about it: what is on screen, which alarm is meant, what it means and whether it \
has happened recently, and what the operator should do.

How to work:
- Look at the screenshot and the numbered element list (when given). Find the alarm tag the question is about.
- Call alarm_definition(tag) for what the alarm means and the plant's recommended response, and \
alarm_history(tag, since) for recent occurrences. Never invent definitions or history.
- For procedures, repair steps or anything in the plant's manuals call search_manuals(query, tag) and cite the \
document and page it returns. For a photographed nameplate, read its model number and call lookup_equipment(model).
- Only click or type when the operator asks you to act on the screen. Target elements by their number \
(element_id) when they are in the list, otherwise by x, y on the 0-1000 scale of the screenshot.
- Finish by calling final_answer with what you found. Answer in the operator's language: {language_name}.
"""

LANGUAGE_NAMES = {"en": "English", "zh": "Chinese (简体中文)"}


def system_prompt(language: str) -> str:
    return SYSTEM_PROMPT.format(language_name=LANGUAGE_NAMES[language])


def observation(question: str | None, hints: str | None, on_screen: bool) -> str:
    """The text that goes with a screenshot: the question (first look only) and the numbered element list."""
    parts = [f"Operator's question: {question}"] if question else []
    parts.append("Screenshot of the operator's screen." if on_screen else "Photo or image file of an operator screen.")
    if hints:
        parts.append(f"Elements found on it, by number:\n{hints}")
    return "\n".join(parts)


def region_view(box: tuple[int, int, int, int]) -> str:
    """Says which image is which when the model is shown a region of the screen plus an overview."""
    return (
        f"The first image is a region of the screen (pixels {box[0]},{box[1]} to {box[2]},{box[3]}) around the alarm; "
        "the second is the whole screen, downscaled, for orientation only. Positions (x, y on the 0-1000 scale) "
        "refer to the first image."
    )


def unparsable_reply(error: str) -> str:
    return (
        f"Your last reply could not be used: {error}. Reply again: call one of the tools with a valid "
        '<tool_call>{"name": ..., "arguments": {...}}</tool_call> block, or call final_answer.'
    )


def unknown_tool(name: str, known: list[str]) -> str:
    return f"there is no tool named {name!r}; the tools are {', '.join(sorted(known))}"


def verification(changed: bool, live: bool, target_gone: bool | None) -> str:
    if not live:
        return "The action was simulated on a still picture; nothing on the real screen changed."
    text = "After the action the screen changed." if changed else "After the action the screen did NOT change."
    if target_gone is not None:
        text += " The clicked element is gone." if target_gone else " The clicked element is still there."
    return text


def approval_rejected(reason: str, operator: str) -> str:
    return f"The operator {operator} rejected this action ({reason}). Do not repeat it; answer or ask differently."


def action_withdrawn(reason: str) -> str:
    return f"Not carried out: the operator asked a new question instead of approving this action ({reason})."


LIMIT_REASONS = {
    "steps": "the step limit",
    "time": "the time limit",
    "retries": "too many unusable model replies",
}
