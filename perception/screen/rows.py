"""Instrument tags, times and process values in OCR text, and grouping text boxes into screen lines (the alarm row
reading itself, with a site profile's vocabulary, is in perception.screen.reading)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from perception.screen.ocr import TextBox

# ISA-5.1 style tags: letters, optional dash, 1-5 digits, optional loop suffix letter, optional ".HH"/".PV" attribute:
# TIC-101.HH, PT-205, FV-3001, LSHH-420, PT-1. A single digit needs the dash, so "reactor R1" is not a tag. OCR
# misreads O/I/l for digits in the number part, so those are accepted there and fixed (a real digit must remain),
# as is a lower-case l for I among the letters.
_TAG = re.compile(r"(?<![A-Za-z])([A-Z][A-Zl]{0,4})(-?)([0-9OIl]{1,5})([A-Z]?)(?:[.,]([A-Z0-9]{1,6}))?(?![A-Za-z0-9])")
_TIME = re.compile(r"(?<!\d)(\d{1,2}:\d{2}(?::\d{2})?)(?!\d)")
_UNITS = r"(?:°C|°F|℃|bar|barg|kPa|MPa|psi|m3/h|m³/h|t/h|kg/h|%|rpm|A|V|kW|mm)"
_VALUE = re.compile(rf"^-?\d+(?:[.,]\d+)?\s*{_UNITS}?$")
_TRAILING_VALUE = re.compile(rf"\s(-?\d+(?:[.,]\d+)?\s*{_UNITS})$")  # "... reactor R1 92.4 °C" in one OCR box
_DIGIT_FIXES = str.maketrans({"O": "0", "I": "1", "l": "1"})


def split_tag(text: str) -> tuple[str, str] | None:
    """The first instrument tag in `text`, normalised (spaces around '-'/'.' removed, O/I/l in the number fixed),
    and the text after it."""
    compact = re.sub(r"\s*([.\-])\s*", r"\1", text)
    for match in _TAG.finditer(compact):
        letters, dash, number, loop, attribute = match.groups()
        if not any(ch.isdigit() for ch in number) or (len(number) < 2 and not dash):
            continue
        tag = f"{letters.replace('l', 'I')}-{number.translate(_DIGIT_FIXES)}{loop}"
        return (f"{tag}.{attribute}" if attribute else tag), compact[match.end() :].strip()
    return None


def find_tag(text: str) -> str | None:
    found = split_tag(text)
    return found[0] if found else None


def find_time(text: str) -> str | None:
    match = _TIME.search(text)
    return match.group(1) if match else None


def is_value(text: str) -> bool:
    return bool(_VALUE.match(text.strip())) and not _TIME.search(text)


@dataclass
class Line:
    """Text boxes sharing one baseline, left to right."""

    boxes: list[TextBox] = field(default_factory=list)

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        return (
            min(b.bbox[0] for b in self.boxes),
            min(b.bbox[1] for b in self.boxes),
            max(b.bbox[2] for b in self.boxes),
            max(b.bbox[3] for b in self.boxes),
        )

    @property
    def centre_y(self) -> float:
        return sum(b.centre_y for b in self.boxes) / len(self.boxes)

    @property
    def height(self) -> float:
        return sum(b.height for b in self.boxes) / len(self.boxes)

    @property
    def text(self) -> str:
        return " ".join(b.text for b in self.boxes)

    @property
    def score(self) -> float:
        return sum(b.score for b in self.boxes) / len(self.boxes)


def group_lines(boxes: list[TextBox]) -> list[Line]:
    """Boxes whose vertical centres lie within half a text height of each other form one line. In a photo the lines
    tilt: centres are first levelled with the median tilt of the wider boxes, so a row's right-hand cells do not
    slide into the next row."""
    wide = [b.slope for b in boxes if b.bbox[2] - b.bbox[0] > 3 * b.height]
    tilt = float(np.median(wide)) if wide else 0.0

    def level(box: TextBox) -> float:
        return box.centre_y - tilt * (box.bbox[0] + box.bbox[2]) / 2

    lines: list[tuple[list[float], Line]] = []  # levelled centres of each line's boxes, the line
    for box in sorted(boxes, key=level):
        y = level(box)
        found = next(
            (
                entry
                for entry in reversed(lines)
                if abs(sum(entry[0]) / len(entry[0]) - y) <= 0.5 * max(entry[1].height, box.height)
            ),
            None,
        )
        if found is None:
            lines.append(([y], Line([box])))
        else:
            found[0].append(y)
            found[1].boxes.append(box)
    for _, line in lines:
        line.boxes.sort(key=lambda b: b.bbox[0])
    return [line for _, line in lines]
