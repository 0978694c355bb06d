"""How many vision tokens an image costs Qwen3-VL under a pixel budget (one token per 32x32 pixels after resizing)."""

from __future__ import annotations

import math

PATCH_SIZE = 16
MERGE_SIZE = 2
FACTOR = PATCH_SIZE * MERGE_SIZE  # one merged token covers FACTOR x FACTOR pixels
DEFAULT_MIN_PIXELS = 256 * FACTOR * FACTOR
DEFAULT_MAX_PIXELS = 1280 * FACTOR * FACTOR  # 1280 tokens: a 1920x1080 screen at about 1500x840


def smart_resize(width: int, height: int, min_pixels: int, max_pixels: int, factor: int = FACTOR) -> tuple[int, int]:
    """Qwen's resize rule: sides become multiples of `factor`, area lands in [min_pixels, max_pixels], aspect kept.

    Returns (width, height) of the image the vision encoder actually sees.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(width, height) / min(width, height) > 200:
        raise ValueError(f"aspect ratio of {width}x{height} is above 200, which Qwen3-VL rejects")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return w_bar, h_bar


def vision_tokens(width: int, height: int, min_pixels: int, max_pixels: int) -> int:
    """Vision tokens Qwen3-VL spends on one width x height image under the [min_pixels, max_pixels] budget."""
    w, h = smart_resize(width, height, min_pixels, max_pixels)
    return (w // FACTOR) * (h // FACTOR)
