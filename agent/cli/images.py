"""Pictures named on the command line (`parse`, `profile learn`): loaded upright, within the pixel cap, or a one-line
error naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agent.cli import UserError
from agent.settings import Settings

if TYPE_CHECKING:
    from PIL import Image


def load_image(path: Path, settings: Settings) -> Image.Image:
    from perception.capture import FrameSourceError, load_image
    from perception.images import ImageLimits

    try:  # upright (phone photos carry their rotation in EXIF), 8-bit RGB, within the configured pixel cap
        return load_image(path, ImageLimits.from_settings(settings))
    except FrameSourceError as e:
        raise UserError(str(e)) from None
