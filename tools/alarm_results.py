"""Results of the alarm tools: pydantic models that render as compact text for the model and JSON for the UI."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from storage.models import PRIORITY_NAMES
from storage.timeutil import format_duration
from tools.alarm_matching import TagMatch, alarm_name
from tools.manual_results import PassageOut


def stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


class AlarmDefinitionOut(BaseModel):
    tag: str
    condition: str
    description: str
    description_zh: str | None = None
    priority: int | None = Field(default=None, description="1 critical .. 4 low")
    area: str | None = None
    equipment: str | None = None
    probable_cause: str | None = None
    probable_cause_zh: str | None = None
    consequence: str | None = None
    consequence_zh: str | None = None
    corrective_action: str | None = None
    corrective_action_zh: str | None = None
    response_time_s: int | None = None
    setpoint: float | None = None
    units: str | None = None
    procedure_document: str | None = Field(default=None, description="the response procedure's document")
    procedure_page: int | None = None
    procedure_heading: str | None = None
    procedure: PassageOut | None = Field(default=None, description="the procedure's passage, when it is indexed")

    @property
    def name(self) -> str:
        return alarm_name(self.tag, self.condition)

    def _procedure_text(self) -> str:
        if self.procedure:
            return f"procedure: {self.procedure.as_text()}"
        place = f" p. {self.procedure_page}" if self.procedure_page is not None else ""
        heading = f" ({self.procedure_heading})" if self.procedure_heading else ""
        return f"procedure: {self.procedure_document}{place}{heading} (not in the indexed manuals)"

    def as_text(self) -> str:
        lines = [f"{self.name}: {self.description}" + (f" / {self.description_zh}" if self.description_zh else "")]
        facts = []
        if self.priority:
            facts.append(f"priority {self.priority} ({PRIORITY_NAMES[self.priority]})")
        if self.area or self.equipment:
            facts.append("at " + " / ".join(x for x in (self.area, self.equipment) if x))
        if self.setpoint is not None:
            facts.append(f"setpoint {self.setpoint:g}{' ' + self.units if self.units else ''}")
        if self.response_time_s:
            facts.append(f"respond within {format_duration(self.response_time_s)}")
        if facts:
            lines.append("; ".join(facts))
        for label, english, chinese in (
            ("cause", self.probable_cause, self.probable_cause_zh),
            ("consequence", self.consequence, self.consequence_zh),
            ("action", self.corrective_action, self.corrective_action_zh),
        ):
            if english or chinese:
                lines.append(f"{label}: " + " / ".join(x for x in (english, chinese) if x))
        if self.procedure_document:
            lines.append(self._procedure_text())
        return "\n".join(lines)


class DefinitionResult(BaseModel):
    match: TagMatch
    definitions: list[AlarmDefinitionOut]
    restricted_now: list[str] = Field(
        default_factory=list, description='e.g. "TIC-101.HH is SHELVED since 2025-03-01 06:00:00Z (3h) by a.li"'
    )

    def as_text(self) -> str:
        parts = [self.match.as_text()]
        parts += [d.as_text() for d in self.definitions]
        parts += [f"NOTE: {line}" for line in self.restricted_now]
        missing = [m.name for m in self.match.matches if m.name not in {d.name for d in self.definitions}]
        if missing:
            parts.append(f"no definition on file for {', '.join(missing)} (seen in the alarm journal only)")
        return "\n".join(parts)


class DurationStats(BaseModel):
    count: int
    mean_s: float
    median_s: float
    max_s: float

    def as_text(self) -> str:
        return (
            f"mean {format_duration(self.mean_s)}, median {format_duration(self.median_s)}, "
            f"max {format_duration(self.max_s)}"
        )


class Occurrence(BaseModel):
    condition: str
    activated_at: datetime
    acknowledged_at: datetime | None = None
    cleared_at: datetime | None = None
    value: float | None = None
    priority: int | None = None
    operator: str | None = None
    message: str | None = None
    in_flood: bool = False

    @property
    def time_to_ack_s(self) -> float | None:
        return (self.acknowledged_at - self.activated_at).total_seconds() if self.acknowledged_at else None

    @property
    def active_s(self) -> float | None:
        return (self.cleared_at - self.activated_at).total_seconds() if self.cleared_at else None

    def as_text(self) -> str:
        text = f"- {stamp(self.activated_at)} {self.condition or '(alarm)'}"
        if self.value is not None:
            text += f" value {self.value:g}"
        if self.time_to_ack_s is not None:
            text += f", acked after {format_duration(self.time_to_ack_s)}" + (
                f" by {self.operator}" if self.operator else ""
            )
        else:
            text += ", not acked"
        text += f", cleared after {format_duration(self.active_s)}" if self.active_s is not None else ", not cleared"
        return text + (" [flood]" if self.in_flood else "")


AlarmStateName = Literal["normal", "active_unacked", "active_acked", "cleared_unacked"]
RestrictionKind = Literal["shelved", "suppressed", "suppressed_by_design", "out_of_service"]
_RESTRICTION_WORDS = {
    "shelved": "SHELVED",
    "suppressed": "SUPPRESSED",
    "suppressed_by_design": "SUPPRESSED BY DESIGN",
    "out_of_service": "OUT OF SERVICE",
}


class Restriction(BaseModel):
    """Why an alarm would not annunciate now (ISA-18.2): shelved, suppressed, suppressed by design, out of service."""

    kind: RestrictionKind
    since: datetime
    by: str | None = Field(default=None, description="operator who shelved it or took it out of service")

    def as_text(self, until: datetime) -> str:
        held = format_duration((until - self.since).total_seconds())
        return f"{_RESTRICTION_WORDS[self.kind]} since {stamp(self.since)} ({held})" + (
            f" by {self.by}" if self.by else ""
        )


class ConditionState(BaseModel):
    """An alarm's state at the end of the window, replayed from its last transitions."""

    condition: str
    state: AlarmStateName
    active_since: datetime | None = None
    restrictions: list[Restriction] = Field(default_factory=list)

    def _restricted(self, kind: RestrictionKind) -> bool:
        return any(r.kind == kind for r in self.restrictions)

    @property
    def shelved(self) -> bool:
        return self._restricted("shelved")

    @property
    def suppressed(self) -> bool:
        return self._restricted("suppressed")

    @property
    def suppressed_by_design(self) -> bool:
        return self._restricted("suppressed_by_design")

    @property
    def out_of_service(self) -> bool:
        return self._restricted("out_of_service")

    def as_text(self, until: datetime) -> str:
        words = {
            "normal": "normal",
            "active_unacked": "ACTIVE, unacknowledged",
            "active_acked": "ACTIVE, acknowledged",
            "cleared_unacked": "cleared, awaiting acknowledgement",
        }[self.state]
        if self.active_since and self.state.startswith("active"):
            words += (
                f" since {stamp(self.active_since)} ({format_duration((until - self.active_since).total_seconds())})"
            )
        words += "".join(f"; {r.as_text(until)}" for r in self.restrictions)
        return f"{self.condition or '(alarm)'} {words}"


