"""A captured image plus where it sits on the real desktop, so model coordinates can be mapped back to screen pixels."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import datetime

from PIL import Image


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
