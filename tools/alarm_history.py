"""`alarm_history` arithmetic: pairing transitions into occurrences, statistics, and the ISA-18.2 flags
(chattering, stale, flood) over a window. Database access is in `storage.queries`; every query is index-bounded."""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta

from storage import queries
from storage.db import Database
from storage.models import RESTRICTIONS, EventState
from storage.queries import EventRecord
from tools.alarm_matching import TagMatch
from tools.alarm_results import AlarmFlags, ConditionState, DurationStats, HistoryResult, Occurrence, Restriction

CHATTER_COUNT, CHATTER_WINDOW = 3, timedelta(seconds=60)
STALE_AFTER = timedelta(hours=24)
FLOOD_COUNT, FLOOD_WINDOW = 10, timedelta(minutes=10)
STATE_REPLAY_EVENTS = 50  # transitions replayed to find an alarm's current state
FLOOD_RANGES_PER_QUERY = 50


def pair_occurrences(events: Sequence[EventRecord]) -> list[Occurrence]:
    """Activations with the acknowledgement and clear that followed them (per condition), oldest first.
    Acks and clears whose activation lies before the window are ignored."""
    occurrences: list[Occurrence] = []
    latest: dict[str, Occurrence] = {}
    for event in events:
        if event.state == EventState.ACTIVE:
            occurrence = Occurrence(
                condition=event.condition,
                activated_at=event.event_time,
                value=event.value,
                priority=event.priority,
                message=event.message,
            )
            occurrences.append(occurrence)
            latest[event.condition] = occurrence
        elif (occurrence := latest.get(event.condition)) is not None:
            if event.state == EventState.ACKNOWLEDGED and occurrence.acknowledged_at is None:
                occurrence.acknowledged_at = event.event_time
                occurrence.operator = event.operator
            elif event.state == EventState.CLEARED and occurrence.cleared_at is None:
                occurrence.cleared_at = event.event_time
    return occurrences


def max_within(times: Sequence[datetime], window: timedelta) -> int:
    """Most of the sorted `times` that fit in one window (last minus first strictly less than `window`)."""
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def flood_periods(times: Sequence[datetime]) -> list[tuple[datetime, datetime]]:
    """Merged spans covered by FLOOD_COUNT consecutive activations less than FLOOD_WINDOW apart."""
    periods: list[tuple[datetime, datetime]] = []
    for i in range(len(times) - FLOOD_COUNT + 1):
        start, end = times[i], times[i + FLOOD_COUNT - 1]
        if end - start < FLOOD_WINDOW:
            if periods and start <= periods[-1][1]:
                periods[-1] = (periods[-1][0], max(end, periods[-1][1]))
            else:
                periods.append((start, end))
    return periods


def _within(moment: datetime, periods: list[tuple[datetime, datetime]]) -> bool:
    index = bisect_right(periods, (moment, moment)) - 1
    candidates = periods[max(index, 0) : index + 2]
    return any(start <= moment <= end for start, end in candidates)


def _neighbourhoods(moments: Sequence[datetime]) -> list[tuple[datetime, datetime]]:
    """Merged [t - FLOOD_WINDOW, t + FLOOD_WINDOW] around each activation: all a flood test needs to read."""
    ranges: list[tuple[datetime, datetime]] = []
    for moment in sorted(moments):
        lo, hi = moment - FLOOD_WINDOW, moment + FLOOD_WINDOW
        if ranges and lo <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], hi)
        else:
            ranges.append((lo, hi))
    return ranges


def mark_floods(db: Database, area: str, occurrences: list[Occurrence]) -> None:
    ranges = _neighbourhoods([o.activated_at for o in occurrences])
    times: list[datetime] = []
    for start in range(0, len(ranges), FLOOD_RANGES_PER_QUERY):
        times += queries.area_activations(db, area, ranges[start : start + FLOOD_RANGES_PER_QUERY])
    periods = flood_periods(sorted(times))
    for occurrence in occurrences:
        occurrence.in_flood = _within(occurrence.activated_at, periods)


