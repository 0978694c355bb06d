"""Routine test fixtures: settings on a throwaway folder, a webhook stub."""

from __future__ import annotations

import pytest
from routine_helpers import WebhookStub

from agent.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", db_url=f"sqlite:///{tmp_path / 'data' / 'hmi.sqlite'}", min_action_interval=0)


@pytest.fixture
def webhook():
    stub = WebhookStub()
    yield stub
    stub.close()
