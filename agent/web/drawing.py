"""Pictures for the operator: the screenshot with numbered screen elements, the answer's evidence boxes, and the
target of an action (planned, edited or carried out) drawn so they read at a glance.

Numbers sit outside their element's box (to its left, else above it), so they never cover the element's own first
letters; labels are white on black with a coloured edge, so they stay readable on a red alarm banner too."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

ELEMENT_COLOUR = (0, 90, 200)
EVIDENCE_COLOUR = (230, 20, 20)
TARGET_COLOUR = (255, 200, 0)  # amber: not a priority colour of the HMI's own palette
EDITED_COLOUR = (0, 200, 255)
CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
Box = tuple[int, int, int, int]


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(CJK_FONT, size)  # labels may be Chinese
    except OSError:
        return ImageFont.load_default(size)


def draw_marks(
    image: Image.Image,
    elements: Iterable[tuple[int, Box]] = (),
    evidence: Iterable[tuple[str, Box]] = (),
    targets: Iterable[tuple[str, tuple[int, int]]] = (),
) -> Image.Image:
    """A copy of `image` with numbered element boxes (thin, blue), labelled evidence boxes (thick, red) and action
    targets (crosshair with a label)."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    small, large = _font(max(12, out.height // 60)), _font(max(14, out.height // 40))
    for number, box in elements:
        draw.rectangle(box, outline=ELEMENT_COLOUR, width=1)
        _number(draw, box, str(number), small, out.size)
    for label, box in evidence:
        draw.rectangle(box, outline=EVIDENCE_COLOUR, width=3)
        _label(draw, (box[0], box[3] + 3), label[:60], EVIDENCE_COLOUR, large, out.size)
    for label, point in targets:
        draw_target(out, point, label, draw=draw)
    return out


def draw_target(
    image: Image.Image,
    point: tuple[int, int],
    label: str,
    *,
    colour: tuple[int, int, int] = TARGET_COLOUR,
    draw: ImageDraw.ImageDraw | None = None,
) -> Image.Image:
    """Draws (in place) a ring with ticks around `point`, leaving what is under it readable, and a label above it,
    beside the ring on whichever side has room; returns the image."""
    draw = draw or ImageDraw.Draw(image)
    x, y = point
    r = max(22, image.height // 20)  # wide enough to leave a button's caption readable inside the ring
    for ink, width in (((0, 0, 0), 5), (colour, 2)):  # a black outline shows on any background
        draw.ellipse((x - r, y - r, x + r, y + r), outline=ink, width=width)
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):  # ticks outside the ring only
            draw.line((x + dx * r, y + dy * r, x + dx * 2 * r, y + dy * 2 * r), fill=ink, width=width)
    font = _font(max(14, image.height // 40))
    width = draw.textlength(label[:80], font=font) + 8
    left = x + r + 4 if x + r + 4 + width <= image.width else x - r - 4 - width
    _label(draw, (int(left), y - 2 * r - font.size), label[:80], colour, font, image.size)
    return image


def _number(draw: ImageDraw.ImageDraw, box: Box, text: str, font, size: tuple[int, int]) -> None:
    width = draw.textlength(text, font=font) + 4
    height = font.size + 2
    if box[0] - width - 2 >= 0:  # left of the box, vertically centred on it
        at = (box[0] - width - 1, max((box[1] + box[3]) // 2 - height // 2, 0))
    elif box[1] - height - 1 >= 0:  # above it
        at = (box[0], box[1] - height - 1)
    else:
        at = (box[0], box[3] + 1)
    draw.rectangle((at[0], at[1], at[0] + width, at[1] + height), fill=ELEMENT_COLOUR)
    draw.text((at[0] + 2, at[1]), text, fill=(255, 255, 255), font=font)


def _label(
    draw: ImageDraw.ImageDraw, at: tuple[int, int], text: str, edge: tuple[int, int, int], font, size: tuple[int, int]
) -> None:
    """White text on black with a coloured edge, moved inside the picture when it would stick out."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    width, height = right - left + 8, bottom - top + 6
    x = min(max(at[0], 0), max(size[0] - width, 0))
    y = min(max(at[1], 0), max(size[1] - height, 0))
    draw.rectangle((x, y, x + width, y + height), fill=(0, 0, 0), outline=edge, width=2)
    draw.text((x + 4 - left, y + 3 - top), text, fill=(255, 255, 255), font=font)