def replay_state(condition: str, events: Sequence[EventRecord]) -> ConditionState:
    active, acked, since = False, True, None
    restrictions: dict[str, Restriction] = {}
    for event in events:
        match event.state:
            case EventState.ACTIVE:
                active, acked, since = True, False, event.event_time
            case EventState.ACKNOWLEDGED:
                acked = True
            case EventState.CLEARED:
                active = False
            case state if state in RESTRICTIONS:
                starts, kind = RESTRICTIONS[EventState(state)]
                if not starts:
                    restrictions.pop(kind, None)
                elif kind not in restrictions:  # a repeated "shelved" keeps the first moment
                    restrictions[kind] = Restriction(kind=kind, since=event.event_time, by=event.operator)
    if active:
        state = "active_acked" if acked else "active_unacked"
    else:
        state, since = ("normal" if acked else "cleared_unacked"), None
    return ConditionState(
        condition=condition, state=state, active_since=since, restrictions=list(restrictions.values())
    )


def restrictions_now(db: Database, tag: str, condition: str, now: datetime) -> list[Restriction]:
    """Why this alarm would not annunciate at `now`: shelved, suppressed, suppressed by design, out of service."""
    events = queries.latest_restriction_events(db, tag, condition, now, STATE_REPLAY_EVENTS)
    return replay_state(condition, events).restrictions


def _state_events(db: Database, tag: str, condition: str, until: datetime) -> list[EventRecord]:
    """The recent transitions plus the last restriction transitions, oldest first, each once."""
    recent = queries.latest_events(db, tag, condition, until, STATE_REPLAY_EVENTS)
    restricting = queries.latest_restriction_events(db, tag, condition, until, STATE_REPLAY_EVENTS)
    seen = set(recent)
    return sorted([e for e in restricting if e not in seen] + recent, key=lambda e: e.event_time)  # stable on ties


def duration_stats(seconds: list[float]) -> DurationStats | None:
    if not seconds:
        return None
    return DurationStats(
        count=len(seconds),
        mean_s=round(statistics.fmean(seconds), 1),
        median_s=round(statistics.median(seconds), 1),
        max_s=round(max(seconds), 1),
    )


def build_history(
    db: Database, match: TagMatch, tag: str, condition: str | None, since: datetime, until: datetime, limit: int
) -> HistoryResult:
    events = queries.events_between(db, tag, condition, since, until)
    occurrences = pair_occurrences(events)
    conditions = [condition] if condition is not None else queries.conditions_of(db, tag)
    states = [replay_state(c, _state_events(db, tag, c, until)) for c in conditions]

    area = next((e.area for e in events if e.area), None) or queries.area_of(db, tag)
    if area and occurrences:
        mark_floods(db, area, occurrences)

    # Durations: cleared occurrences; the alarm still standing at `until` counts as active until then.
    active_spans = [o.active_s for o in occurrences if o.active_s is not None]
    standing = [(until - s.active_since).total_seconds() for s in states if s.active_since]
    longest = max(active_spans + standing, default=None)
    by_condition: dict[str, list[datetime]] = {}
    for o in occurrences:
        by_condition.setdefault(o.condition, []).append(o.activated_at)
    chatter = max((max_within(times, CHATTER_WINDOW) for times in by_condition.values()), default=0)
    in_flood = sum(o.in_flood for o in occurrences)

    acked = [o.time_to_ack_s for o in occurrences if o.time_to_ack_s is not None]
    return HistoryResult(
        match=match,
        tag=tag,
        condition=condition,
        area=area,
        since=since,
        until=until,
        activations=len(occurrences),
        first_activation=occurrences[0].activated_at if occurrences else None,
        last_activation=occurrences[-1].activated_at if occurrences else None,
        time_to_ack=duration_stats(acked),
        unacknowledged=len(occurrences) - len(acked),
        active_duration=duration_stats(active_spans),
        still_active=sum(1 for s in states if s.active_since),
        states=states,
        flags=AlarmFlags(
            chattering=chatter >= CHATTER_COUNT,
            max_activations_in_60s=chatter,
            stale=longest is not None and longest > STALE_AFTER.total_seconds(),
            longest_active_s=round(longest, 1) if longest is not None else None,
            flood=in_flood > 0,
            activations_in_flood=in_flood,
            flood_checked=area is not None,
        ),
        recent=occurrences[::-1][:limit],
    )
