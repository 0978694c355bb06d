"""Qwen3-VL's 0-1000 coordinates -> image pixels -> real screen pixels, through crops, monitor offsets and HiDPI."""

from datetime import datetime, timezone

import pytest
from PIL import Image

from perception.coords import image_to_model, image_to_screen, model_to_image, model_to_screen
from perception.frames import Frame, ScreenGeometry


def frame(size=(1000, 500), geometry=None) -> Frame:
    return Frame(Image.new("RGB", size), "test", datetime.now(timezone.utc), geometry)


def test_point_and_box_scale_to_image_pixels():
    assert model_to_image([500, 500], (1920, 1080)) == (960, 540)
    assert model_to_image([100, 200, 300, 400], (1920, 1080)) == (192, 216, 576, 432)


def test_out_of_range_values_are_clamped_and_points_stay_on_the_image():
    assert model_to_image([-50, 1200], (1920, 1080)) == (0, 1079)
    assert model_to_image([1000, 1000], (1920, 1080)) == (1919, 1079)
    assert model_to_image([-5, -5, 1005, 1005], (1920, 1080)) == (0, 0, 1920, 1080)


def test_box_corners_are_put_in_order():
    assert model_to_image([300, 400, 100, 200], (1000, 1000)) == (100, 200, 300, 400)


def test_wrong_number_of_values_is_rejected():
    with pytest.raises(ValueError, match="3 values"):
        model_to_image([1, 2, 3], (10, 10))


def test_image_to_model_inverts_model_to_image():
    size = (1920, 1080)
    for coords in ([0, 0], [250, 750], [100, 200, 300, 400]):
        assert image_to_model(model_to_image(coords, size), size) == tuple(coords)
    assert image_to_model([3000, -10], size) == (1000, 0)


def test_frame_without_geometry_maps_to_image_pixels():
    assert model_to_screen([500, 500], frame((800, 600))) == (400, 300)


def test_second_monitor_offset_is_added():
    geometry = ScreenGeometry(left=1920, top=0, width=1280, height=1024)
    assert model_to_screen([500, 500], frame((1280, 1024), geometry)) == (1920 + 640, 512)


def test_negative_offset_of_a_monitor_left_of_the_primary():
    geometry = ScreenGeometry(left=-1280, top=-200, width=1280, height=800)
    assert model_to_screen([0, 0, 1000, 1000], frame((1280, 800), geometry)) == (-1280, -200, 0, 600)


def test_hidpi_scale_divides_image_pixels_back_to_logical():
    geometry = ScreenGeometry(left=0, top=0, width=1440, height=900, scale=2.0)
    retina = frame((2880, 1800), geometry)
    assert model_to_screen([500, 500], retina) == (720, 450)
    assert model_to_screen([1000, 1000], retina) == (1439, 899)  # never one past the screen edge


def test_crop_keeps_mapping_to_the_screen():
    geometry = ScreenGeometry(left=1920, top=100, width=1920, height=1080, scale=1.0)
    full = frame((1920, 1080), geometry)
    roi = full.crop((960, 540, 1920, 1080))
    assert roi.image.size == (960, 540) and roi.crop_offset == (960, 540)
    assert model_to_screen([500, 500], roi) == (1920 + 960 + 480, 100 + 540 + 270)
    nested = roi.crop((100, 100, 200, 200))  # crops of crops accumulate
    assert nested.crop_offset == (1060, 640)
    assert model_to_screen([0, 0], nested) == (1920 + 1060, 100 + 640)


def test_image_pixels_map_to_the_screen_exactly_without_a_0_1000_round_trip():
    geometry = ScreenGeometry(left=-1440, top=0, width=1440, height=900, scale=2.0)
    roi = frame((2880, 1800), geometry).crop((1000, 600, 2000, 1200))
    # an element centre at image pixel (333, 77) of the crop: (1333, 677) on the capture, (666, 338) logical
    assert image_to_screen((333, 77), roi) == (-1440 + 666, 338)
    assert image_to_screen((0, 0, 1000, 600), roi) == (-1440 + 500, 300, -1440 + 1000, 600)
    # through 0-1000 a point on a wide screen can land a pixel off: 1234/2880 -> 428 -> 1232.6 -> 1233
    wide = frame((2880, 900), ScreenGeometry(left=0, top=0, width=2880, height=900))
    assert image_to_screen((1234, 10), wide) == (1234, 10)
    assert model_to_screen(image_to_model((1234, 10), wide.image.size), wide) == (1233, 10)


def test_crop_with_hidpi_and_offset_together():
    geometry = ScreenGeometry(left=-1440, top=0, width=1440, height=900, scale=2.0)
    roi = frame((2880, 1800), geometry).crop((1000, 600, 2000, 1200))
    assert model_to_screen([500, 500], roi) == (-1440 + 750, 450)


def test_crop_of_a_photo_maps_to_the_original_photo_pixels():
    roi = frame((800, 600)).crop((400, 300, 800, 600))
    assert model_to_screen([500, 500], roi) == (600, 450)


def test_crop_outside_the_image_is_rejected():
    with pytest.raises(ValueError, match="not inside the 1000x500 image"):
        frame().crop((0, 0, 1200, 100))
