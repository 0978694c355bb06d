"""The alarm-system report and the shift handover: ISA-18.2 / EEMUA 191 measures over a window, each against its
benchmark with a plain verdict. The database does the counting (storage.kpi_queries); this module turns the
aggregates into measures, verdicts, chart series and text."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from storage import kpi_cache
from storage import kpi_queries as kq
from storage.db import Database
from storage.models import EventState
from storage.timeutil import format_duration
from tools.alarm_history import CHATTER_COUNT, CHATTER_WINDOW, STALE_AFTER, max_within
from tools.alarm_matching import alarm_name
from tools.alarm_results import stamp

FLOOD_PER_10_MIN = 10  # ISA-18.2: more than 10 alarms in 10 minutes is a flood
FLEETING_S = 2.0  # our threshold: cleared this soon after activating, without an acknowledgement
TOP_N = 10
HOUR = timedelta(hours=1)
Verdict = Literal["ok", "review", "bad", "info"]
_VERDICT_WORDS = {"ok": "within the benchmark", "review": "needs review", "bad": "over the benchmark", "info": ""}
_RESTRICTION_WORDS = {
    EventState.SHELVED.value: "shelved",
    EventState.SUPPRESSED.value: "suppressed",
    EventState.SUPPRESSED_BY_DESIGN.value: "suppressed by design",
    EventState.OUT_OF_SERVICE.value: "out of service",
}


class Measure(BaseModel):
    key: str
    name: str
    value: float | None
    shown: str = Field(description="the value as a person reads it")
    benchmark: str
    verdict: Verdict

    def as_text(self) -> str:
        words = _VERDICT_WORDS[self.verdict]
        return f"- {self.name}: {self.shown} [{self.benchmark}]" + (f" -> {words}" if words else "")


class BadActor(BaseModel):
    alarm: str
    activations: int
    share_pct: float


class AlarmAtEnd(BaseModel):
    """An alarm standing or restricted at the end of the window."""

    alarm: str
    area: str | None
    active_since: datetime | None = None
    restrictions: list[str] = Field(default_factory=list, description='e.g. "shelved since 2025-03-01 06:00Z by a.li"')


class RatePoint(BaseModel):
    start: datetime
    activations: int


class AlarmSystemReport(BaseModel):
    since: datetime
    until: datetime
    area: str | None
    activations: int
    measures: list[Measure]
    bad_actors: list[BadActor]
    chattering: list[str]
    standing: list[AlarmAtEnd]
    restricted: list[AlarmAtEnd]
    rate: list[RatePoint] = Field(description="activations per hour (windows up to 3 days) or per day")
    rate_step: Literal["hour", "day"]

    def measure(self, key: str) -> Measure:
        return next(m for m in self.measures if m.key == key)

    def as_text(self) -> str:
        where = f" in area {self.area}" if self.area else ""
        lines = [f"Alarm system{where}, {stamp(self.since)} .. {stamp(self.until)}: {self.activations} activations"]
        lines += [m.as_text() for m in self.measures]
        if self.bad_actors:
            lines.append(
                "bad actors: " + ", ".join(f"{b.alarm} {b.activations} ({b.share_pct:g}%)" for b in self.bad_actors)
            )
        if self.chattering:
            lines.append("chattering: " + ", ".join(self.chattering))
        lines += [f"standing: {_at_end(a, self.until)}" for a in self.standing[:TOP_N]]
        lines += [f"restricted: {_at_end(a, self.until)}" for a in self.restricted[:TOP_N]]
        return "\n".join(lines)


class ShiftHandover(BaseModel):
    since: datetime
    until: datetime
    area: str | None
    new_activations: int
    new_alarms: list[BadActor] = Field(description="alarms that activated in the shift, most frequent first")
    still_active: list[AlarmAtEnd]
    stale: list[AlarmAtEnd]
    acknowledged_by: dict[str, int]
    restricted: list[AlarmAtEnd]

    def as_text(self) -> str:
        hours = format_duration((self.until - self.since).total_seconds())
        where = f" (area {self.area})" if self.area else ""
        lines = [f"Shift handover{where}, last {hours} ({stamp(self.since)} .. {stamp(self.until)}):"]
        lines.append(f"new alarms: {self.new_activations} activations of {len(self.new_alarms)} alarms")
        lines += [f"  {b.alarm}: {b.activations}" for b in self.new_alarms[:5]]
        lines.append(
            f"still active: {len(self.still_active)}"
            + (f", of which stale (> 24 h): {len(self.stale)}" if self.stale else "")
        )
        lines += [f"  {_at_end(a, self.until)}" for a in self.still_active[:TOP_N]]
        acked = ", ".join(f"{who} {n}" for who, n in self.acknowledged_by.items()) or "none"
        lines.append(f"acknowledged by: {acked}")
        if self.restricted:
            lines.append("shelved / suppressed / out of service:")
            lines += [f"  {_at_end(a, self.until)}" for a in self.restricted]
        return "\n".join(lines)


def _at_end(alarm: AlarmAtEnd, until: datetime) -> str:
    parts = []
    if alarm.active_since:
        held = format_duration((until - alarm.active_since).total_seconds())
        parts.append(f"active since {stamp(alarm.active_since)} ({held})")
    parts += alarm.restrictions
    return f"{alarm.alarm}: " + "; ".join(parts)


# -------------------------------------------------------------------------------------------------- the report


@dataclass
class Partial:
    """The report's aggregates of one time range; ranges add up (an hour's are cached, storage.kpi_cache)."""

    buckets: Counter = field(default_factory=Counter)  # 10-minute bucket start -> activations
    by_alarm: Counter = field(default_factory=Counter)  # (tag, condition, priority) -> activations
    tta: Counter = field(default_factory=Counter)  # whole seconds to acknowledge -> activations
    fleeting: int = 0
    chattering: set = field(default_factory=set)

    def __iadd__(self, other: Partial) -> Partial:
        self.buckets.update(other.buckets)
        self.by_alarm.update(other.by_alarm)
        self.tta.update(other.tta)
        self.fleeting += other.fleeting
        self.chattering |= other.chattering
        return self

    def to_json(self) -> dict:
        return {
            "buckets": [[t.isoformat(), n] for t, n in self.buckets.items()],
            "by_alarm": [[*key, n] for key, n in self.by_alarm.items()],
            "tta": [[s, n] for s, n in self.tta.items()],
            "fleeting": self.fleeting,
            "chattering": sorted(self.chattering),
        }

    @classmethod
    def from_json(cls, data: dict) -> Partial:
        return cls(
            buckets=Counter({datetime.fromisoformat(t): n for t, n in data["buckets"]}),
            by_alarm=Counter({(t, c, p): n for t, c, p, n in data["by_alarm"]}),
            tta=Counter({s: n for s, n in data["tta"]}),
            fleeting=data["fleeting"],
            chattering=set(data["chattering"]),
        )


def _exact(db: Database, window: kq.Window) -> Partial:
    return Partial(
        buckets=Counter(dict(kq.activations_per_10_minutes(db, window))),
        by_alarm=Counter({(t, c, p): n for t, c, p, n in kq.activations_by_alarm(db, window)}),
        tta=Counter(dict(kq.acknowledgement_delays(db, window))),
        fleeting=kq.fleeting_activations(db, window, FLEETING_S),
        chattering=set(_chattering(db, window)),
    )


def _aggregates(db: Database, since: datetime, until: datetime, area: str | None) -> Partial:
    """Whole UTC hours inside the window from the cache (computed and stored on first use), the partial hours at
    its edges from the journal. Chattering is found within each hour (a burst across the hour counts per hour)."""
    key = area or ""
    cached = kpi_cache.cached_hours(db, since, until, key)
    seen = kpi_cache.journal_position(db)
    hours = _hours(since, until)
    missing = [start for start in hours if kpi_cache.hour_key(start) not in cached]
    # empty hours are neither computed nor stored: one index-only query tells which hours hold events
    occupied = kq.occupied_hours(db, kq.Window(missing[0], missing[-1] + HOUR, area)) if missing else set()
    total = Partial()
    for start in hours:
        end, hour = start + HOUR, kpi_cache.hour_key(start)
        if hour in cached:
            total += Partial.from_json(cached[hour])
        elif hour not in occupied:
            continue
        elif since <= start and end <= until:
            partial = _exact(db, kq.Window(start, end, area))
            kpi_cache.store_hour(db, start, key, partial.to_json(), seen, end)
            total += partial
        else:
            total += _exact(db, kq.Window(max(since, start), min(until, end), area))
    return total


def _hours(since: datetime, until: datetime) -> list[datetime]:
    """The starts of the UTC hours that overlap [since, until)."""
    start, hours = since.replace(minute=0, second=0, microsecond=0), []
    while start < until:
        hours.append(start)
        start += HOUR
    return hours


def alarm_system_report(db: Database, since: datetime, until: datetime, area: str | None = None) -> AlarmSystemReport:
    aggregates = _aggregates(db, since, until, area)
    buckets = sorted(aggregates.buckets.items())
    by_alarm = [(t, c, p, n) for (t, c, p), n in aggregates.by_alarm.most_common()]
    total = sum(n for _, n in buckets)
    chattering = sorted(aggregates.chattering)
    standing, restricted = _alarms_at_end(db, until, area)
    actors = _bad_actors(by_alarm, total, TOP_N)
    measures = [
        *_rate_measures(total, buckets, until - since),
        _measure("top10_share", "Top-10 bad actors' share of all alarms", sum(a.share_pct for a in actors),
                 "%", "ISA-18.2: ≤ 5%", ok_below=5.0),
        _measure("chattering", "Chattering alarms (≥ 3 in 60 s)", len(chattering), "", "ISA-18.2: 0", ok_below=0),
        _measure("fleeting", f"Fleeting activations (cleared < {FLEETING_S:g} s, unacknowledged)", aggregates.fleeting,
                 "", "our threshold: 0", ok_below=0, over="review"),
        _measure("stale", "Stale alarms (active > 24 h)", sum(1 for a in standing if _stale(a, until)), "",
                 "ISA-18.2: < 5", ok_below=4),
        _measure("standing", "Standing alarms (active at the end)", len(standing), "", "EEMUA 191: < 10", ok_below=9),
        _priority_measure(by_alarm, total),
        *_restriction_measures(restricted),
        *_ack_measures(sorted(aggregates.tta.items())),
    ]  # fmt: skip
    step = "hour" if until - since <= timedelta(days=3) else "day"
    return AlarmSystemReport(
        since=since, until=until, area=area, activations=total, measures=measures, bad_actors=actors,
        chattering=chattering, standing=standing, restricted=restricted, rate=_rate_series(buckets, since, until, step),
        rate_step=step,
    )  # fmt: skip


def _measure(key, name, value, unit, benchmark, *, ok_below: float, review_below: float | None = None,
             over: Verdict = "bad") -> Measure:  # fmt: skip
    """A measure that is fine up to `ok_below` (inclusive), `review` up to `review_below`, else `over`."""
    if value <= ok_below:
        verdict: Verdict = "ok"
    elif review_below is not None and value <= review_below:
        verdict = "review"
    else:
        verdict = over
    shown = f"{value:.1f}{unit}" if isinstance(value, float) else f"{value}{unit}"
    return Measure(key=key, name=name, value=value, shown=shown, benchmark=benchmark, verdict=verdict)


def _rate_measures(total: int, buckets: list[tuple[datetime, int]], span: timedelta) -> list[Measure]:
    days = span.total_seconds() / 86400
    periods = max(math.ceil(span / kq.TEN_MINUTES), 1)
    flooded = sum(1 for _, n in buckets if n > FLOOD_PER_10_MIN)
    peak = max((n for _, n in buckets), default=0)
    return [
        _measure("per_day", "Average alarms per day", total / days, "/day",
                 "ISA-18.2: ≤ 144 acceptable, ≤ 288 manageable", ok_below=144, review_below=288),
        _measure("per_10min", "Average alarms per 10 minutes", total / periods, "/10 min",
                 "ISA-18.2: ≤ 1 acceptable, ≤ 2 manageable", ok_below=1, review_below=2),
        _measure("flood_pct", "10-minute periods in flood (> 10 alarms)", 100 * flooded / periods, "%",
                 "ISA-18.2: < 1%", ok_below=1.0),
        _measure("peak_10min", "Peak alarms in one 10-minute period", peak, "", "ISA-18.2: ≤ 10", ok_below=10),
    ]  # fmt: skip


def _bad_actors(by_alarm: list[tuple[str, str, int | None, int]], total: int, top: int) -> list[BadActor]:
    counts: Counter[str] = Counter()
    for tag, condition, _, n in by_alarm:
        counts[alarm_name(tag, condition)] += n
    return [
        BadActor(alarm=name, activations=n, share_pct=round(100 * n / total, 1)) for name, n in counts.most_common(top)
    ]


def _chattering(db: Database, window: kq.Window) -> list[str]:
    found = []
    for tag, condition in kq.chatter_candidates(db, window, CHATTER_COUNT):
        if max_within(kq.activation_times(db, window, tag, condition), CHATTER_WINDOW) >= CHATTER_COUNT:
            found.append(alarm_name(tag, condition))
    return sorted(found)


def _alarms_at_end(db: Database, until: datetime, area: str | None) -> tuple[list[AlarmAtEnd], list[AlarmAtEnd]]:
    standing, restricted = [], []
    for status in kq.alarm_statuses(db, until, area):
        entry = AlarmAtEnd(
            alarm=alarm_name(status.tag, status.condition),
            area=status.area,
            active_since=status.active_since,
            restrictions=[
                f"{_RESTRICTION_WORDS[kind]} since {stamp(since)}" + (f" by {by}" if by else "")
                for kind, since, by in status.restrictions
            ],
        )
        if status.active_since:
            standing.append(entry)
        if status.restrictions:
            restricted.append(entry)
    standing.sort(key=lambda a: a.active_since or until)
    return standing, restricted


def _stale(alarm: AlarmAtEnd, until: datetime) -> bool:
    return alarm.active_since is not None and until - alarm.active_since > STALE_AFTER


_PRIORITY_GUIDE = {1: 1.0, 2: 5.0, 3: 15.0, 4: 80.0}  # % of activations: critical <1, high ~5, medium ~15, low ~80


def _priority_measure(by_alarm: list[tuple[str, str, int | None, int]], total: int) -> Measure:
    counts: Counter[int | None] = Counter()
    for _, _, priority, n in by_alarm:
        counts[priority] += n
    shares = {p: 100 * counts[p] / total if total else 0.0 for p in (1, 2, 3, 4)}
    shown = " / ".join(f"{shares[p]:.0f}%" for p in (4, 3, 2, 1)) + " (low / medium / high / critical)"
    if counts[None]:
        shown += f"; {counts[None]} without priority"
    urgent = shares[1] + shares[2]
    verdict: Verdict = "ok" if not total or (urgent <= 10 and shares[4] >= 65) else "review"
    return Measure(key="priority", name="Priority distribution", value=round(urgent, 1), shown=shown,
                   benchmark="ISA-18.2 guide: ~80 / 15 / 5 / <1 %", verdict=verdict)  # fmt: skip


def _restriction_measures(restricted: list[AlarmAtEnd]) -> list[Measure]:
    counts = Counter(r.split(" since ", 1)[0] for a in restricted for r in a.restrictions)
    return [
        Measure(key=kind.replace(" ", "_"), name=f"Alarms {kind} at the end", value=counts[kind], shown=str(counts[kind]),
                benchmark="ISA-18.2: each one reviewed", verdict="info")
        for kind in _RESTRICTION_WORDS.values()
    ]  # fmt: skip


def _ack_measures(histogram: list[tuple[int, int]]) -> list[Measure]:
    p50, p90 = _percentile(histogram, 0.5), _percentile(histogram, 0.9)
    benchmark = "site guide: p90 ≤ 10 min"
    return [
        Measure(key="tta_p50", name="Time to acknowledge, median", value=p50,
                shown=format_duration(p50) if p50 is not None else "-", benchmark="-", verdict="info"),
        Measure(key="tta_p90", name="Time to acknowledge, p90", value=p90,
                shown=format_duration(p90) if p90 is not None else "-", benchmark=benchmark,
                verdict="info" if p90 is None else "ok" if p90 <= 600 else "review"),
    ]  # fmt: skip


def _percentile(histogram: list[tuple[int, int]], q: float) -> float | None:
    """The q-quantile (nearest rank) of the whole seconds counted in `histogram`."""
    total = sum(n for _, n in histogram)
    if not total:
        return None
    rank, seen = max(math.ceil(q * total), 1), 0  # nearest rank
    for seconds, n in sorted(histogram):
        seen += n
        if seen >= rank:
            return float(seconds)
    raise AssertionError("unreachable: the ranks add up to the total")


def _rate_series(buckets: list[tuple[datetime, int]], since: datetime, until: datetime, step: str) -> list[RatePoint]:
    width = timedelta(hours=1) if step == "hour" else timedelta(days=1)
    origin = since.replace(minute=0, second=0, microsecond=0) if step == "hour" else since.replace(
        hour=0, minute=0, second=0, microsecond=0)  # fmt: skip
    counts = [0] * max(math.ceil((until - origin) / width), 1)
    for start, n in buckets:
        counts[min(int((start - origin) / width), len(counts) - 1)] += n
    return [RatePoint(start=origin + i * width, activations=n) for i, n in enumerate(counts)]


# ------------------------------------------------------------------------------------------------ the handover


def shift_handover(db: Database, since: datetime, until: datetime, area: str | None = None) -> ShiftHandover:
    window = kq.Window(since, until, area)
    by_alarm = kq.activations_by_alarm(db, window)
    total = sum(n for *_, n in by_alarm)
    standing, restricted = _alarms_at_end(db, until, area)
    return ShiftHandover(
        since=since, until=until, area=area, new_activations=total,
        new_alarms=_bad_actors(by_alarm, total, len(by_alarm)), still_active=standing,
        stale=[a for a in standing if _stale(a, until)], acknowledged_by=dict(kq.acknowledgements_by_operator(db, window)),
        restricted=restricted,
    )  # fmt: skip
