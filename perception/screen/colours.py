"""Alarm colour → priority, after ISA-101 / ISA-18.2 practice: saturated colour is reserved for alarms.

| priority | meaning            | colour                  | OpenCV hue (0-179)  |
|----------|--------------------|-------------------------|---------------------|
| 1        | critical / urgent  | red                     | 0-6 and 170-179     |
| 2        | high               | orange / amber          | 7-20                |
| 3        | medium             | yellow                  | 21-37               |
| 4        | low / diagnostic   | magenta, purple or blue | 100-169             |

Green (hue 38-99: "running", "normal") is never an alarm. A pixel counts as alarm-coloured only when it is saturated
and bright enough (S >= MIN_SATURATION, V >= MIN_VALUE): grey ISA-101 graphics, dark-theme liquids and glare-washed
background stay out.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_SATURATION = 100
MIN_VALUE = 100


@dataclass(frozen=True)
class AlarmColour:
    priority: str
    name: str
    hues: tuple[tuple[int, int], ...]  # inclusive OpenCV hue ranges


ALARM_COLOURS: tuple[AlarmColour, ...] = (
    AlarmColour("1", "red", ((0, 6), (170, 179))),
    AlarmColour("2", "orange", ((7, 20),)),
    AlarmColour("3", "yellow", ((21, 37),)),
    AlarmColour("4", "magenta/blue", ((100, 169),)),
)
PRIORITY_NAMES = {c.priority: c.name for c in ALARM_COLOURS}


def alarm_masks(hsv: np.ndarray) -> dict[str, np.ndarray]:
    """One uint8 mask (255 = alarm-coloured) per priority for an HSV image."""
    hue, sat, val = cv2.split(hsv)
    vivid = (sat >= MIN_SATURATION) & (val >= MIN_VALUE)
    masks = {}
    for colour in ALARM_COLOURS:
        in_range = np.zeros(hue.shape, bool)
        for low, high in colour.hues:
            in_range |= (hue >= low) & (hue <= high)
        masks[colour.priority] = (in_range & vivid).astype(np.uint8) * 255
    return masks


_HUE_NAMES = (
    (6, "red"),
    (20, "orange"),
    (37, "yellow"),
    (80, "green"),
    (99, "cyan"),
    (130, "blue"),
    (144, "purple"),
    (169, "magenta"),
    (179, "red"),
)
MIN_TINT = 40  # saturation below which a colour is neutral (white / grey / black)


def colour_name(rgb: tuple[float, float, float] | np.ndarray) -> str:
    """A site-profile colour name for one RGB colour: "red", "blue", ..., "pale red" for a washed-out tint (pastel
    row fills), or "white" / "grey" / "black" for neutral colours."""
    pixel = np.uint8(np.clip(np.asarray(rgb, dtype=float), 0, 255)).reshape(1, 1, 3)
    hue, sat, val = (int(v) for v in cv2.cvtColor(pixel, cv2.COLOR_RGB2HSV)[0, 0])
    if sat < MIN_TINT or val < 60:
        return "white" if val >= 200 else "black" if val < 60 else "grey"
    name = next(name for limit, name in _HUE_NAMES if hue <= limit)
    return f"pale {name}" if sat < MIN_SATURATION and val >= 170 else name


def _luma(rgb: np.ndarray) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


@dataclass(frozen=True)
class RowColour:
    """A table row's background and text colour (RGB) and their lightness contrast."""

    fill: tuple[int, int, int]
    ink: tuple[int, int, int]

    @property
    def contrast(self) -> float:
        return abs(_luma(np.array(self.ink)) - _luma(np.array(self.fill)))

    @property
    def fill_name(self) -> str | None:
        """The fill's colour name when it is tinted (a coloured or pastel row), None on a neutral row."""
        name = colour_name(self.fill)
        return None if name in ("white", "grey", "black") else name

    @property
    def ink_name(self) -> str | None:
        name = colour_name(self.ink)
        return None if name in ("white", "grey", "black") else name


def row_colour(pixels: np.ndarray) -> RowColour | None:
    """Background = the commonest colour of the row's text boxes; ink = the colour of the pixels furthest from it
    (glyph cores, not their antialiased edges). `pixels`: N x 3 RGB uint8."""
    if len(pixels) < 20:
        return None
    codes = (pixels[:, 0] // 16).astype(np.int32) * 256 + (pixels[:, 1] // 16) * 16 + pixels[:, 2] // 16
    common = np.bincount(codes).argmax()
    fill = pixels[codes == common].mean(axis=0)
    distance = np.abs(pixels.astype(np.int16) - fill.astype(np.int16)).sum(axis=1)
    far = distance >= max(60, np.percentile(distance, 92))
    if far.sum() < 5:
        return None
    ink = np.median(pixels[far], axis=0)
    return RowColour(tuple(int(v) for v in fill), tuple(int(v) for v in ink))
