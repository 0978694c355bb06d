"""Frame sources (live mss capture on Xvfb, image files, recordings) and the change gate."""

from datetime import datetime, timezone

import pytest
from PIL import Image

from perception.capture import (
    ChangeGate,
    DirectorySource,
    FileSource,
    FrameNotFoundError,
    FrameSourceError,
    ScreenSource,
    load_image,
)
from perception.coords import model_to_screen
from perception.frames import Frame, ScreenGeometry

RED = (255, 0, 0)


@pytest.fixture
def red_window(xvfb):
    """A borderless red 200x100 Tk window at (300, 200) on the virtual display (no window manager moves it)."""
    import tkinter

    root = tkinter.Tk()
    root.overrideredirect(True)
    root.geometry("200x100+300+200")
    root.configure(background="#ff0000")
    root.update()
    yield root
    root.destroy()


@pytest.mark.xvfb
def test_monitor_capture_has_pixels_and_geometry(red_window):
    frame = ScreenSource(monitor=1).grab()
    assert frame.image.size == (1280, 800) and frame.image.mode == "RGB"
    assert frame.geometry == ScreenGeometry(left=0, top=0, width=1280, height=800, scale=1.0)
    assert frame.source == "screen:1"
    assert frame.image.getpixel((400, 250)) == RED
    assert frame.png_bytes().startswith(b"\x89PNG")


@pytest.mark.xvfb
def test_all_monitors_and_region_capture(red_window):
    assert ScreenSource(monitor=0).grab().image.size == (1280, 800)
    region = ScreenSource(region=(300, 200, 500, 300)).grab()
    assert region.image.size == (200, 100)
    assert region.geometry == ScreenGeometry(left=300, top=200, width=200, height=100)
    assert region.image.getpixel((0, 0)) == RED and region.image.getpixel((199, 99)) == RED
    # the centre of the region on the model's scale is the centre of the red window on the screen
    assert model_to_screen([500, 500], region) == (400, 250)


@pytest.mark.xvfb
def test_missing_monitor_and_empty_region_are_clear_errors(xvfb):
    with pytest.raises(ValueError, match="monitor=7 does not exist"):
        ScreenSource(monitor=7).grab()
    with pytest.raises(ValueError, match="is empty"):
        ScreenSource(region=(10, 10, 10, 50))


def test_file_source_reads_png_and_jpeg(tmp_path):
    Image.new("RGBA", (64, 32), (0, 128, 255, 255)).save(tmp_path / "screen.png")
    Image.new("RGB", (64, 32), (0, 128, 255)).save(tmp_path / "photo.jpg", quality=90)
    png = FileSource(tmp_path / "screen.png").grab()
    assert png.image.mode == "RGB" and png.image.size == (64, 32) and png.geometry is None
    assert png.source == f"file:{tmp_path / 'screen.png'}"
    assert FileSource(tmp_path / "photo.jpg").grab().image.size == (64, 32)


def test_16_bit_greyscale_png_keeps_its_grey_levels(tmp_path):
    # PIL's convert("RGB") clips 16-bit samples at 255: mid-grey 0x8080 would come out white
    import numpy as np

    Image.fromarray(np.full((32, 64), 0x8080, np.uint16)).save(tmp_path / "grey16.png")
    assert Image.open(tmp_path / "grey16.png").mode.startswith("I")
    image = load_image(tmp_path / "grey16.png")
    assert image.mode == "RGB" and image.getpixel((10, 10)) == (128, 128, 128)

def test_phone_photo_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": how phones store portrait shots
    Image.new("RGB", (40, 20), "white").save(tmp_path / "phone.jpg", exif=exif)
    assert load_image(tmp_path / "phone.jpg").size == (20, 40)


