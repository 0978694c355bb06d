"""The decoder's Triton kernels (perception.vlm.kernels) on the CPU: Triton's interpreter has to be switched on
before triton is first imported, so interpreted_kernels.py runs in a pytest process of its own."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perception.vlm import kernels

HERE = Path(__file__).resolve().parent


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="triton is not installed (Linux x86-64 only)")
def test_kernels_in_the_triton_interpreter():
    """The matrix-vector product in every autotuned configuration, the attention around its slice boundaries, and
    the decoder's "kernels" step against transformers' generate (eager and compiled as one graph)."""
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W",
                           "ignore::RuntimeWarning", str(HERE / "interpreted_kernels.py")],
                          cwd=HERE.parent.parent, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def test_kernels_are_off_where_they_cannot_run():
    """On a CPU without the interpreter (and without CUDA) the decoder must not pick them."""
    assert not kernels.available("cpu")
    assert not kernels.available("meta")
    assert kernels.head_dim_fits(128) and kernels.head_dim_fits(32)
    assert not kernels.head_dim_fits(80) and not kernels.head_dim_fits(8)
