"""Which parsed screen elements a routine's query or condition means."""

from __future__ import annotations

import re

from agent.routines.schema import Condition, ElementQuery
from perception.screen.model import Element, ScreenParse

_WORD = re.compile(r"[\w-]+", re.UNICODE)
_STOPWORDS = frozenset("a an the of on in at to for with and or is this that".split())


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def _element_words(element: Element) -> set[str]:
    words = _words(element.text) | _words(element.kind.replace("_", " ")) | {element.kind}
    if element.tag:
        words |= _words(element.tag) | {element.tag.lower()}
    if element.priority:
        words |= {f"p{element.priority}", f"priority-{element.priority}", element.priority}
    if element.state:
        words |= _words(element.state.replace("_", " ")) | {element.state}
    return words


def _fits(query: ElementQuery, element: Element) -> bool:
    return (
        (query.text is None or query.text.lower() in element.text.lower())
        and (query.kind is None or element.kind == query.kind)
        and (query.priority is None or element.priority == query.priority)
        and (query.state is None or element.state == query.state)
        and (query.tag is None or (element.tag or "").lower() == query.tag.lower())
    )


def matching(query: ElementQuery, parse: ScreenParse) -> list[Element]:
    """Elements meeting every field of `query`: exact text matches first, then reading order; with a description,
    most shared words first (only elements sharing at least one word)."""
    exact = (query.text or "").strip().lower()
    found = sorted(
        (e for e in parse.elements if _fits(query, e)),
        key=lambda e: (bool(exact) and e.text.strip().lower() != exact, e.bbox[1], e.bbox[0]),
    )
    if query.description:
        wanted = _words(query.description)
        scored = [(len(wanted & _element_words(e)), e) for e in found]
        found = [e for score, e in sorted(scored, key=lambda pair: -pair[0]) if score > 0]
    return found


def find_element(query: ElementQuery, parse: ScreenParse) -> Element | None:
    found = matching(query, parse)
    return found[query.nth - 1] if len(found) >= query.nth else None


def condition_met(condition: Condition, parse: ScreenParse) -> tuple[bool, list[Element]]:
    """(met, the elements matching the condition's query)."""
    found = matching(condition.query, parse)
    return (bool(found) if condition.visible else not found), found


def describe_elements(elements: list[Element], limit: int = 5) -> str:
    shown = "; ".join(e.hint() for e in elements[:limit])
    return shown + (f"; ... {len(elements) - limit} more" if len(elements) > limit else "")
