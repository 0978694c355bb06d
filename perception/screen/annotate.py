"""Set-of-marks: the parse's numbered boxes drawn on the image, so the model (and a person) can refer to element ids."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from perception.screen.model import ScreenParse

KIND_COLOURS = {
    "banner": (220, 0, 0),
    "alarm_row": (255, 120, 0),
    "alarm_indicator": (200, 0, 200),
    "button": (0, 120, 255),
    "text": (0, 160, 80),
}


def _label_font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def annotate(image: Image.Image | np.ndarray, parse: ScreenParse) -> Image.Image:
    """A copy of `image` (RGB, same size) with each element's box and id drawn in its kind's colour."""
    canvas = (image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image))).convert("RGB").copy()
    draw = ImageDraw.Draw(canvas)
    font = _label_font(max(10, canvas.height // 70))
    for element in parse.elements:
        colour = KIND_COLOURS[element.kind]
        x1, y1, x2, y2 = element.bbox
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=2)
        label = str(element.id)
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        tag_box = (x1, max(0, y1 - (bottom - top) - 4), x1 + (right - left) + 6, max(bottom - top + 4, y1))
        draw.rectangle(tag_box, fill=colour)
        draw.text((tag_box[0] + 3, tag_box[1] + 2 - top), label, fill=(255, 255, 255), font=font)
    return canvas
