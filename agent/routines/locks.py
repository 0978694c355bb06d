"""One routine run at a time per screen: a thread lock (same process) plus an flock file (other processes, e.g. a
`routine run` from a shell while the scheduler is up). Both are try-locks: a busy screen is refused, never queued."""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

_thread_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def _thread_lock(key: str) -> threading.Lock:
    with _guard:
        return _thread_locks.setdefault(key, threading.Lock())


@contextmanager
def screen_lock(lock_dir: Path, screen: int) -> Iterator[bool]:
    """Yields True while this caller holds `screen`, False (at once) when another run holds it."""
    path = Path(lock_dir) / f"screen-{screen}.lock"
    in_process = _thread_lock(str(path.resolve()))
    if not in_process.acquire(blocking=False):
        yield False
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield True
        finally:
            os.close(fd)  # closing releases the flock
    finally:
        in_process.release()
