"""Where frames come from: the live screen (mss), an image file or phone photo, a folder of recorded frames.

All sources share `grab() -> Frame`; `ChangeGate` decides whether a frame differs enough to be worth a model call.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel, computed_field

from perception.frames import Frame, ScreenGeometry
from perception.images import DEFAULT_LIMITS, ImageLimits, ImageRejected, open_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


class FrameSourceError(ValueError):
    """A file or folder that cannot give frames; the message is one line naming the path."""


class FrameNotFoundError(FrameSourceError, FileNotFoundError):
    """The image file or folder does not exist."""


class ScreenSource:
    """Live capture with mss: monitor 1, 2, ... (0 = all monitors as one virtual desktop) or a region.

    `region` is (x1, y1, x2, y2) in logical desktop pixels and overrides `monitor`.
    """

    def __init__(self, monitor: int = 1, region: tuple[int, int, int, int] | None = None):
        if region is not None:
            x1, y1, x2, y2 = region
            if x2 <= x1 or y2 <= y1:
                raise ValueError(f"capture region {region} is empty: expected (x1, y1, x2, y2) with x2 > x1, y2 > y1")
        self.monitor = monitor
        self.region = region

    def _area(self, sct) -> tuple[dict, str]:
        if self.region is not None:
            x1, y1, x2, y2 = self.region
            return {"left": x1, "top": y1, "width": x2 - x1, "height": y2 - y1}, f"screen:region{self.region}"
        if not 0 <= self.monitor < len(sct.monitors):
            raise FrameSourceError(
                f"monitor={self.monitor} does not exist: this desktop has monitors 1..{len(sct.monitors) - 1} "
                "(0 = all of them)"
            )
        return dict(sct.monitors[self.monitor]), f"screen:{self.monitor}"

    def grab(self) -> Frame:
        import mss
        from mss.exception import ScreenShotError

        try:
            with mss.mss() as sct:
                area, source = self._area(sct)
                shot = sct.grab(area)
        except ScreenShotError as e:  # no display (DISPLAY unset, X server gone) or a capture the server refused
            raise FrameSourceError(f"cannot capture the screen: {str(e).splitlines()[0]}") from None
        image = Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")
        # mss reports the area in logical pixels but returns physical ones on HiDPI (e.g. Retina): keep the ratio.
        geometry = ScreenGeometry(
            left=area["left"],
            top=area["top"],
            width=area["width"],
            height=area["height"],
            scale=shot.width / area["width"],
        )
        return Frame(image=image, source=source, captured_at=datetime.now(UTC), geometry=geometry)


def load_image(path: Path, limits: ImageLimits = DEFAULT_LIMITS) -> Image.Image:
    """Opens a PNG/JPEG/... as upright RGB (EXIF orientation of phone photos applied), within `limits`; a one-line
    FrameSourceError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FrameNotFoundError(f"image file not found: {path}")
    try:
        return open_image(path, limits)
    except ImageRejected as e:
        raise FrameSourceError(f"cannot read {path} as an image: it is {e}") from None


def _file_frame(path: Path, limits: ImageLimits = DEFAULT_LIMITS) -> Frame:
    image = load_image(path, limits)
    captured_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)  # recordings: when the frame was saved
    return Frame(image=image, source=f"file:{path}", captured_at=captured_at)


class FileSource:
    """One image file (screenshot or phone photo of a panel); every grab returns it. Not on this screen: no geometry."""

    def __init__(self, path: str | Path, limits: ImageLimits = DEFAULT_LIMITS):
        self.path = Path(path)
        self.limits = limits
        if not self.path.is_file():
            raise FrameNotFoundError(f"image file not found: {self.path}")

    def grab(self) -> Frame:
        return _file_frame(self.path, self.limits)


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


class DirectorySource:
    """The image files of a folder (a recording) in natural name order: frame_2 before frame_10."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise FrameNotFoundError(f"frame folder not found: {self.directory}")
        self.paths = sorted(
            (p for p in self.directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=_natural_key,
        )
        if not self.paths:
            raise FrameSourceError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self.directory}")
        self._next = 0

    def __len__(self) -> int:
        return len(self.paths)

    def grab(self) -> Frame:
        """The next frame; EOFError once all were read."""
        if self._next >= len(self.paths):
            raise EOFError(f"no more frames in {self.directory} ({len(self.paths)} read)")
        path = self.paths[self._next]
        self._next += 1
        return _file_frame(path)

    def __iter__(self) -> Iterator[Frame]:
        while self._next < len(self.paths):
            yield self.grab()


class GateStats(BaseModel):
    frames: int = 0
    skipped: int = 0

    @computed_field
    @property
    def skip_fraction(self) -> float:
        return self.skipped / self.frames if self.frames else 0.0


class ChangeGate:
    """Cheap perceptual diff: a frame is new when more than `threshold` of a coarse gray grid changed.

    The grid (64x36 cells, each the mean of a screen patch) ignores noise, JPEG artefacts and cursor-sized blips;
    `delta` is how much a cell's gray level (0-255) must move to count as changed. Compares against the last two
    frames that passed: a blinking alarm row alternates between two images, and that is one screen, not a new one
    every second. Slow drift still adds up to a new frame.
    """

    def __init__(self, threshold: float = 0.01, *, delta: int = 8, grid: tuple[int, int] = (64, 36)):
        if not 0 <= threshold <= 1:
            raise ValueError(f"change threshold must be in [0, 1], got {threshold=}")
        self.threshold = threshold
        self.delta = delta
        self.grid = grid
        self.stats = GateStats()
        self._references: deque[np.ndarray] = deque(maxlen=2)

    def _signature(self, frame: Frame) -> np.ndarray:
        small = frame.image.convert("L").resize(self.grid, Image.Resampling.BOX)
        return np.asarray(small, dtype=np.int16)

    def changed_fraction(self, frame: Frame) -> float:
        """Fraction of grid cells that differ from the closest of the recent accepted frames (1.0 when none)."""
        return self._changed(self._signature(frame))

    def _changed(self, signature: np.ndarray) -> float:
        return min(
            (float(np.mean(np.abs(signature - reference) > self.delta)) for reference in self._references), default=1.0
        )

    def is_new(self, frame: Frame) -> bool:
        self.stats.frames += 1
        signature = self._signature(frame)
        if self._references and self._changed(signature) <= self.threshold:
            self.stats.skipped += 1
            return False
        self._references.append(signature)
        return True
