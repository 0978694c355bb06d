"""Reading an alarm table the way a site writes it: the header line tells which column is which (header synonyms from
the site profile), and each row's priority and state are read from the words (or numbers) found in those columns,
token by token inside merged OCR boxes. Without a header, priority and state words are taken only where they cannot
be part of the description. What cannot be read stays unknown (None): colour is the parser's fallback, not a word's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from perception.screen.ocr import TextBox
from perception.screen.profile import SiteProfile
from perception.screen.rows import _TRAILING_VALUE, Line, is_value, split_tag
from perception.screen.vocabulary import Hit, Matcher, char_edges

# Confidence of a reading, before the OCR score is applied: a word in its column, a word elsewhere in the row, a
# state known only from "active" / "cleared" (whether it was acknowledged is a guess: listed, so probably not).
IN_COLUMN, OUT_OF_COLUMN, HALF_STATE = 0.95, 0.8, 0.6
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.:,/\-])\d{1,4}(?![A-Za-z0-9_.:,/%°\-])(?!\s*(?:°|℃|%|bar|kpa|mpa|psi|rpm|m3|t/h|kg))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Column:
    kind: str
    x1: float  # where the column's header word starts
    x2: float  # where the next column's header word starts


@dataclass(frozen=True)
class Header:
    bbox: tuple[int, int, int, int]
    columns: tuple[Column, ...]

    def column(self, kind: str) -> Column | None:
        return next((c for c in self.columns if c.kind == kind), None)

    def columns_of(self, kind: str) -> list[Column]:
        return [c for c in self.columns if c.kind == kind]


@dataclass(frozen=True)
class Reading:
    value: str
    source: str  # word | profile (a site profile's own entry)
    confidence: float


@dataclass(frozen=True)
class AlarmFacts:
    tag: str
    time: str | None
    description: str
    priority: Reading | None
    state: Reading | None
    value: str | None
    text: str
    cells: dict[str, str] | None = None  # column kind -> the row's text in that column, when the table has a header


def _source(hit_origin: str) -> str:
    return "word" if hit_origin == "generic" else "profile"


class RowReader:
    """Reads headers and alarm rows with one site profile's vocabulary."""

    def __init__(self, profile: SiteProfile):
        self.profile = profile
        self.priorities = Matcher(profile.priority_words)
        self.states = Matcher(profile.state_words)
        self.headers = Matcher(profile.columns)
        self.times = profile.time_patterns()

    # ---- headers

    def header(self, line: Line) -> Header | None:
        """A line is a table header when most of its text is column names of at least three kinds, and no tag."""
        if any(split_tag(b.text) for b in line.boxes):
            return None
        hits = self.headers.hits(line.boxes)
        kinds = {h.entry.meaning for h in hits}
        covered = sum(len(h.original.replace(" ", "")) for h in hits)
        if len(kinds) < 3 or covered < 0.6 * len(line.text.replace(" ", "")):
            return None
        hits.sort(key=lambda h: h.x1)
        starts = [h.x1 for h in hits] + [float("inf")]
        columns = tuple(Column(h.entry.meaning, starts[i], starts[i + 1]) for i, h in enumerate(hits))
        return Header(line.bbox, columns)

    # ---- rows

    def time(self, text: str) -> str | None:
        for pattern in self.times:
            match = pattern.search(text)
            if match:
                return match.group(0)
        return None

    def read(self, line: Line, header: Header | None = None, extra: list[TextBox] = ()) -> AlarmFacts | None:
        """The alarm a line describes, if it names a tag and looks like an alarm entry (a time, priority or state).
        `extra`: wrapped parts of the row's cells (a date over a time) found on the lines just above and below."""
        tag_index = next((i for i, b in enumerate(line.boxes) if split_tag(b.text)), None)
        if tag_index is None:
            return None
        time = self.time(line.text) or self.time(" ".join(b.text for b in sorted(extra, key=lambda b: b.bbox[1])))
        slack = 0.6 * line.height
        priority = self._priority(line, tag_index, header, slack)
        state = self._state(line, tag_index, header, slack)
        if not (time or priority or state):
            return None
        tag, after_tag = split_tag(line.boxes[tag_index].text)
        value, description = self._description(line, tag_index, after_tag, header)
        text = " ".join(part for part in (time, tag, description) if part)
        return AlarmFacts(tag, time, description, priority, state, value, text, self._cells(line.boxes, header))

    def _cells(self, boxes: list[TextBox], header: Header | None) -> dict[str, str] | None:
        if header is None:
            return None
        cells: dict[str, str] = {}
        for column in header.columns:
            text = self._column_text(boxes, column)
            cells[column.kind] = f"{cells[column.kind]} {text}".strip() if column.kind in cells else text
        return cells

    def _in_column(self, hits: list[Hit], column: Column, slack: float, boxes: list[TextBox]) -> list[Hit]:
        inside = [h for h in hits if column.x1 - slack <= h.centre_x < column.x2 - slack]
        if inside:
            return inside
        # the estimated word positions in a merged box that runs into the column drift a little: accept the nearest
        # such word just outside the column
        near = [
            h
            for h in hits
            if column.x1 - 3 * slack <= h.centre_x < column.x2 + slack
            and not h.whole_box
            and boxes[h.box].bbox[0] < column.x2
            and column.x1 < boxes[h.box].bbox[2]
        ]
        return sorted(near, key=lambda h: min(abs(h.centre_x - column.x1), abs(h.centre_x - column.x2)))[:1]

    def _priority(self, line: Line, tag_index: int, header: Header | None, slack: float) -> Reading | None:
        boxes = line.boxes
        column = header.column("priority") if header else None
        if column is not None:
            hits = self._in_column(self.priorities.hits(boxes) + self._numbers(boxes), column, slack, boxes)
            if hits:  # a description's last words can drift into the column: its own word is capitalised and after
                hit = min(hits, key=lambda h: (not _capitalised(h.original), -h.x1))
                return Reading(hit.entry.meaning, _source(hit.entry.origin), round(IN_COLUMN * boxes[hit.box].score, 3))
        hits = [h for h in self.priorities.hits(boxes) if h.box >= tag_index]
        whole = [h for h in hits if h.whole_box and h.box > tag_index]
        if whole:
            return Reading(
                whole[0].entry.meaning, _source(whole[0].entry.origin), round(IN_COLUMN * boxes[whole[0].box].score, 3)
            )
        # a word inside merged text counts only where a description cannot have it: capitalised, not its first word;
        # and never under a header without a priority column ("Feed pump P3" is a description there)
        candidates = [
            h
            for h in hits
            if header is None
            and _capitalised(h.original)
            and not _starts_description(h, boxes, tag_index)
            and not h.original[:1].isdigit()
        ]
        if candidates:
            hit = candidates[-1]
            return Reading(hit.entry.meaning, _source(hit.entry.origin), round(OUT_OF_COLUMN * boxes[hit.box].score, 3))
        return None

    def _numbers(self, boxes: list[TextBox]) -> list[Hit]:
        hits = []
        for index, box in enumerate(boxes):
            for match in _NUMBER.finditer(box.text):
                entry = self.profile.number_priority(int(match.group(0)))
                if entry is not None:
                    edges = char_edges(box)
                    hits.append(
                        Hit(
                            match.group(0),
                            entry,
                            match.group(0),
                            index,
                            edges[match.start()],
                            edges[match.end()],
                            match.group(0) == box.text.strip(),
                        )
                    )
        return hits

    def _state(self, line: Line, tag_index: int, header: Header | None, slack: float) -> Reading | None:
        boxes = line.boxes
        hits = [h for h in self.states.hits(boxes) if h.box >= tag_index]
        columns = header.columns_of("state") if header else []
        if columns:  # some products split the state over two columns: 报警/恢复 and 未确认/已确认
            hits = [h for column in columns for h in self._in_column(hits, column, slack, boxes)]
            in_column = True
        else:  # "active" / "cleared" alone in free text are too common in descriptions: only as a cell of their own,
            # as is any state word under a header without a state column
            ack_words = [h for h in hits if h.entry.meaning not in ("active", "cleared")]
            hits = hits if ack_words and header is None else [h for h in hits if h.whole_box]
            in_column = False
        if not hits:
            return None
        state, whole = combine_states([h.entry.meaning for h in hits])
        base = IN_COLUMN if in_column or all(h.whole_box for h in hits) else OUT_OF_COLUMN
        score = min(boxes[h.box].score for h in hits)
        origin = "profile" if any(h.entry.origin != "generic" for h in hits) else "word"
        return Reading(state, origin, round((base if whole else HALF_STATE) * score, 3))

    def _description(self, line: Line, tag_index: int, after_tag: str, header: Header | None) -> tuple[str | None, str]:
        """The process value shown with the alarm and the description text after the tag."""
        boxes = line.boxes
        value = next((b.text for b in reversed(boxes[tag_index + 1 :]) if is_value(b.text)), None)
        column = header.column("description") if header else None
        if column is not None:
            return value, self._column_text(boxes, column)
        described = []
        if after_tag and not (self.priorities.word(after_tag) or self.states.word(after_tag)):
            trailing = _TRAILING_VALUE.search(after_tag)
            if trailing and value is None:
                value, after_tag = trailing.group(1), after_tag[: trailing.start()].strip()
            cut = self._vocabulary_start(after_tag)
            described += [after_tag[:cut].strip()] if after_tag[:cut].strip() else []
        for box in boxes[tag_index + 1 :]:
            if self.priorities.word(box.text) or self.states.word(box.text) or is_value(box.text) or box.text == value:
                break
            described.append(box.text)
        return value, " ".join(described)

    def _vocabulary_start(self, text: str) -> int:
        """Where capitalised priority / state words start at the end of merged text (the cells after the
        description), or len(text)."""
        spans = [
            s
            for s in self.priorities.spans(text) + self.states.spans(text)
            if text[s[0] : s[0] + 1].isupper() and s[0] > 0
        ]
        return min((s[0] for s in spans), default=len(text))

    def _column_text(self, boxes: list[TextBox], column: Column) -> str:
        words = []
        for box in boxes:
            edges = char_edges(box)
            for match in re.finditer(r"\S+", box.text):
                centre = (edges[match.start()] + edges[match.end()]) / 2
                if column.x1 - 4 <= centre < column.x2 - 4:
                    words.append(match.group(0))
        return " ".join(words)


