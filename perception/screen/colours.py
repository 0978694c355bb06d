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

