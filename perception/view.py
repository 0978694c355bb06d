"""What the model is shown of a frame: the whole screen, or a region of interest plus a small overview.

A region view's main image is a crop of the frame, so the model's 0-1000 coordinates refer to that crop. `View`
is the one place that maps them back: crop-relative 0..1000 -> frame image pixels (crop offset and scale) ->
screen pixels (perception.coords.image_to_screen).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image

from perception.coords import image_to_screen, model_to_image
from perception.frames import Frame
from perception.vlm.budget import FACTOR, vision_tokens

ViewMode = Literal["auto", "full", "region"]
MAX_ASPECT = 4.0  # longest to shortest side of the crop: a 35:1 banner strip alone hides its context
PAD = 48  # frame pixels of context kept around the alarm's box
OVERVIEW_TOKENS = 256  # the whole screen, downscaled: enough to see where the region lies


@dataclass(frozen=True)
class View:
    """The frame box (x1, y1, x2, y2, image pixels) the model's main image shows; `overview` when a region."""

    box: tuple[int, int, int, int]
    overview: bool = False

    @classmethod
    def full(cls, frame: Frame) -> View:
        return cls((0, 0, *frame.image.size))

    @property
    def size(self) -> tuple[int, int]:
        x1, y1, x2, y2 = self.box
        return x2 - x1, y2 - y1

    def to_frame(self, coords: tuple[float, ...] | list[float]) -> tuple[int, ...]:
        """0..1000 point or box on the main image -> pixels of the frame's image."""
        local = model_to_image(coords, self.size)
        return tuple(v + self.box[i % 2] for i, v in enumerate(local))

    def to_screen(self, coords: tuple[float, ...] | list[float], frame: Frame) -> tuple[int, ...]:
        """0..1000 point or box on the main image -> logical screen pixels (what pyautogui clicks)."""
        return image_to_screen(self.to_frame(coords), frame)

    def images(self, frame: Frame) -> list[bytes]:
        """PNGs the model is shown, main image first: the crop, then (region views) the downscaled whole screen."""
        if not self.overview:
            return [frame.png_bytes()]
        return [_png(frame.image.crop(self.box)), _png(_downscaled(frame.image, OVERVIEW_TOKENS))]

    def record(self) -> dict[str, Any]:
        return {"box": list(self.box), "overview": self.overview}


def region_box(frame_size: tuple[int, int], bbox: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """`bbox` padded by PAD, then grown on its short side (centred, shifted to stay inside) to at most MAX_ASPECT."""
    width, height = frame_size
    x1, y1, x2, y2 = max(bbox[0] - PAD, 0), max(bbox[1] - PAD, 0), min(bbox[2] + PAD, width), min(bbox[3] + PAD, height)
    x1, x2 = _grown(x1, x2, (y2 - y1) / MAX_ASPECT, width)
    y1, y2 = _grown(y1, y2, (x2 - x1) / MAX_ASPECT, height)
    return x1, y1, x2, y2


def _grown(low: int, high: int, least: float, extent: int) -> tuple[int, int]:
    """[low, high) widened around its centre to at least `least` pixels, kept inside [0, extent)."""
    need = min(round(least), extent)
    if high - low >= need:
        return low, high
    low = max(0, min((low + high - need) // 2, extent - need))
    return low, low + need


@dataclass(frozen=True)
class ViewSetting:
    """How views are chosen: the mode (`auto` already settled to `region` on a CPU) and the model's pixel budget."""

    mode: ViewMode
    min_pixels: int
    max_pixels: int

    def choose(self, frame: Frame, element: Any) -> View:
        """A region around the picked alarm's element (its box, `bbox`), or the full screen.

        `auto` takes the region when the full screen needs more tokens than the pixel budget gives it. Without an
        element (no alarm on screen, or no parse) the view is the full screen.
        """
        width, height = frame.image.size
        tight = vision_tokens(width, height, self.min_pixels, self.max_pixels) < (width // FACTOR) * (height // FACTOR)
        if element is None or self.mode == "full" or (self.mode == "auto" and not tight):
            return View.full(frame)
        return View(region_box((width, height), tuple(element.bbox)), overview=True)

    def record(self) -> dict[str, Any]:
        return {"mode": self.mode, "min_pixels": self.min_pixels, "max_pixels": self.max_pixels}


def _downscaled(image: Image.Image, tokens: int) -> Image.Image:
    width, height = image.size
    factor = min(1.0, (tokens * FACTOR * FACTOR / (width * height)) ** 0.5)
    return image.resize(
        (max(FACTOR, round(width * factor)), max(FACTOR, round(height * factor))), Image.Resampling.BILINEAR
    )


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
