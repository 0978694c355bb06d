"""Finding a profile's words inside OCR text, token by token, with where each one sits on the screen.

OCR often returns one box for a whole packed table row ("… pressure high High Boiler Active"), so a priority or state
word is rarely its own box. Each box's text is normalised (profile.normalise) and searched for the vocabulary's
phrases, longest first, as whole words (Chinese phrases as substrings); the x position of a hit inside its box is
estimated from typical glyph widths, so the hit can be placed in a table column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from perception.screen.ocr import TextBox
from perception.screen.profile import Entry, normalise

_SEPARATORS = set("_-/,;:|")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_NARROW = set("il.,:;!|'`1 ()[]jtfI")
_WIDE = set("MWmw@%")


def _glyph_width(ch: str) -> float:
    """Rough advance width in em: enough to tell which column a word of a merged box belongs to."""
    if _CJK.match(ch):
        return 1.0
    if ch in _NARROW:
        return 0.3
    if ch in _WIDE:
        return 0.85
    return 0.65 if ch.isupper() or ch.isdigit() else 0.55


def char_edges(box: TextBox) -> list[float]:
    """x of the left edge of each character of `box.text`, plus the right edge of the last one."""
    widths = [_glyph_width(ch) for ch in box.text]
    total = sum(widths) or 1.0
    scale = (box.bbox[2] - box.bbox[0]) / total
    edges, x = [], float(box.bbox[0])
    for w in widths:
        edges.append(x)
        x += w * scale
    return edges + [x]


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """profile.normalise(text) and, for each of its characters, the index of the character of `text` it came from."""
    out, where = [], []
    for i, ch in enumerate(text):
        ch = " " if ch in _SEPARATORS or ch.isspace() else ch.lower()
        if ch == " " and (not out or out[-1] == " "):
            continue
        out.append(ch)
        where.append(i)
    while out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), where


@dataclass(frozen=True)
class Hit:
    """A vocabulary phrase found in a text box."""

    phrase: str
    entry: Entry
    original: str  # the text as shown
    box: int  # index of the box in its line
    x1: float
    x2: float
    whole_box: bool  # the phrase is the box's whole text

    @property
    def centre_x(self) -> float:
        return (self.x1 + self.x2) / 2


class Matcher:
    """Finds the phrases of one vocabulary ({normalised phrase: Entry}) in text, longest first."""

    def __init__(self, vocabulary: dict[str, Entry]):
        self.vocabulary = vocabulary
        self.pattern = _compile(tuple(sorted(vocabulary, key=lambda p: (-len(p), p))))

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, phrase) in the original `text`."""
        if self.pattern is None:
            return []
        norm, where = normalise_with_map(text)
        return [(where[m.start()], where[m.end() - 1] + 1, m.group(0)) for m in self.pattern.finditer(norm)]

    def word(self, text: str) -> Entry | None:
        """The entry when `text` is exactly one phrase."""
        return self.vocabulary.get(normalise(text))

    def hits(self, boxes: list[TextBox]) -> list[Hit]:
        found = []
        for index, box in enumerate(boxes):
            edges = None
            whole = normalise(box.text)
            for start, end, phrase in self.spans(box.text):
                edges = edges or char_edges(box)
                found.append(
                    Hit(
                        phrase,
                        self.vocabulary[phrase],
                        box.text[start:end],
                        index,
                        edges[start],
                        edges[end],
                        phrase == whole,
                    )
                )
        return found


@lru_cache(maxsize=64)
def _compile(phrases: tuple[str, ...]) -> re.Pattern | None:
    if not phrases:
        return None
    parts = []
    for phrase in phrases:
        before = r"(?<![a-z0-9])" if phrase[0].isascii() and phrase[0].isalnum() else ""
        after = r"(?![a-z0-9])" if phrase[-1].isascii() and phrase[-1].isalnum() else ""
        if len(phrase) == 1 and _CJK.match(phrase):  # 高 in 压力高 is part of a description, not a priority word
            before, after = f"(?<!{_CJK.pattern})", f"(?!{_CJK.pattern})"
        parts.append(before + re.escape(phrase) + after)
    return re.compile("|".join(parts))
