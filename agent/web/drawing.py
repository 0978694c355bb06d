"""Pictures for the operator: the screenshot with numbered screen elements and the answer's evidence boxes drawn."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

ELEMENT_COLOUR = (0, 120, 255)
EVIDENCE_COLOUR = (230, 20, 20)
CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(CJK_FONT, size)  # labels may be Chinese
    except OSError:
        return ImageFont.load_default(size)


def draw_marks(
    image: Image.Image,
    elements: Iterable[tuple[int, tuple[int, int, int, int]]] = (),
    evidence: Iterable[tuple[str, tuple[int, int, int, int]]] = (),
) -> Image.Image:
    """A copy of `image` with numbered element boxes (thin, blue) and labelled evidence boxes (thick, red)."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    small, large = _font(max(11, out.height // 70)), _font(max(13, out.height // 50))
    for number, box in elements:
        draw.rectangle(box, outline=ELEMENT_COLOUR, width=1)
        _tag(draw, (box[0], box[1]), str(number), ELEMENT_COLOUR, small)
    for label, box in evidence:
        draw.rectangle(box, outline=EVIDENCE_COLOUR, width=3)
        _tag(draw, (box[0], box[3] + 2), label[:60], EVIDENCE_COLOUR, large)
    return out


def _tag(draw: ImageDraw.ImageDraw, at: tuple[int, int], text: str, colour: tuple[int, int, int], font) -> None:
    left, top, right, bottom = draw.textbbox(at, text, font=font)
    draw.rectangle((left - 2, top - 1, right + 2, bottom + 1), fill=colour)
    draw.text(at, text, fill=(255, 255, 255), font=font)
