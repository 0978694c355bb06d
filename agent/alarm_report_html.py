"""The alarm-system report as one self-contained HTML page: the measures with their verdicts and two hand-made SVG
charts (alarm rate over time, bad actors). No scripts, fonts or images from the network: it opens on a control-room
PC without internet. The SVG helpers are shared with the UI's "Alarm system" tab."""

from __future__ import annotations

from html import escape

from tools.alarm_kpis import AlarmSystemReport, BadActor, RatePoint
from tools.alarm_results import stamp

VERDICT_COLOURS = {"ok": "#2e7d32", "review": "#ef6c00", "bad": "#c62828", "info": "#546e7a"}
VERDICT_LABELS = {"ok": "OK", "review": "REVIEW", "bad": "OVER", "info": "INFO"}


def rate_chart_svg(points: list[RatePoint], step: str, width: int = 760, height: int = 220) -> str:
    """Activations per hour/day as bars, with the benchmark line (ISA-18.2: ~6 per hour, 144 per day)."""
    left, bottom, top = 44, 28, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    benchmark = 6 if step == "hour" else 144
    peak = max([p.activations for p in points] + [benchmark, 1])
    bar_w = plot_w / max(len(points), 1)
    parts = [_svg_open(width, height, f"Alarm activations per {step}")]
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{peak * fraction:.0f}</text>'
        )
    for i, point in enumerate(points):
        h = plot_h * point.activations / peak
        colour = "#c62828" if point.activations > benchmark else "#1565c0"
        parts.append(
            f'<rect x="{left + i * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="{colour}"><title>{stamp(point.start)}: {point.activations}</title></rect>'
        )
    y = top + plot_h * (1 - benchmark / peak)
    parts.append(
        f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="#ef6c00" stroke-dasharray="4 3"/>'
    )
    parts.append(f'<text x="{width - 10}" y="{y - 3:.1f}" text-anchor="end" font-size="10" fill="#ef6c00">'
                 f'benchmark {benchmark}/{step}</text>')  # fmt: skip
    for i in _label_positions(len(points)):
        label = points[i].start.strftime("%m-%d %H:%M" if step == "hour" else "%m-%d")
        parts.append(f'<text x="{left + (i + 0.5) * bar_w:.1f}" y="{height - 10}" text-anchor="middle" '
                     f'font-size="10">{label}</text>')  # fmt: skip
    return "".join(parts) + "</svg>"


def bad_actors_svg(actors: list[BadActor], width: int = 760) -> str:
    """The most frequent alarms as horizontal bars with their share of all activations."""
    row, label_w = 22, 150
    height = max(len(actors), 1) * row + 10
    most = max([a.activations for a in actors] + [1])
    parts = [_svg_open(width, height, "Bad actors: most frequent alarms")]
    for i, actor in enumerate(actors):
        y = 5 + i * row
        w = (width - label_w - 90) * actor.activations / most
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12">{escape(actor.alarm)}</text>'
        )
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="#6a1b9a"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" font-size="11">{actor.activations} '
                     f'({actor.share_pct:g}%)</text>')  # fmt: skip
    if not actors:
        parts.append('<text x="10" y="20" font-size="12">no activations in this window</text>')
    return "".join(parts) + "</svg>"


def _svg_open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="sans-serif" role="img"><title>{escape(title)}</title>')  # fmt: skip


def _label_positions(count: int, labels: int = 6) -> list[int]:
    if count <= labels:
        return list(range(count))
    return sorted({round(i * (count - 1) / (labels - 1)) for i in range(labels)})


def render_report(report: AlarmSystemReport) -> str:
    where = f" — area {escape(report.area)}" if report.area else ""
    rows = "".join(
        f'<tr><td>{escape(m.name)}</td><td class="v">{escape(m.shown)}</td><td>{escape(m.benchmark)}</td>'
        f'<td><span class="badge" style="background:{VERDICT_COLOURS[m.verdict]}">{VERDICT_LABELS[m.verdict]}</span>'
        f"</td></tr>"
        for m in report.measures
    )
    lists = "".join(
        f"<h2>{title}</h2><ul>{''.join(f'<li>{escape(line)}</li>' for line in lines) or '<li>none</li>'}</ul>"
        for title, lines in (
            ("Chattering alarms", report.chattering),
            ("Standing alarms (oldest first)", [_standing(a) for a in report.standing[:20]]),
            (
                "Shelved, suppressed, out of service",
                [f"{a.alarm}: {'; '.join(a.restrictions)}" for a in report.restricted],
            ),
        )
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Alarm system report</title>
<style>
body {{ font-family: sans-serif; margin: 24px; color: #222; max-width: 980px; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #ddd; padding: 5px 8px; }}
th {{ text-align: left; background: #f3f3f3; }} td.v {{ font-weight: bold; white-space: nowrap; }}
.badge {{ color: #fff; border-radius: 3px; padding: 2px 6px; font-size: 11px; font-weight: bold; }}
.muted {{ color: #666; font-size: 13px; }}
</style></head><body>
<h1>Alarm system report{where}</h1>
<p class="muted">{stamp(report.since)} .. {stamp(report.until)} · {report.activations} activations ·
measures and benchmark values after ISA-18.2 and EEMUA 191 (per operator console)</p>
<table><tr><th>Measure</th><th>Value</th><th>Benchmark</th><th>Verdict</th></tr>{rows}</table>
<h2>Alarm rate over time</h2>{rate_chart_svg(report.rate, report.rate_step)}
<h2>Top {len(report.bad_actors)} bad actors</h2>{bad_actors_svg(report.bad_actors)}
{lists}
</body></html>
"""


def _standing(alarm) -> str:
    return f"{alarm.alarm}: active since {stamp(alarm.active_since)}" + (
        f"; {'; '.join(alarm.restrictions)}" if alarm.restrictions else ""
    )
