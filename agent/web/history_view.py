"""The answer's alarm history as a chart (activations per day) and a table, over the window the agent's own
alarm_history call used (30 days, "last month", a date), with units and full dates, in the operator's language."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pandas as pd

from agent.answer import Answer, window_words

DEFAULT_SINCE = "14d"  # when the answer names an alarm but the model did not look up its history
MAX_DAY_BARS = 92  # longer windows are drawn per week
STAMP = "%Y-%m-%d %H:%M"

_HEADINGS = {
    "en": {
        "activated": "activated",
        "condition": "condition",
        "value": "value",
        "acked": "acknowledged",
        "by": "by",
        "cleared": "cleared",
        "title": "Activations of {tag}, {window}",
        "none": "no activations of {tag} in this window ({window})",
    },
    "zh": {
        "activated": "触发时间",
        "condition": "条件",
        "value": "数值",
        "acked": "确认时间",
        "by": "确认人",
        "cleared": "恢复时间",
        "title": "{tag} 的触发次数（{window}）",
        "none": "{tag} 在此时段内没有触发（{window}）",
    },
}


def history_window(answer: Answer | None) -> tuple[str, str | None]:
    """(since, until) of the answer's last alarm_history lookup, else the default window."""
    for evidence in reversed(answer.evidence if answer else []):
        if evidence.tool == "alarm_history":
            return str(evidence.arguments.get("since") or "7d"), evidence.arguments.get("until")
    return DEFAULT_SINCE, None


def history_view(alarm_tools: Any, answer: Answer | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None, str]:
    """(occurrences table, activations chart, chart title) for the answer's alarm; (None, None, '') without one."""
    tag = answer.alarm_tag if answer else None
    if not tag:
        return None, None, ""
    since, until = history_window(answer)
    result = alarm_tools.alarm_history(tag, since=since, until=until, limit=500)
    if result.error or result.data is None:
        return None, None, ""
    data, heads = result.data, _HEADINGS[answer.language]
    units = _units(alarm_tools, tag)
    table = pd.DataFrame(
        [_row(o, units, heads) for o in data.recent[:50]],
        columns=[heads[k] for k in ("activated", "condition", "value", "acked", "by", "cleared")],
    )
    chart = _per_period(data.recent, data.since.date(), data.until.date())
    window = window_words(since, answer.language) if until is None else f"{since} .. {until}"
    title = heads["title" if data.recent else "none"].format(tag=tag, window=window)
    return table, chart, title


def _units(alarm_tools: Any, tag: str) -> str:
    found = alarm_tools.alarm_definition(tag)
    definitions = getattr(found.data, "definitions", None) or []
    return next((d.units for d in definitions if d.units), "")


def _row(occurrence: Any, units: str, heads: dict[str, str]) -> dict[str, str]:
    value = "" if occurrence.value is None else f"{occurrence.value:g} {units}".strip()
    return {
        heads["activated"]: occurrence.activated_at.strftime(STAMP),
        heads["condition"]: occurrence.condition or "",
        heads["value"]: value,
        heads["acked"]: occurrence.acknowledged_at.strftime(STAMP) if occurrence.acknowledged_at else "",
        heads["by"]: occurrence.operator or "",
        heads["cleared"]: occurrence.cleared_at.strftime(STAMP) if occurrence.cleared_at else "",
    }


def _per_period(occurrences: list[Any], first: date, last: date) -> pd.DataFrame:
    """Activations per day over [first, last] (zeros included), or per week when that is more than MAX_DAY_BARS days."""
    days = (last - first).days + 1
    step = 7 if days > MAX_DAY_BARS else 1
    start = first - timedelta(days=first.weekday()) if step == 7 else first
    periods = [start + timedelta(days=n) for n in range(0, (last - start).days + 1, step)]
    counts = Counter(start + timedelta(days=((o.activated_at.date() - start).days // step) * step) for o in occurrences)
    # fixed column names: the BarPlot is built with x="day", y="activations" (a week is named by its Monday)
    return pd.DataFrame(
        {"day": [p.strftime("%Y-%m-%d") for p in periods], "activations": [counts.get(p, 0) for p in periods]}
    )