def _capitalised(text: str) -> bool:
    """Starts with a capital letter, a digit or a Chinese character: how a cell's own word looks in a table whose
    descriptions are sentences ("Pressure high")."""
    return text[:1].isupper() or text[:1].isdigit() or not text[:1].isascii()


def _starts_description(hit: Hit, boxes: list[TextBox], tag_index: int) -> bool:
    """The hit is the first word after the tag (in the tag's box or the next box): the description's start."""
    if hit.box == tag_index:
        found = split_tag(boxes[tag_index].text)
        return bool(found) and found[1].lower().startswith(hit.original.lower())
    return hit.box == tag_index + 1 and boxes[hit.box].text.lower().startswith(hit.original.lower())


def combine_states(facts: list[str]) -> tuple[str, bool]:
    """One state from the state words of a cell, left to right; True when it is a whole state, False when only
    "active" or "cleared" was said (then listed means probably unacknowledged). The last acknowledgement word
    wins: a site's "Active" (learned: unacked) followed by "ACK" is "Active-ACK", acknowledged."""
    whole = [f for f in facts if f in ("unacked", "acked", "rtn_unacked", "normal")]
    cleared = "cleared" in facts or whole[-1:] in (["rtn_unacked"], ["normal"])
    if not whole:
        return ("rtn_unacked" if cleared else "unacked"), False
    acked = whole[-1] in ("acked", "normal")
    if cleared:
        return ("normal" if acked else "rtn_unacked"), True
    return ("acked" if acked else "unacked"), True
