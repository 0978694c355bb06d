"""Vision tokens per pixel budget follow Qwen's smart_resize (one token per 32x32 pixels)."""

import pytest
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as hf_smart_resize

from perception.vlm.budget import smart_resize, vision_tokens


def test_full_hd_screen_at_a_large_budget_costs_about_2000_tokens():
    assert vision_tokens(1920, 1080, 256 * 32 * 32, 16384 * 32 * 32) == 2040  # 60 x 34 tokens


def test_small_budget_shrinks_the_screen_to_about_250_tokens():
    assert vision_tokens(1920, 1080, 64 * 32 * 32, 256 * 32 * 32) == 252


def test_tiny_image_is_scaled_up_to_min_pixels():
    assert vision_tokens(50, 40, 64 * 32 * 32, 1280 * 32 * 32) >= 64


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 800), (1024, 768), (333, 2000), (45, 31), (3840, 2160)])
@pytest.mark.parametrize("budget", [(4 * 1024, 256 * 1024), (256 * 1024, 1280 * 1024), (1024 * 1024, 16384 * 1024)])
def test_matches_transformers_smart_resize(size, budget):
    width, height = size
    expected_h, expected_w = hf_smart_resize(height, width, 32, *budget)
    assert smart_resize(width, height, *budget) == (expected_w, expected_h)


def test_degenerate_sizes_are_rejected():
    with pytest.raises(ValueError, match="positive"):
        vision_tokens(0, 10, 1024, 4096)
    with pytest.raises(ValueError, match="aspect ratio"):
        vision_tokens(10000, 10, 1024, 4096)
