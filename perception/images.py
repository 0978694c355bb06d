"""Opening an image someone handed us (upload, CLI file, routine frame) the same way on every entry point: size
checked from the header before any pixel is decoded (a 400 KB PNG can claim 12000x12000 pixels), EXIF orientation
applied (phone photos), 8-bit RGB out."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from perception.frames import rgb_image

DEFAULT_MAX_PIXELS = 40_000_000  # three 4K monitors (25 MP) or a 40 MP phone photo
DEFAULT_MAX_ASPECT = 20.0  # a 4-monitor strip is 4:1 after all; 65000x2 is no screen


class ImageRejected(ValueError):
    """Not an image we can read, or one outside the limits. The message is one line that completes "<file> is ..."."""


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_aspect: float = DEFAULT_MAX_ASPECT

    @classmethod
    def from_settings(cls, settings) -> ImageLimits:
        return cls(max_pixels=settings.max_image_pixels, max_aspect=settings.max_image_aspect)

    def check(self, width: int, height: int) -> None:
        """Raises ImageRejected for a size outside the limits (from the header: nothing is decoded yet)."""
        if width < 1 or height < 1:
            raise ImageRejected(f"{width}x{height} pixels: empty")
        if width * height > self.max_pixels:
            raise ImageRejected(f"{width}x{height} = {width * height} pixels, more than the {self.max_pixels} allowed")
        if max(width, height) / min(width, height) > self.max_aspect:
            raise ImageRejected(
                f"{width}x{height} pixels: sides more than {self.max_aspect:g} to 1 are no screen or photo"
            )


DEFAULT_LIMITS = ImageLimits()


def open_image(source: bytes | Path, limits: ImageLimits = DEFAULT_LIMITS) -> Image.Image:
    """An image file or its bytes as upright 8-bit RGB; ImageRejected (one line) for anything else."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    try:
        with warnings.catch_warnings():
            # PIL warns past 89 MP and refuses past 179 MP; our own, lower limit is checked first
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as opened:
                limits.check(*opened.size)
                image = ImageOps.exif_transpose(opened)
                image.load()  # decode now: truncated files fail here, not later in the model
    except Image.DecompressionBombError:
        raise ImageRejected(
            f"over {2 * Image.MAX_IMAGE_PIXELS} pixels, more than the {limits.max_pixels} allowed"
        ) from None
    except UnidentifiedImageError:
        raise ImageRejected("not a readable PNG or JPEG image") from None
    except (OSError, SyntaxError, ValueError) as e:  # truncated or corrupt data
        if isinstance(e, ImageRejected):
            raise
        reason = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise ImageRejected(f"not a readable PNG or JPEG image ({reason})") from None
    return rgb_image(image)
