"""The simulated unit's state, free of Tk: process values over scenario time and the ISA-18.2 alarm lifecycle.

Alarm states: UNACK (active, unacknowledged) -> ACKED (active, acknowledged) -> gone once it clears;
or UNACK -> RTN UNACK (cleared before anyone acknowledged) -> gone once acknowledged. A latched alarm stays
listed as RTN LATCHED after clearing and acknowledgement until RESET. Every transition goes to `journal`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from agent.sim.scenario import Scenario

State = Literal["active", "acknowledged", "cleared"]


@dataclass(frozen=True)
class AlarmTransition:
    """One alarm transition, as a SCADA writes it into its alarm journal."""

    at: datetime
    state: State
    tag: str
    condition: str
    priority: int
    description: str
    value: float | str | None = None
    operator: str | None = None


@dataclass
class Alarm:
    id: int
    tag: str
    condition: str
    priority: int
    description: str
    latched: bool
    raised_at: datetime
    active: bool = True
    acked_by: str | None = None

    @property
    def state(self) -> str:
        if self.active:
            return "ACKED" if self.acked_by else "UNACK"
        return "RTN LATCHED" if self.acked_by else "RTN UNACK"


@dataclass
class Plant:
    scenario: Scenario
    journal: Callable[[AlarmTransition], None] = lambda transition: None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    time: float = 0.0  # scenario seconds applied so far
    alarms: list[Alarm] = field(default_factory=list)
    horn: bool = False
    selected: int | None = None
    _next_event: int = 0
    _next_id: int = 1

    def __post_init__(self) -> None:
        self._events = self.scenario.events
        self._keyframes = {tag: [(0.0, spec.value)] for tag, spec in self.scenario.tags.items()}
        for event in self._events:
            for tag, value in (event.set or {}).items():
                self._keyframes[tag].append((event.at, value))

    # ------------------------------------------------------------------ time

    def advance_to(self, seconds: float) -> bool:
        """Applies the timeline up to `seconds`; True when an alarm changed."""
        changed = False
        while self._next_event < len(self._events) and self._events[self._next_event].at <= seconds:
            event = self._events[self._next_event]
            self._next_event += 1
            self.time = max(self.time, event.at)  # so the journal gets the value at the event's moment
            if event.alarm:
                changed |= self._raise(event.alarm)
            elif event.clear:
                changed |= self._clear(event.clear.tag, event.clear.condition)
        self.time = max(self.time, seconds)
        return changed

    def value(self, tag: str) -> float | str:
        """The tag's value now: numbers ramp linearly between the times they are set, states step."""
        frames = self._keyframes[tag]
        i = bisect.bisect_right([t for t, _ in frames], self.time) - 1  # the last keyframe at or before now
        t0, v0 = frames[i]
        t1, v1 = frames[min(i + 1, len(frames) - 1)]
        if isinstance(v0, str) or isinstance(v1, str) or t1 == t0:  # a state, or past the last keyframe: it holds
            return v0
        return v0 + (v1 - v0) * (self.time - t0) / (t1 - t0)

    # ------------------------------------------------------------------ operator actions

    def acknowledge(self, operator: str, alarm_id: int | None = None) -> bool:
        """Acknowledges one alarm: `alarm_id`, else the selected one, else the banner's."""
        banner = self.banner()
        target = alarm_id or self.selected or (banner.id if banner else None)
        alarm = next((a for a in self.alarms if a.id == target and a.acked_by is None), None)
        if alarm is None:
            return False
        self._ack(alarm, operator)
        return True

    def acknowledge_all(self, operator: str) -> bool:
        """Acknowledges every unacknowledged alarm, in alarm-list order (most urgent first)."""
        unacked = [a for a in self.listed() if a.acked_by is None]
        for alarm in unacked:
            self._ack(alarm, operator)
        return bool(unacked)

    def silence(self) -> bool:
        was, self.horn = self.horn, False
        return was

    def reset(self) -> bool:
        """Drops latched alarms that are back to normal and acknowledged, and silences the horn."""
        before = len(self.alarms)
        self.alarms = [a for a in self.alarms if a.active or a.acked_by is None]
        return self.silence() or len(self.alarms) != before

    def select(self, alarm_id: int | None) -> bool:
        was, self.selected = self.selected, alarm_id
        return was != alarm_id

    # ------------------------------------------------------------------ views

    def banner(self) -> Alarm | None:
        """The most recent of the most urgent unacknowledged alarms."""
        unacked = [a for a in self.alarms if a.acked_by is None]
        return min(unacked, key=lambda a: (a.priority, -a.id), default=None)

    def listed(self) -> list[Alarm]:
        """Alarm list order: most urgent first, newest first within a priority."""
        return sorted(self.alarms, key=lambda a: (a.priority, -a.id))

    def status(self) -> dict:
        """JSON-able state for tests and tools that watch the simulator from outside."""
        banner = self.banner()
        return {
            "time": round(self.time, 3),
            "horn": self.horn,
            "selected": self.selected,
            "banner": None if banner is None else _alarm_json(banner),
            "alarms": [_alarm_json(a) for a in self.listed()],
            "values": {tag: _rounded(self.value(tag)) for tag in self.scenario.tags},
        }

    # ------------------------------------------------------------------ internals

    def _raise(self, spec) -> bool:
        if any(a.tag == spec.tag and a.condition == spec.condition and a.active for a in self.alarms):
            return False
        alarm = Alarm(
            self._next_id, spec.tag, spec.condition, spec.priority, spec.description, spec.latched, self.clock()
        )
        self._next_id += 1
        self.alarms.append(alarm)
        self.horn = True
        self._write("active", alarm)
        return True

    def _clear(self, tag: str, condition: str) -> bool:
        alarm = next((a for a in self.alarms if a.tag == tag and a.condition == condition and a.active), None)
        if alarm is None:
            return False
        alarm.active = False
        self._write("cleared", alarm)
        self._drop_finished()
        return True

    def _ack(self, alarm: Alarm, operator: str) -> None:
        alarm.acked_by = operator
        self._write("acknowledged", alarm, operator)
        self._drop_finished()

    def _drop_finished(self) -> None:
        self.alarms = [a for a in self.alarms if a.active or a.acked_by is None or a.latched]
        if self.selected not in {a.id for a in self.alarms}:
            self.selected = None

    def _write(self, state: State, alarm: Alarm, operator: str | None = None) -> None:
        transition = AlarmTransition(
            at=self.clock(),
            state=state,
            tag=alarm.tag,
            condition=alarm.condition,
            priority=alarm.priority,
            description=alarm.description,
            value=_rounded(self.value(alarm.tag)),
            operator=operator,
        )
        self.journal(transition)


def _rounded(value: float | str) -> float | str:
    return value if isinstance(value, str) else round(value, 2)


def _alarm_json(alarm: Alarm) -> dict:
    return {
        "id": alarm.id,
        "tag": alarm.tag,
        "condition": alarm.condition,
        "priority": alarm.priority,
        "description": alarm.description,
        "state": alarm.state,
        "raised_at": alarm.raised_at.isoformat(),
        "acked_by": alarm.acked_by,
    }
