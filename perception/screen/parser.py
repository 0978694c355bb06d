"""The fast screen parser: OCR + OpenCV, no model. Finds alarm rows, the alarm banner, priority badges, buttons and
the remaining text, numbered for set-of-marks prompting and as a cross-check of what the model says it sees."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from perception.frames import eight_bit, rgb_image
from perception.screen.buttons import find_buttons
from perception.screen.colours import PRIORITY_NAMES, RowColour, colour_name, row_colour
from perception.screen.indicators import ColourMark, find_marks, mark_blinking
from perception.screen.layout import associate_badges
from perception.screen.model import Element, ScreenParse
from perception.screen.ocr import TextBox, read_text
from perception.screen.profile import SiteProfile, load_profile
from perception.screen.reading import AlarmFacts, Header, Reading, RowReader
from perception.screen.rows import Line, find_tag, group_lines

BANNER_ZONE = 0.35  # a lone alarm line in the top third of the screen is the banner, not a one-row list
# confidence of a priority read from a colour: the generic convention is often wrong on a given site, a colour map
# from the site's profile (calibrated on its own alarm database) much less so
GENERIC_COLOUR, SITE_COLOUR, BLINKING = 0.6, 0.85, 0.8
PALE_CONTRAST = 0.6  # neutral text this much fainter than the screen's usual row text is "grey" (greyed-out row)


def as_rgb(image: Image.Image | np.ndarray) -> np.ndarray:
    """RGB uint8 array from a PIL image (any mode) or an RGB / greyscale / RGBA array (8 or 16 bits)."""
    if isinstance(image, Image.Image):
        return np.asarray(rgb_image(image))
    array = eight_bit(np.asarray(image))
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(array[:, :, :3])


def parse_screen(
    image: Image.Image | np.ndarray,
    previous: Image.Image | np.ndarray | None = None,
    profile: SiteProfile | None = None,
) -> ScreenParse:
    """Parses one screen image with a site profile's conventions (None: the generic profile). With `previous` (an
    earlier frame of the same screen), badges and highlights that are on in one frame and off in the other are
    reported as blinking, i.e. unacknowledged."""
    rgb = as_rgb(image)
    height, width = rgb.shape[:2]
    marks = find_marks(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV))
    if previous is not None:
        before = as_rgb(previous)
        if before.shape != rgb.shape:
            before = cv2.resize(before, (width, height), interpolation=cv2.INTER_AREA)
        marks = mark_blinking(marks, find_marks(cv2.cvtColor(before, cv2.COLOR_RGB2HSV)))
    texts = read_text(rgb)
    buttons = find_buttons(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), texts)
    return _Assembler(rgb, texts, marks, buttons, profile or load_profile()).run()


def parser_for(profile: str | Path | None) -> Callable[..., ScreenParse]:
    """parse_screen bound to a site profile (a shipped name or a YAML file; None: generic), loaded once now.
    Raises perception.screen.profile.ProfileError for a bad profile."""
    return functools.partial(parse_screen, profile=load_profile(profile))


def _contains(outer: tuple, inner: tuple, slack: int = 2) -> bool:
    return (
        outer[0] - slack <= inner[0]
        and outer[1] - slack <= inner[1]
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


def _is_badge_label(text: tuple, badge: tuple) -> bool:
    """OCR reads the digit drawn inside a badge as a (padded) text box centred on it."""
    cx, cy = (text[0] + text[2]) / 2, (text[1] + text[3]) / 2
    badge_area = (badge[2] - badge[0]) * (badge[3] - badge[1])
    return _contains(badge, (cx, cy, cx, cy), 0) and (text[2] - text[0]) * (text[3] - text[1]) <= 4 * badge_area


def _is_glyph(mark: tuple, texts: list[TextBox]) -> bool:
    """A letter of coloured text (A, O, D) looks like a badge to the colour masks; it lies inside a text box of a
    word or more, a badge does not (OCR reads a badge's digit as a box of its own, about the badge's size)."""
    width = mark[2] - mark[0]
    return any(len(t.text) >= 2 and t.bbox[2] - t.bbox[0] >= 2.5 * width and _contains(t.bbox, mark, 1) for t in texts)


def _union(boxes) -> tuple[int, int, int, int]:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _on_line(line: Line, box: tuple, reach: float = 0.6) -> bool:
    """Box's vertical centre within the line's height band."""
    return abs((box[1] + box[3]) / 2 - line.centre_y) <= reach * max(line.height, box[3] - box[1])


@dataclass
class _Draft:
    kind: str
    bbox: tuple[int, int, int, int]
    confidence: float
    text: str = ""
    priority: str | None = None
    state: str | None = None
    tag: str | None = None
    time: str | None = None
    value: str | None = None
    priority_source: str | None = None
    priority_confidence: float | None = None
    state_source: str | None = None
    state_confidence: float | None = None
    colour: str | None = None
    cells: dict[str, str] | None = None

    def read(self, priority: Reading | None, state: Reading | None) -> _Draft:
        if priority is not None:
            self.priority, self.priority_source, self.priority_confidence = (
                priority.value,
                priority.source,
                priority.confidence,
            )
        if state is not None:
            self.state, self.state_source, self.state_confidence = state.value, state.source, state.confidence
        return self


@dataclass
class _Row:
    line: Line
    facts: AlarmFacts
    extra: list[TextBox]  # wrapped cell parts from the lines above / below


class _Assembler:
    """Turns text boxes, colour marks and button rectangles into numbered elements."""

    def __init__(
        self,
        rgb: np.ndarray,
        texts: list[TextBox],
        marks: list[ColourMark],
        buttons: dict[int, tuple],
        profile: SiteProfile,
    ):
        self.rgb = rgb
        self.height, self.width = rgb.shape[:2]
        self.texts, self.buttons = texts, buttons
        self.profile, self.reader = profile, RowReader(profile)
        self.header_lines: list[Line] = []
        self.badges = [m for m in marks if m.kind == "badge" and not _is_glyph(m.bbox, texts)]
        self.bars = [m for m in marks if m.kind == "bar"]

    def run(self) -> ScreenParse:
        badge_labels = {
            i for i, t in enumerate(self.texts) if any(_is_badge_label(t.bbox, b.bbox) for b in self.badges)
        }
        free = [t for i, t in enumerate(self.texts) if i not in self.buttons and i not in badge_labels]
        lines = group_lines(free)
        self.header_lines = [line for line in lines if self.reader.header(line)]
        headers = [h for line in self.header_lines if (h := self.reader.header(line))]
        rows = self._rows(lines, headers)
        drafts = self._alarm_drafts(rows)
        drafts += [
            _Draft("button", rect, round(self.texts[i].score, 3), self.texts[i].text)
            for i, rect in self.buttons.items()
        ]
        drafts += self._badge_drafts(rows, lines)
        used = {id(b) for row in rows for b in row.line.boxes + row.extra}
        drafts += [
            _Draft("text", b.bbox, round(b.score, 3), b.text, tag=find_tag(b.text))
            for line in lines
            for b in line.boxes
            if id(b) not in used
        ]
        drafts.sort(key=lambda d: (round((d.bbox[1] + d.bbox[3]) / 2 / 8), d.bbox[0]))  # reading order
        elements = [Element(id=i, **vars(d)) for i, d in enumerate(drafts, start=1)]
        return ScreenParse(width=self.width, height=self.height, elements=elements)

    # ---- alarm rows

    def _rows(self, lines: list[Line], headers: list[Header]) -> list[_Row]:
        """Alarm lines with the header of their table; short lines just above / below a row that it has no text
        over are its wrapped cells (a date over a time), joined to it."""
        header_of = {id(line): _header_above(line, headers) for line in lines}
        rows = [_Row(line, facts, []) for line in lines if (facts := self.reader.read(line, header_of[id(line)]))]
        row_lines = {id(r.line) for r in rows}
        header_boxes = {id(b) for line in self.header_lines for b in line.boxes}
        for line in lines:
            if id(line) in row_lines or len(line.boxes) > 2 or any(id(b) in header_boxes for b in line.boxes):
                continue
            row = min(rows, key=lambda r: abs(r.line.centre_y - line.centre_y), default=None)
            if row is not None and _wraps_into(line, row.line):
                row.extra += line.boxes
        for row in rows:
            if row.extra and row.facts.time is None:
                row.facts = self.reader.read(row.line, header_of[id(row.line)], row.extra) or row.facts
        return rows

    def _alarm_drafts(self, rows: list[_Row]) -> list[_Draft]:
        """Alarm lines stacked closely form a list (rows); a lone one near the top is the banner."""
        groups: list[list[_Row]] = []
        for row in sorted(rows, key=lambda r: r.line.centre_y):
            if groups and row.line.centre_y - groups[-1][-1].line.centre_y <= 3.0 * row.line.height:
                groups[-1].append(row)
            else:
                groups.append([row])
        colours = {id(r): self._row_colour(r) for r in rows}
        ordinary = [c for c in list(colours.values()) + self._header_colours() if c is not None and c.ink_name is None]
        reference = _usual_contrast(ordinary)
        drafts = []
        for group in groups:
            for row in group:
                line = row.line
                bar = next(
                    (
                        b
                        for b in self.bars
                        if _on_line(line, b.bbox, 0.5) and b.bbox[0] <= line.bbox[2] and line.bbox[0] <= b.bbox[2]
                    ),
                    None,
                )
                banner = len(group) == 1 and line.centre_y < BANNER_ZONE * self.height
                drafts.append(
                    self._alarm_draft("banner" if banner else "alarm_row", row, bar, colours[id(row)], reference)
                )
        return drafts

    def _row_badges(self, line: Line, bar: ColourMark | None) -> list[ColourMark]:
        return [
            b
            for b in self.badges
            if _on_line(line, b.bbox)
            and b.bbox[0] <= line.bbox[2]
            and (bar is None or _contains(bar.bbox, b.bbox, 4) or b.bbox[2] <= line.bbox[0] + 4)
            and b.bbox[2] >= line.bbox[0] - 6 * line.height
        ]

    def _alarm_draft(
        self, kind: str, row: _Row, bar: ColourMark | None, colour: RowColour | None, reference: float | None
    ) -> _Draft:
        line, facts = row.line, row.facts
        row_badges = self._row_badges(line, bar)
        parts = [line.bbox] + [b.bbox for b in row_badges + row.extra]
        if bar is not None and kind == "banner":
            parts.append(bar.bbox)
        elif bar is not None:  # a highlight spans the row's width; same-colour rows touching merge into one bar
            parts.append((bar.bbox[0], line.bbox[1], bar.bbox[2], line.bbox[3]))
        names = self._colour_names(row_badges, colour, reference)
        draft = _Draft(
            kind,
            _union(parts),
            round(line.score, 3),
            facts.text,
            tag=facts.tag,
            time=facts.time,
            value=facts.value,
            colour=names[0] if names else None,
            cells=facts.cells,
        )
        priority = facts.priority or self._colour_priority(names)
        state = facts.state
        if state is None and any(m.state == "blinking" for m in row_badges + ([bar] if bar else [])):
            state = Reading("unacked", "colour", BLINKING)  # ISA-18.2: blinking = not yet acknowledged
        return draft.read(priority, state)

    def _row_colour(self, row: _Row) -> RowColour | None:
        return self._line_colour(row.line)

    def _line_colour(self, line: Line) -> RowColour | None:
        """Sampled in the middle half of the line's text boxes: OCR pads its boxes into the rows above and below."""
        pixels = [
            self.rgb[y1 + (y2 - y1) // 4 : y2 - (y2 - y1) // 4, x1:x2].reshape(-1, 3)
            for x1, y1, x2, y2 in (b.bbox for b in line.boxes)
        ]
        return row_colour(np.concatenate(pixels)) if pixels else None

    def _header_colours(self) -> list[RowColour | None]:
        """A table header's text is the screen's ordinary text even where most rows are greyed out."""
        return [self._line_colour(line) for line in self.header_lines]

    def _colour_names(self, badges: list[ColourMark], colour: RowColour | None, reference: float | None) -> list[str]:
        """The colours a row shows, most telling first: its badges', its fill, its text colour (or grey text)."""
        names = [self._badge_colour(b) for b in badges]
        if colour is not None:
            names += [colour.fill_name, colour.ink_name]
            if colour.ink_name is None and reference and colour.contrast < PALE_CONTRAST * reference:
                names.append("grey")
        return [n for n in names if n]

    def _colour_priority(self, names: list[str]) -> Reading | None:
        """The first of the colours that the profile's colour map names; an unnamed colour gives no priority."""
        for name in names:
            entry = self.profile.colours.get(name)
            if entry is not None:
                generic = entry.origin == "generic"
                return Reading(
                    entry.meaning, "colour" if generic else "profile", GENERIC_COLOUR if generic else SITE_COLOUR
                )
        return None

    def _badge_colour(self, badge: ColourMark) -> str:
        x1, y1, x2, y2 = badge.bbox
        patch = self.rgb[y1:y2, x1:x2].reshape(-1, 3)
        hsv = cv2.cvtColor(patch.reshape(-1, 1, 3), cv2.COLOR_RGB2HSV).reshape(-1, 3)
        vivid = patch[(hsv[:, 1] >= 100) & (hsv[:, 2] >= 100)]
        return colour_name(np.median(vivid, axis=0)) if len(vivid) else PRIORITY_NAMES[badge.priority]

    # ---- badges

    def _badge_drafts(self, rows: list[_Row], lines: list[Line]) -> list[_Draft]:
        """A badge in an alarm row carries the row's tag; any other badge the tag of the label it belongs to by
        layout (perception.screen.layout)."""
        row_of = {}
        for row in rows:
            for badge in self._row_badges(row.line, None):
                row_of.setdefault(id(badge), row.facts.tag)
        row_boxes = {id(b) for row in rows for b in row.line.boxes}
        labels = [b for line in lines for b in line.boxes if id(b) not in row_boxes and find_tag(b.text)]
        free = [b for b in self.badges if id(b) not in row_of]
        by_layout = associate_badges([b.bbox for b in free], labels)
        drafts = []
        for badge in self.badges:
            tag = row_of.get(id(badge))
            if tag is None:
                label = by_layout[free.index(badge)]
                tag = find_tag(label.text) if label is not None else None
            colour = self._badge_colour(badge)
            draft = _Draft(
                "alarm_indicator",
                badge.bbox,
                badge.solidity,
                f"{colour} {badge.shape}",
                state=badge.state,
                tag=tag,
                colour=colour,
            )
            drafts.append(draft.read(self._colour_priority([colour]), None))
        return drafts


def _header_above(line: Line, headers: list[Header]) -> Header | None:
    """The nearest table header above the line that spans it horizontally."""
    above = [h for h in headers if h.bbox[3] <= line.centre_y and h.bbox[0] < line.bbox[2] and line.bbox[0] < h.bbox[2]]
    return max(above, key=lambda h: h.bbox[3], default=None)


def _wraps_into(fragment: Line, row: Line) -> bool:
    """A wrapped cell: within one line height of the row's centre, and not over any of the row's own text (only
    over the other half of its own cell, a line higher or lower)."""
    if abs(fragment.centre_y - row.centre_y) > 1.1 * max(row.height, fragment.height):
        return False
    return not any(
        b.bbox[0] < r.bbox[2] and r.bbox[0] < b.bbox[2] and abs(b.centre_y - r.centre_y) < 0.5 * b.height
        for b in fragment.boxes
        for r in row.boxes
    )


def _usual_contrast(colours: list[RowColour]) -> float | None:
    """The text contrast of the screen's ordinary rows (a high percentile: greyed-out rows can be many)."""
    return float(np.percentile([c.contrast for c in colours], 80)) if colours else None
