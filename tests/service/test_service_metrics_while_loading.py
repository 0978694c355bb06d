"""/metrics while the model loads in the background: torch can sit in sys.modules half-imported (no `.cuda` yet);
the GPU memory collector must skip it instead of failing the whole scrape with a 500."""

from __future__ import annotations

import sys
import types
from importlib.machinery import ModuleSpec

from prometheus_client import generate_latest

from agent.service.metrics import ServiceMetrics


def test_a_scrape_while_torch_is_still_importing_succeeds_without_gpu_figures(monkeypatch):
    half_imported = types.ModuleType("torch")
    half_imported.__spec__ = ModuleSpec("torch", None)
    half_imported.__spec__._initializing = True  # what importlib sets until the module's code has run
    monkeypatch.setitem(sys.modules, "torch", half_imported)
    text = generate_latest(ServiceMetrics().registry).decode()
    assert "hmi_agent_queue_depth" in text
    assert "hmi_agent_gpu_memory_allocated_bytes{" not in text
