"""Alarm-coloured marks found with OpenCV: compact badges (square/triangle/diamond/circle) and wide bars (an alarm
banner or a highlighted alarm-list row). Two frames tell a blinking (unacknowledged) badge from a steady one."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from perception.screen.colours import alarm_masks

BBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class ColourMark:
    kind: str  # "badge" | "bar"
    bbox: BBox
    priority: str
    shape: str  # square | triangle | diamond | circle for badges; "bar" for bars
    solidity: float  # contour area / its rotated bounding rectangle: how cleanly the shape was found
    state: str | None = None  # "blinking" | "steady" when a previous frame was given


def find_marks(hsv: np.ndarray) -> list[ColourMark]:
    """Badges and bars of every alarm colour in an HSV image."""
    height, width = hsv.shape[:2]
    # badge sizes scale with the screen: HMI badges are about one to three text heights
    min_side, max_side = max(7, round(height / 110)), max(24, round(height / 18))
    kernel = np.ones((2, 2), np.uint8)
    marks = []
    for priority, mask in alarm_masks(hsv).items():
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)  # JPEG speckle and antialiased text edges
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        found = [m for c in contours if (m := _classify(c, priority, width, height, min_side, max_side))]
        marks += found
        for bar in (m for m in found if m.kind == "bar"):
            marks += _badges_inside(mask, bar, width, height, min_side, max_side)
    return marks


def _badges_inside(
    mask: np.ndarray, bar: ColourMark, width: int, height: int, min_side: int, max_side: int
) -> list[ColourMark]:
    """A badge drawn on a highlight of its own colour shows only by its thin outline: a hole in the bar with the
    badge's face inside. Eroding by one pixel cuts the face loose where the outline is only diagonally closed.
    (When the badge's digit touches the outline, the face falls apart and the badge is missed.)"""
    x1, y1, x2, y2 = bar.bbox
    crop = cv2.erode(mask[y1:y2, x1:x2], np.ones((3, 3), np.uint8))
    contours, hierarchy = cv2.findContours(crop, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return []
    parents = hierarchy[0][:, 3]
    badges = []
    for index, contour in enumerate(contours):
        hole = parents[index]
        if hole == -1 or parents[hole] == -1 or parents[parents[hole]] != -1:
            continue  # wanted: bar (outer) -> hole (the outline) -> face
        # a face is at least ~2/3 of a text line high; the counters of letters (o, 0, 8) are smaller
        mark = _classify(contour + [x1, y1], bar.priority, width, height, max(min_side, round(height / 65)), max_side)
        if mark is not None and mark.kind == "badge":
            bx1, by1, bx2, by2 = mark.bbox  # grow back the pixel the erosion took
            badges.append(replace(mark, bbox=(bx1 - 1, by1 - 1, bx2 + 1, by2 + 1)))
    return badges


def _classify(
    contour: np.ndarray, priority: str, width: int, height: int, min_side: int, max_side: int
) -> ColourMark | None:
    x, y, w, h = cv2.boundingRect(contour)
    if w < min_side and h < min_side:
        return None
    (_, _), (rw, rh), _ = cv2.minAreaRect(contour)
    contour = cv2.convexHull(contour)  # the badge's digit can notch its outline; badges are convex
    area = cv2.contourArea(contour)
    solidity = area / max(rw * rh, 1.0)
    long_side, short_side = max(rw, rh), min(rw, rh)
    if long_side >= 0.25 * width and min_side <= short_side <= height / 9 and solidity >= 0.75:
        return ColourMark("bar", (x, y, x + w, y + h), priority, "bar", round(min(1.0, solidity), 3))
    fill = area / max(1, (w - 1) * (h - 1))  # contour area runs through pixel centres: one pixel less each way
    if min_side <= w <= max_side and min_side <= h <= max_side and 0.6 <= w / h <= 1.6 and fill >= 0.4:
        return ColourMark("badge", (x, y, x + w, y + h), priority, _shape(contour, fill), round(min(1.0, solidity), 3))
    return None


def _shape(contour: np.ndarray, fill: float) -> str:
    """Square ≈ 1.0 of its box filled, circle ≈ 0.79, triangle and diamond ≈ 0.5: the widest row tells those two."""
    if fill >= 0.88:
        return "square"
    if fill >= 0.68:
        return "circle"
    x, y, w, h = cv2.boundingRect(contour)
    canvas = np.zeros((h, w), np.uint8)
    cv2.drawContours(canvas, [contour - [x, y]], -1, 255, thickness=cv2.FILLED)
    widest_row = int(np.argmax(np.count_nonzero(canvas, axis=1)))
    return "triangle" if widest_row > 0.7 * h else "diamond"


def iou(a: BBox, b: BBox) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def mark_blinking(current: list[ColourMark], previous: list[ColourMark]) -> list[ColourMark]:
    """Marks present in both frames are steady; in one frame only, blinking. Marks seen only in the previous frame
    (off now, mid-blink) are kept with the previous bbox, so an unacknowledged alarm is never lost to the blink."""

    def matched(mark: ColourMark, others: list[ColourMark]) -> bool:
        return any(
            o.kind == mark.kind and o.priority == mark.priority and iou(o.bbox, mark.bbox) >= 0.3 for o in others
        )

    marked = [replace(m, state="steady" if matched(m, previous) else "blinking") for m in current]
    return marked + [replace(m, state="blinking") for m in previous if not matched(m, current)]