def test_missing_and_unreadable_files_are_one_line_errors(tmp_path):
    with pytest.raises(FrameNotFoundError, match="image file not found: .*nope.png") as missing:
        FileSource(tmp_path / "nope.png")
    assert isinstance(missing.value, FileNotFoundError) and "\n" not in str(missing.value)
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(FrameSourceError, match="cannot read .*notes.png as an image") as unreadable:
        load_image(tmp_path / "notes.png")
    assert "\n" not in str(unreadable.value)
    Image.new("RGB", (200, 200), "white").save(tmp_path / "full.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:120])
    with pytest.raises(FrameSourceError, match="cut.png"):
        load_image(tmp_path / "cut.png")


def test_directory_source_plays_frames_in_natural_name_order(tmp_path):
    for index in (10, 2, 1):
        Image.new("RGB", (8, 8), (index, 0, 0)).save(tmp_path / f"frame_{index}.png")
    (tmp_path / "readme.txt").write_text("ignored")
    source = DirectorySource(tmp_path)
    assert len(source) == 3
    assert [f.image.getpixel((0, 0))[0] for f in source] == [1, 2, 10]
    with pytest.raises(EOFError, match="no more frames"):
        source.grab()


def test_directory_source_errors(tmp_path):
    with pytest.raises(FrameNotFoundError, match="frame folder not found"):
        DirectorySource(tmp_path / "missing")
    with pytest.raises(FrameSourceError, match="no image files"):
        DirectorySource(tmp_path)


def _frame(image: Image.Image) -> Frame:
    return Frame(image, "test", datetime.now(timezone.utc))


def test_change_gate_skips_unchanged_and_noisy_frames_and_counts():
    from PIL import ImageDraw

    base = Image.new("RGB", (1280, 800), (40, 40, 40))
    noisy = base.copy()
    noisy.putpixel((5, 5), (255, 255, 255))  # a stray pixel is below any grid cell's delta
    changed = base.copy()
    ImageDraw.Draw(changed).rectangle((0, 0, 400, 200), fill=(255, 0, 0))  # an alarm banner appears
    gate = ChangeGate(threshold=0.01)
    decisions = [gate.is_new(_frame(image)) for image in (base, base, noisy, changed, changed)]
    assert decisions == [True, False, False, True, False]
    assert (gate.stats.frames, gate.stats.skipped, gate.stats.skip_fraction) == (5, 3, 0.6)
    assert gate.stats.model_dump() == {"frames": 5, "skipped": 3, "skip_fraction": 0.6}


def test_change_gate_threshold_is_configurable():
    from PIL import ImageDraw

    base = Image.new("RGB", (640, 360), "black")
    small_change = base.copy()
    ImageDraw.Draw(small_change).rectangle((0, 0, 60, 60), fill="white")  # ~2.5% of the grid
    assert ChangeGate(threshold=0.05).is_new(_frame(base)) is True
    strict, lenient = ChangeGate(threshold=0.01), ChangeGate(threshold=0.05)
    for gate in (strict, lenient):
        gate.is_new(_frame(base))
    assert strict.is_new(_frame(small_change)) is True
    assert lenient.is_new(_frame(small_change)) is False
    with pytest.raises(ValueError, match="threshold=1.5"):
        ChangeGate(threshold=1.5)


def test_change_gate_treats_a_blinking_alarm_row_as_one_screen():
    from PIL import ImageDraw

    steady = Image.new("RGB", (1280, 800), (200, 200, 200))
    blink_on = steady.copy()
    ImageDraw.Draw(blink_on).rectangle((0, 100, 1280, 400), fill=(220, 0, 0))  # whole alarm rows flash red
    new_alarm = blink_on.copy()
    ImageDraw.Draw(new_alarm).rectangle((0, 500, 1280, 700), fill=(255, 140, 0))
    gate = ChangeGate(threshold=0.01)
    sequence = [steady, blink_on, steady, blink_on, steady, new_alarm]
    assert [gate.is_new(_frame(image)) for image in sequence] == [True, True, False, False, False, True]
