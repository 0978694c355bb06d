"""Cross-check: what the screen shows about an alarm against what the plant's alarm definitions say. When they
disagree (priority, description) the answer says so instead of silently picking one; an agreeing or unread field
gives no remark."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Any

from tools.alarm_results import AlarmDefinitionOut

# notes start with these, so a later step can tell them from other notes
PREFIX = {"en": "Screen vs alarm database: ", "zh": "画面与报警数据库不一致："}
SIMILAR = 0.6  # share of shown words (or character similarity) below which a description is reported as different
_TIME = re.compile(r"^\S*\d{1,2}:\d{2}(?::\d{2})?\S*\s*")


def is_screen_check(note: str) -> bool:
    return note.startswith(tuple(PREFIX.values()))


def shown_description(element: Any) -> str:
    """The description part of a row's or banner's text: without its time and tag."""
    if element.cells and element.cells.get("description"):
        return element.cells["description"]
    text = element.text or ""
    text = _TIME.sub("", text)
    while _TIME.match(text):
        text = _TIME.sub("", text)
    if element.tag and text.startswith(element.tag):
        text = text[len(element.tag) :]
    return text.strip()


def _words(text: str) -> set[str]:
    """Content words of a description: Latin words and numbers, and Chinese character pairs (Chinese has no spaces)."""
    latin = {w for w in re.findall(r"[a-z0-9]+", text) if len(w) > 1 or w.isdigit()}
    cjk = "".join(re.findall(r"[\u4e00-\u9fff]", text))
    return latin | {cjk[i : i + 2] for i in range(len(cjk) - 1)}


def _similar(shown: str, configured: str) -> bool:
    """Alike when most words shown are in the configured text, in any order or form: HMIs abbreviate and reorder
    descriptions ("High temperature reactor R1" for "R-101 reactor temperature high-high")."""
    a, b = shown.casefold().strip(), configured.casefold().strip()
    if not a or not b or a in b or b in a:
        return True
    shown_words, configured_words = _words(a), _words(b)
    if shown_words:
        found = sum(any(c.startswith(w) or w.startswith(c) for c in configured_words) for w in shown_words)
        if found / len(shown_words) >= SIMILAR:
            return True
    return SequenceMatcher(None, a, b).ratio() >= SIMILAR


def screen_vs_definitions(element: Any, definitions: list[AlarmDefinitionOut], language: str) -> list[str]:
    """Remarks, in the operator's language, where `element` (a parsed alarm row or banner) and the alarm's
    definition disagree on priority or description."""
    if element is None or not definitions:
        return []
    definition = definitions[0]
    prefix, notes = PREFIX[language], []
    shown = element.priority if element.priority_source != "definition" else None
    if shown and shown.isdigit() and definition.priority and int(shown) != definition.priority:
        source = element.priority_source or "screen"
        notes.append(
            prefix
            + (
                f"画面显示{definition.name}为优先级{shown}（依据：{source}），报警数据库中为优先级"
                f"{definition.priority}。"
                if language == "zh"
                else f"the screen shows {definition.name} as priority {shown} (read from its {source}), "
                f"the alarm database has priority {definition.priority}."
            )
        )
    description = shown_description(element)
    configured = [d for d in (definition.description, definition.description_zh) if d]
    if description and configured and not any(_similar(description, c) for c in configured):
        notes.append(
            prefix
            + (
                f"画面上的描述“{description}”与数据库中的“{configured[-1]}”不同，请核对位号。"
                if language == "zh"
                else f"the screen describes {definition.name} as {description!r}, the alarm database as "
                f"{configured[0]!r}: check that the tag was read right."
            )
        )
    return notes