class AlarmFlags(BaseModel):
    """ISA-18.2 nuisance-alarm flags over the window."""

    chattering: bool = Field(description=">= 3 activations of one alarm within 60 s")
    max_activations_in_60s: int
    stale: bool = Field(description="an occurrence stayed active for more than 24 h")
    longest_active_s: float | None
    flood: bool = Field(description="an activation fell in an area flood (>= 10 alarms within 10 min)")
    activations_in_flood: int
    flood_checked: bool = Field(description="False when the alarm's area is unknown")

    def as_text(self) -> str:
        chatter = (
            f"CHATTERING ({self.max_activations_in_60s} activations within 60 s)"
            if self.chattering
            else "not chattering"
        )
        longest = f" (longest active {format_duration(self.longest_active_s)})" if self.longest_active_s else ""
        stale = ("STALE: active > 24 h" if self.stale else "not stale") + longest
        if not self.flood_checked:
            flood = "flood unknown (no area)"
        elif self.flood:
            flood = f"FLOOD: {self.activations_in_flood} activation(s) during area alarm floods"
        else:
            flood = "not in a flood"
        return f"ISA-18.2: {chatter}; {stale}; {flood}"


class HistoryResult(BaseModel):
    match: TagMatch
    tag: str
    condition: str | None = Field(description="None: all conditions of the tag")
    area: str | None
    since: datetime
    until: datetime
    activations: int
    first_activation: datetime | None
    last_activation: datetime | None
    time_to_ack: DurationStats | None
    unacknowledged: int
    active_duration: DurationStats | None
    still_active: int
    states: list[ConditionState]
    flags: AlarmFlags
    recent: list[Occurrence] = Field(description="most recent occurrences, newest first")

    def as_text(self) -> str:
        name = alarm_name(self.tag, self.condition or "")
        lines = []
        if self.match.how != "exact":
            lines.append(self.match.as_text())
        where = f" (area {self.area})" if self.area else ""
        lines.append(f"{name}{where}, {stamp(self.since)} .. {stamp(self.until)}:")
        if self.activations:
            first, last = stamp(self.first_activation), stamp(self.last_activation)
            lines.append(f"{self.activations} activation(s); first {first}, last {last}")
        else:
            lines.append("no activations in this window")
        if self.time_to_ack:
            acked = f"{self.time_to_ack.count} acked, {self.unacknowledged} not"
            lines.append(f"time to acknowledge: {self.time_to_ack.as_text()} ({acked})")
        if self.active_duration:
            lines.append(
                f"active duration: {self.active_duration.as_text()} "
                f"({self.active_duration.count} cleared, {self.still_active} still active)"
            )
        if self.states:
            lines.append("state now: " + "; ".join(s.as_text(self.until) for s in self.states))
        lines.append(self.flags.as_text())
        if self.recent:
            lines.append("recent (newest first):")
            lines += [o.as_text() for o in self.recent]
        return "\n".join(lines)
