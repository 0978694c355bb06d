"""A captured image plus where it sits on the real desktop, so model coordinates can be mapped back to screen pixels."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
from PIL import Image


def eight_bit(samples: np.ndarray) -> np.ndarray:
    """uint8 samples; 16-bit ones (16-bit PNG/TIFF) keep their levels (0x8080 -> 0x80) instead of clipping at 255."""
    if samples.dtype == np.uint8 or samples.dtype.kind not in "ui":
        return samples
    # uint16 is 16-bit by type; PIL's "I" (int32) holds 16-bit PNG levels too, or 8-bit ones when none exceeds 255
    if samples.dtype == np.uint16 or (samples.size and samples.max() > 255):
        samples = samples >> 8
    return np.clip(samples, 0, 255).astype(np.uint8)


def rgb_image(image: Image.Image) -> Image.Image:
    """`image` as 8-bit RGB. PIL's own convert("RGB") clips 16-bit greyscale ("I;16", "I") at 255: nearly white."""
    if image.mode.startswith("I;16") or image.mode == "I":
        image = Image.fromarray(eight_bit(np.asarray(image)))
    return image.convert("RGB")


@dataclass(frozen=True)
class ScreenGeometry:
    """Where the captured image sits on the real desktop."""

    left: int  # offset of the captured area in the virtual desktop, logical (pyautogui) pixels; may be negative
    top: int
    width: int  # logical size of the captured area
    height: int
    scale: float = 1.0  # image pixels per logical pixel (HiDPI: 2.0)


@dataclass(frozen=True)
class Frame:
    image: Image.Image  # RGB
    source: str  # "screen:1", "file:/path.png", ...
    captured_at: datetime
    geometry: ScreenGeometry | None = None  # None for photos/files (not on this screen)
    # (left, top) of this image inside the originally captured image, in its pixels; (0, 0) unless cropped
    crop_offset: tuple[int, int] = (0, 0)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def png_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.image.save(buffer, format="PNG")
        return buffer.getvalue()

    def crop(self, box: tuple[int, int, int, int]) -> Frame:
        """Region of interest (x1, y1, x2, y2) in this frame's image pixels; the result still maps to the screen."""
        x1, y1, x2, y2 = box
        width, height = self.image.size
        if not (0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height):
            raise ValueError(f"crop box {box} is not inside the {width}x{height} image")
        return replace(
            self,
            image=self.image.crop(box),
            crop_offset=(self.crop_offset[0] + x1, self.crop_offset[1] + y1),
        )
