"""Shared fixtures: a real virtual X display, a throwaway SQLite file, the tiny random-weight Qwen3-VL."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _own_screen_locks(tmp_path_factory):
    """Routine screen locks are machine-wide; this test session's runs lock among themselves only, so two test
    sessions on one machine never see each other's screens as busy."""
    previous = os.environ.get("HMI_AGENT_SCREEN_LOCK_DIR")
    os.environ["HMI_AGENT_SCREEN_LOCK_DIR"] = str(tmp_path_factory.mktemp("screen-locks"))
    yield
    if previous is None:
        os.environ.pop("HMI_AGENT_SCREEN_LOCK_DIR", None)
    else:
        os.environ["HMI_AGENT_SCREEN_LOCK_DIR"] = previous


@pytest.fixture(scope="session")
def xvfb(tmp_path_factory) -> str:
    """Starts Xvfb (1280x800x24) once per session and points DISPLAY, pyautogui and mss at it."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed: run `bash deploy/setup.sh --dev`")
    display = f":{90 + os.getpid() % 500}"
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = Path(f"/tmp/.X11-unix/X{display[1:]}")
    for _ in range(100):
        if socket.exists():
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail(f"Xvfb did not start on {display}")
    xauthority = tmp_path_factory.mktemp("x11") / "Xauthority"
    xauthority.touch()
    previous = {k: os.environ.get(k) for k in ("DISPLAY", "XAUTHORITY", "XDG_SESSION_TYPE")}
    os.environ.update(DISPLAY=display, XAUTHORITY=str(xauthority), XDG_SESSION_TYPE="x11")
    yield display
    proc.terminate()
    proc.wait(timeout=10)
    for k, v in previous.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'alarms.sqlite'}"


@pytest.fixture(scope="session")
def tiny_qwen3vl_dir(tmp_path_factory) -> Path:
    """A random-weight Qwen3-VL with a small BPE tokenizer and Qwen's chat template, saved like a hub checkpoint."""
    from perception.vlm.tiny import build_tiny_qwen3vl

    return build_tiny_qwen3vl(tmp_path_factory.mktemp("tiny-qwen3vl"))
