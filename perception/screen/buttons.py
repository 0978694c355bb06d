"""Buttons: short text inside a bordered rectangle whose face stands out from what surrounds it (a raised face), or
any bordered rectangle around a known alarm command (ACK, SILENCE, 确认 ...). Boxed process values are not buttons:
their face is the same colour as the panel around them."""

from __future__ import annotations

import cv2
import numpy as np

from perception.screen.ocr import TextBox

BBox = tuple[int, int, int, int]
ALARM_COMMANDS = {
    "ACK",
    "ACK ALL",
    "ACKNOWLEDGE",
    "SILENCE",
    "RESET",
    "MUTE",
    "确认",
    "全部确认",
    "消音",
    "复位",
    "应答",
    "全部应答",
}
MIN_BORDER_CONTRAST = 25  # grey levels between a button's border line and its face
MIN_FACE_CONTRAST = 10  # grey levels between the button face and the surface it sits on
MAX_SPREAD = 40  # grey-level std along a border or face: above it, the "border" is text or clutter


def find_rectangles(grey: np.ndarray) -> list[BBox]:
    """Closed, nearly rectangular outlines of button size."""
    edges = cv2.Canny(grey, 40, 120)
    edges = cv2.dilate(edges, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    height = grey.shape[0]
    rectangles = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if not (12 <= h <= height / 10 and 1.2 * h <= w <= 14 * h):
            continue
        (_, _), (rw, rh), _ = cv2.minAreaRect(contour)
        if cv2.contourArea(contour) >= 0.8 * rw * rh:
            rectangles.append((x, y, x + w, y + h))
    return rectangles


def _sides(grey: np.ndarray, rect: BBox, offset: int) -> list[np.ndarray] | None:
    """Grey levels along the middle of the top, bottom, left and right side of `rect`, moved `offset` pixels inwards
    (negative: outwards). Only the middle of each side: rounded corners and the text in the centre stay out."""
    x1, y1, x2, y2 = rect
    h, w = y2 - y1, x2 - x1
    top, bottom, left, right = y1 + offset, y2 - 1 - offset, x1 + offset, x2 - 1 - offset
    if not (0 <= top < bottom < grey.shape[0] and 0 <= left < right < grey.shape[1]):
        return None
    my, mx = slice(y1 + h // 4, y2 - h // 4), slice(x1 + w // 6, x2 - w // 6)
    return [
        grey[top, mx].astype(np.int16),
        grey[bottom, mx].astype(np.int16),
        grey[my, left].astype(np.int16),
        grey[my, right].astype(np.int16),
    ]


def is_button_frame(grey: np.ndarray, rect: BBox, command: bool) -> bool:
    """An even border line on at least three sides around an even face; unless the text is an alarm command, the face
    must also stand out from the surface around it (a raised button, not a boxed process value on the panel)."""
    face, outside = _sides(grey, rect, max(4, (rect[3] - rect[1]) // 5)), _sides(grey, rect, -5)
    if face is None:
        return False
    face = np.concatenate(face)
    face_level = float(np.median(face))
    if face.std() > MAX_SPREAD:
        return False
    # the outline found by the edge detector sits a few px off the drawn line, differently on each side
    rings = [r for offset in range(-2, 4) if (r := _sides(grey, rect, offset)) is not None]
    bordered_sides = sum(
        any(
            ring[side].std() <= MAX_SPREAD and abs(float(np.median(ring[side])) - face_level) >= MIN_BORDER_CONTRAST
            for ring in rings
        )
        for side in range(4)
    )
    if bordered_sides < 3:
        return False
    if command or outside is None:
        return True
    return abs(face_level - float(np.median(np.concatenate(outside)))) >= MIN_FACE_CONTRAST


def find_buttons(grey: np.ndarray, texts: list[TextBox]) -> dict[int, BBox]:
    """Index of each text box that is a button label → the button's rectangle."""
    rectangles = find_rectangles(grey)
    buttons = {}
    for index, box in enumerate(texts):
        if len(box.text) > 24:
            continue
        tx1, ty1, tx2, ty2 = box.bbox
        cx, cy, slack = (tx1 + tx2) / 2, (ty1 + ty2) / 2, box.height / 2  # OCR boxes are padded around glyphs
        around = [
            r
            for r in rectangles
            if r[0] < cx < r[2]
            and r[1] < cy < r[3]
            and r[0] <= tx1 + slack
            and r[2] >= tx2 - slack
            and 0.78 * box.height <= r[3] - r[1] <= 2.5 * box.height
            and r[2] - r[0] <= (tx2 - tx1) + 5 * box.height
        ]  # (a tight outline of blurred glyphs is lower)
        if not around:
            continue
        rect = max(around, key=lambda r: (r[2] - r[0]) * (r[3] - r[1]))  # the outer edge of the border
        if is_button_frame(grey, rect, command=box.text.upper() in ALARM_COMMANDS):
            buttons[index] = rect
    return buttons
