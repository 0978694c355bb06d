"""The UI's "Alarm system" tab, served by Gradio and called through its API like the browser does: the report with
verdicts and SVG charts, and the shift handover, from a real SQLite journal."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import gradio as gr
import pytest

from storage.db import open_database
from storage.definitions import upsert_definitions
from storage.demo import demo_definitions, demo_events
from storage.journal import write_events
from tools.alarms import AlarmTools


@pytest.fixture
def tab_url(sqlite_url):
    from agent.web.alarm_system_tab import alarm_system_tab

    db = open_database(sqlite_url)
    upsert_definitions(db, demo_definitions(42))
    write_events(db, ((0, row) for row in demo_events(3, seed=2)), source="demo", layout="demo")
    with gr.Blocks(analytics_enabled=False) as ui:
        alarm_system_tab(SimpleNamespace(alarm_tools=AlarmTools(db)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ui.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    ui.close()
    db.close()


@pytest.mark.slow
def test_alarm_system_tab_shows_measures_charts_and_handover(tab_url):
    from gradio_client import Client

    report, handover = Client(tab_url, verbose=False).predict("7d", "", api_name="/alarm_system")
    assert "Average alarms per day" in report and "Peak alarms in one 10-minute period" in report
    assert report.count("<svg") == 2 and "benchmark 144/day" in report
    assert "Shift handover" in handover and "LIC-203.H: shelved since" in handover
    error, _ = Client(tab_url, verbose=False).predict("soon", "", api_name="/alarm_system")
    assert "&#x27;soon&#x27; is neither a duration" in error
