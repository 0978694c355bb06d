"""The "Alarm system" tab of the operator UI: the alarm-system report (ISA-18.2 / EEMUA 191 measures with verdicts,
alarm-rate and bad-actor charts) and the shift handover, for a chosen window and area."""

from __future__ import annotations

from html import escape
from typing import Any

import gradio as gr

from agent.alarm_report_html import VERDICT_COLOURS, VERDICT_LABELS, bad_actors_svg, rate_chart_svg
from storage.timeutil import now_utc, parse_moment
from tools.alarm_kpis import AlarmSystemReport, alarm_system_report, shift_handover

WINDOWS = ["8h", "12h", "24h", "7d", "30d"]


def alarm_system_tab(state: Any) -> None:
    """The tab's components and handlers; `state` is the FastAPI app.state (its alarm_tools hold the database)."""
    with gr.Row():
        since = gr.Dropdown(WINDOWS, value="24h", label="Window (ending now)", allow_custom_value=True, scale=1)
        area = gr.Textbox(label="Area (optional)", placeholder="e.g. Reactor", scale=2)
        show = gr.Button("Show", variant="primary", scale=1)
    report = gr.HTML(elem_id="alarm-system-report")
    handover = gr.Textbox(label="Shift handover (same window)", lines=12, interactive=False, elem_id="alarm-handover")

    def on_show(window: str, area_text: str):
        now = now_utc()
        try:
            start = parse_moment(window, now)
        except ValueError as e:
            return f'<p class="error">{escape(str(e))}</p>', ""
        if start >= now:
            return f'<p class="error">window {escape(window)!r} does not reach back from now</p>', ""
        db = state.alarm_tools.db
        chosen_area = area_text.strip() or None
        result = alarm_system_report(db, start, now, chosen_area)
        return report_html(result), shift_handover(db, start, now, chosen_area).as_text()

    show.click(on_show, [since, area], [report, handover], api_name="alarm_system")


def report_html(report: AlarmSystemReport) -> str:
    """The measures as a table with coloured verdicts, then the two charts (inline SVG)."""
    rows = "".join(
        f"<tr><td>{escape(m.name)}</td><td><b>{escape(m.shown)}</b></td><td>{escape(m.benchmark)}</td>"
        f'<td style="color:{VERDICT_COLOURS[m.verdict]};font-weight:bold">{VERDICT_LABELS[m.verdict]}</td></tr>'
        for m in report.measures
    )
    return (
        f"<p>{report.activations} activations</p>"
        f'<table style="width:100%"><tr><th>Measure</th><th>Value</th><th>Benchmark</th><th>Verdict</th></tr>{rows}'
        f"</table><h3>Alarm rate</h3>{rate_chart_svg(report.rate, report.rate_step)}"
        f"<h3>Bad actors</h3>{bad_actors_svg(report.bad_actors)}"
    )
