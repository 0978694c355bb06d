"""The fast screen parser: OCR + OpenCV, no model. Finds alarm rows, the alarm banner, priority badges, buttons and
the remaining text, numbered for set-of-marks prompting and as a cross-check of what the model says it sees."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from perception.frames import eight_bit, rgb_image
from perception.screen.buttons import find_buttons
from perception.screen.colours import PRIORITY_NAMES
from perception.screen.indicators import ColourMark, find_marks, mark_blinking
from perception.screen.model import Element, ScreenParse
from perception.screen.ocr import TextBox, read_text
from perception.screen.rows import AlarmFacts, Line, find_tag, group_lines, read_alarm

BANNER_ZONE = 0.35  # a lone alarm line in the top third of the screen is the banner, not a one-row list


def as_rgb(image: Image.Image | np.ndarray) -> np.ndarray:
    """RGB uint8 array from a PIL image (any mode) or an RGB / greyscale / RGBA array (8 or 16 bits)."""
    if isinstance(image, Image.Image):
        return np.asarray(rgb_image(image))
    array = eight_bit(np.asarray(image))
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2RGB)
    return np.ascontiguousarray(array[:, :, :3])


def parse_screen(image: Image.Image | np.ndarray, previous: Image.Image | np.ndarray | None = None) -> ScreenParse:
    """Parses one screen image. With `previous` (an earlier frame of the same screen), badges and highlights that are
    on in one frame and off in the other are reported as blinking, i.e. unacknowledged."""
    rgb = as_rgb(image)
    height, width = rgb.shape[:2]
    marks = find_marks(cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV))
    if previous is not None:
        before = as_rgb(previous)
        if before.shape != rgb.shape:
            before = cv2.resize(before, (width, height), interpolation=cv2.INTER_AREA)
        marks = mark_blinking(marks, find_marks(cv2.cvtColor(before, cv2.COLOR_RGB2HSV)))
    texts = read_text(rgb)
    return _Assembler(width, height, texts, marks, find_buttons(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), texts)).run()


def _contains(outer: tuple, inner: tuple, slack: int = 2) -> bool:
    return (outer[0] - slack <= inner[0] and outer[1] - slack <= inner[1]
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


def _is_badge_label(text: tuple, badge: tuple) -> bool:
    """OCR reads the digit drawn inside a badge as a (padded) text box centred on it."""
    cx, cy = (text[0] + text[2]) / 2, (text[1] + text[3]) / 2
    badge_area = (badge[2] - badge[0]) * (badge[3] - badge[1])
    return (_contains(badge, (cx, cy, cx, cy), 0)
            and (text[2] - text[0]) * (text[3] - text[1]) <= 4 * badge_area)


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


class _Assembler:
    """Turns text boxes, colour marks and button rectangles into numbered elements."""

    def __init__(self, width: int, height: int, texts: list[TextBox], marks: list[ColourMark],
                 buttons: dict[int, tuple]):
        self.width, self.height = width, height
        self.texts, self.buttons = texts, buttons
        self.badges = [m for m in marks if m.kind == "badge"]
        self.bars = [m for m in marks if m.kind == "bar"]

    def run(self) -> ScreenParse:
        badge_labels = {i for i, t in enumerate(self.texts)
                        if any(_is_badge_label(t.bbox, b.bbox) for b in self.badges)}
        free = [t for i, t in enumerate(self.texts) if i not in self.buttons and i not in badge_labels]
        lines = group_lines(free)
        alarms = {id(line): facts for line in lines if (facts := read_alarm(line))}
        drafts = self._alarm_drafts([l for l in lines if id(l) in alarms], alarms)
        drafts += [_Draft("button", rect, round(self.texts[i].score, 3), self.texts[i].text)
                   for i, rect in self.buttons.items()]
        drafts += [self._badge_draft(badge, lines) for badge in self.badges]
        drafts += [_Draft("text", b.bbox, round(b.score, 3), b.text, tag=find_tag(b.text))
                   for line in lines if id(line) not in alarms for b in line.boxes]
        drafts.sort(key=lambda d: (round((d.bbox[1] + d.bbox[3]) / 2 / 8), d.bbox[0]))  # reading order
        elements = [Element(id=i, **vars(d)) for i, d in enumerate(drafts, start=1)]
        return ScreenParse(width=self.width, height=self.height, elements=elements)

    def _alarm_drafts(self, alarm_lines: list[Line], facts: dict[int, AlarmFacts]) -> list[_Draft]:
        """Alarm lines stacked closely form a list (rows); a lone one near the top is the banner."""
        groups: list[list[Line]] = []
        for line in sorted(alarm_lines, key=lambda l: l.centre_y):
            if groups and line.centre_y - groups[-1][-1].centre_y <= 3.0 * line.height:
                groups[-1].append(line)
            else:
                groups.append([line])
        drafts = []
        for group in groups:
            for line in group:
                bar = next((b for b in self.bars if _on_line(line, b.bbox, 0.5)
                            and b.bbox[0] <= line.bbox[2] and line.bbox[0] <= b.bbox[2]), None)
                banner = len(group) == 1 and line.centre_y < BANNER_ZONE * self.height
                drafts.append(self._alarm_draft("banner" if banner else "alarm_row", line, facts[id(line)], bar))
        return drafts

    def _alarm_draft(self, kind: str, line: Line, facts: AlarmFacts, bar: ColourMark | None) -> _Draft:
        row_badges = [b for b in self.badges if _on_line(line, b.bbox) and b.bbox[0] <= line.bbox[2]
                      and (bar is None or _contains(bar.bbox, b.bbox, 4) or b.bbox[2] <= line.bbox[0] + 4)
                      and b.bbox[2] >= line.bbox[0] - 6 * line.height]
        colour_priority = (row_badges[0].priority if row_badges else None) or (bar.priority if bar else None)
        blinking = any(m.state == "blinking" for m in row_badges + ([bar] if bar else []))
        state = facts.state or ("unacked" if blinking or bar is not None else None)
        parts = [line.bbox] + [b.bbox for b in row_badges]
        if bar is not None and kind == "banner":
            parts.append(bar.bbox)
        elif bar is not None:  # a highlight spans the row's width; same-colour rows touching merge into one bar
            parts.append((bar.bbox[0], line.bbox[1], bar.bbox[2], line.bbox[3]))
        return _Draft(kind, _union(parts), round(line.score, 3), facts.text, facts.priority or colour_priority, state,
                      facts.tag, facts.time, facts.value)

    def _badge_draft(self, badge: ColourMark, lines: list[Line]) -> _Draft:
        """A badge carries the tag of the text beside it on the same line (a row, or a boxed process value)."""
        beside = [l for l in lines if _on_line(l, badge.bbox) and find_tag(l.text)]
        nearest = min(beside, key=lambda l: _gap(l.bbox, badge.bbox), default=None)
        tag = None
        if nearest is not None and _gap(nearest.bbox, badge.bbox) <= 4 * nearest.height:
            near_box = min(nearest.boxes, key=lambda b: _gap(b.bbox, badge.bbox))
            tag = find_tag(near_box.text) or find_tag(nearest.text)
        return _Draft("alarm_indicator", badge.bbox, badge.solidity, f"{PRIORITY_NAMES[badge.priority]} {badge.shape}",
                      badge.priority, badge.state, tag)


def _gap(a: tuple, b: tuple) -> float:
    """Horizontal distance between two boxes (0 when they overlap)."""
    return max(0, max(a[0], b[0]) - min(a[2], b[2]))
