"""One routine run at a time per screen of the machine: flock files in one folder shared by every process (not per
data dir: two runs with different data dirs still drive the same mouse), named by X display and monitor.
Monitor 0 (all monitors) overlaps every monitor: it takes the display's lock exclusively, a single monitor takes
it shared plus its own exclusively. All are try-locks: a busy screen is refused, never queued.

flock locks belong to an open file, so two threads of one process exclude each other as two processes do."""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path


def current_display() -> str:
    """The X display this process captures and clicks on: mss and pyautogui both take it from DISPLAY."""
    return os.environ.get("DISPLAY", "")


def _lock_files(lock_dir: Path, display: str, screen: int) -> list[tuple[Path, int]]:
    name = re.sub(r"[^\w.-]", "-", display.lstrip(":")) or "none"
    whole = lock_dir / f"display-{name}.lock"
    if screen == 0:
        return [(whole, fcntl.LOCK_EX)]
    return [(whole, fcntl.LOCK_SH), (lock_dir / f"display-{name}-monitor-{screen}.lock", fcntl.LOCK_EX)]


def _shared_folder(lock_dir: Path) -> None:
    """The lock folder, writable by every user's runs (sticky, like /tmp) when this process creates it."""
    if not lock_dir.is_dir():
        lock_dir.mkdir(parents=True, exist_ok=True)
        try:
            lock_dir.chmod(0o1777)
        except PermissionError:
            pass  # created by another user between our check and mkdir: theirs is already shared


def _try_lock(held: ExitStack, path: Path, mode: int) -> bool:
    try:
        fd, writable = os.open(path, os.O_RDWR | os.O_CREAT, 0o666), True
    except PermissionError:  # another user's lock file: flock works on a read-only open as well
        fd, writable = os.open(path, os.O_RDONLY), False
    held.callback(os.close, fd)  # closing releases the flock
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    if writable and mode == fcntl.LOCK_EX:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
    return True


@contextmanager
def screen_lock(lock_dir: Path, screen: int, display: str | None = None) -> Iterator[bool]:
    """Yields True while this caller holds monitor `screen` (0 = all) of `display` (default: this process's),
    False (at once) when another run holds it or a monitor it overlaps."""
    lock_dir = Path(lock_dir)
    _shared_folder(lock_dir)
    with ExitStack() as held:
        for path, mode in _lock_files(lock_dir, current_display() if display is None else display, screen):
            if not _try_lock(held, path, mode):
                yield False
                return
        yield True
