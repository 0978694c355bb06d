"""Qwen3-VL answers on a relative 0-1000 grid; these map it to image pixels and on to real screen pixels.

Chain: model (0..1000, clamped) -> this image's pixels -> original capture's pixels (+ crop offset)
-> logical screen pixels (/ HiDPI scale + monitor offset).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

from perception.frames import Frame

N = TypeVar("N", int, float)  # a point or box keeps its number type through _ordered

MODEL_SCALE = 1000


def _check(coords: Sequence[float]) -> None:
    if len(coords) not in (2, 4):
        raise ValueError(f"expected a point (x, y) or a box (x1, y1, x2, y2), got {len(coords)} values: {coords!r}")


def _ordered(values: list[N]) -> list[N]:
    if len(values) == 4:
        x1, y1, x2, y2 = values
        return [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]
    return values


def model_to_image(coords: Sequence[float], image_size: tuple[int, int]) -> tuple[int, ...]:
    """0..1000 relative point or box (clamped, box corners ordered) -> pixels of an image of `image_size` (w, h)."""
    _check(coords)
    width, height = image_size
    clamped = _ordered([min(max(float(v), 0.0), MODEL_SCALE) for v in coords])
    out = []
    for i, value in enumerate(clamped):
        extent = width if i % 2 == 0 else height
        # a point must land on a pixel (max extent-1); a box edge may be the far border
        limit = extent if len(clamped) == 4 and i >= 2 else extent - 1
        out.append(min(round(value / MODEL_SCALE * extent), limit))
    return tuple(out)


def image_to_model(coords: Sequence[float], image_size: tuple[int, int]) -> tuple[int, ...]:
    """Image pixels -> 0..1000 relative coordinates (for set-of-marks hints and recorded sessions)."""
    _check(coords)
    width, height = image_size
    out = []
    for i, value in enumerate(coords):
        extent = width if i % 2 == 0 else height
        out.append(min(max(round(float(value) / extent * MODEL_SCALE), 0), MODEL_SCALE))
    return tuple(_ordered(out))


def model_to_screen(coords: Sequence[float], frame: Frame) -> tuple[int, ...]:
    """0..1000 point/box on `frame` -> logical screen pixels (what pyautogui clicks); see `image_to_screen`."""
    return image_to_screen(model_to_image(coords, frame.image.size), frame)


def image_to_screen(pixels: Sequence[int], frame: Frame) -> tuple[int, ...]:
    """Pixels of `frame`'s image (a point or box, e.g. a parsed element) -> logical screen pixels.

    Adds the crop offset, divides by the HiDPI scale, adds the monitor/region offset. Frames without geometry
    (photos, files) are not on this screen: the result is then in pixels of the original (uncropped) image.
    """
    _check(pixels)
    dx, dy = frame.crop_offset
    geometry = frame.geometry
    out = []
    for i, value in enumerate(pixels):
        offset = dx if i % 2 == 0 else dy
        if geometry is None:
            out.append(value + offset)
        else:
            origin = geometry.left if i % 2 == 0 else geometry.top
            # floor, not round: image pixel 2559 at scale 2 is logical pixel 1279, never the off-screen 1280
            out.append(origin + math.floor((value + offset) / geometry.scale))
    return tuple(out)
