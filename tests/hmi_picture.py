"""A small rendered alarm screen (banner, alarm row, ACK button) and a still screen source that shows it."""

from __future__ import annotations

from datetime import datetime, timezone

from PIL import Image, ImageDraw, ImageFont

from perception.frames import Frame, ScreenGeometry


def render_hmi(size: tuple[int, int] = (640, 400), acked: bool = False) -> Image.Image:
    """A small alarm-list screen: a banner, one alarm row and an ACK button."""
    image = Image.new("RGB", size, (200, 200, 200))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=18)
    draw.rectangle((0, 0, size[0], 40), fill=(150, 150, 150) if acked else (220, 30, 30))
    draw.text((10, 10), "TI-101.HI  REACTOR TEMP HIGH  98.5 C", fill=(255, 255, 255), font=font)
    draw.rectangle((20, 80, 620, 110), fill=(255, 255, 255))
    draw.text((30, 85), "01:02:03  TI-101.HI  HIGH  " + ("ACKED" if acked else "UNACK"), fill=(0, 0, 0), font=font)
    draw.rectangle((500, 330, 600, 370), fill=(60, 60, 60))
    draw.text((530, 340), "ACK", fill=(255, 255, 255), font=font)
    return image


class StillScreen:
    """A screen source that always shows the same picture at the desktop origin (real Frame with geometry)."""

    def __init__(self, image: Image.Image):
        self.image = image

    def grab(self) -> Frame:
        w, h = self.image.size
        return Frame(self.image, "screen:1", datetime.now(timezone.utc), ScreenGeometry(0, 0, w, h))
