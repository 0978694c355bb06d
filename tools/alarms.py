"""The two alarm tools the agent calls: what an alarm means, and whether it has happened recently."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from pydantic import Field

from storage import queries
from storage.db import Database
from storage.documents import passage_at
from storage.timeutil import now_utc, parse_moment
from tools.alarm_history import build_history, restrictions_now
from tools.alarm_kpis import alarm_system_report
from tools.alarm_matching import TagMatch, TagMatcher
from tools.alarm_results import AlarmDefinitionOut, DefinitionResult
from tools.manual_results import PassageOut
from tools.manuals import ManualTools
from tools.registry import Tool
from tools.result import ToolResult

MAX_WINDOW_DAYS = 366


class AlarmTools:
    """Alarm definitions and history from the plant's alarm database, as model tools."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = now_utc):
        self.db = db
        self.clock = clock
        self._matcher: tuple[tuple[int, int], TagMatcher] | None = None

    def tools(self) -> list[Tool]:
        """The alarm tools, and the manual tools over the same database (procedures, equipment lists)."""
        return [
            Tool.from_function(self.alarm_definition),
            Tool.from_function(self.alarm_history),
            Tool.from_function(self.alarm_kpis),
            *ManualTools(self.db).tools(),
        ]

    def _catalog(self) -> TagMatcher:
        """The matcher over all known alarms, rebuilt only when definitions or journal sources were added."""
        version = queries.catalog_version(self.db)
        if self._matcher is None or self._matcher[0] != version:
            self._matcher = (version, TagMatcher(queries.known_alarms(self.db)))
        return self._matcher[1]

    def _match(self, tag: str) -> TagMatch | ToolResult:
        matcher = self._catalog()
        match = matcher.match(tag)
        if match is not None:
            return match
        near = matcher.suggestions(tag)
        hint = f"; did you mean {', '.join(c.name for c in near)}?" if near else "; no similar tag is known"
        return ToolResult(error=f"unknown alarm tag {tag!r}{hint}")

    def alarm_definition(self, tag: Annotated[str, Field(min_length=1, max_length=100)]) -> ToolResult:
        """Looks up what an alarm means in the plant's master alarm database: description, probable cause,
        consequence, the operator's corrective action, priority and allowed response time (English and Chinese).

        Args:
            tag: The alarm tag as read on screen, optionally with its condition, e.g. "TIC-101.HH", "TIC101 HI HI"
                or "PIC-2O3". Case, separators and O/0, I/1 confusions are tolerated; the answer says which
                alarm it matched and how sure that is.
        """
        match = self._match(tag)
        if isinstance(match, ToolResult):
            return match
        found = queries.definitions(self.db, [(m.tag, m.condition) for m in match.matches])
        result = DefinitionResult(
            match=match,
            definitions=[
                self._with_procedure(AlarmDefinitionOut.model_validate(d, from_attributes=True)) for d in found
            ],
            restricted_now=self._restricted_now(match),
        )
        citations = tuple(d.procedure.citation() for d in result.definitions if d.procedure)
        return ToolResult(output=result.as_text(), data=result, citations=citations)

    def _restricted_now(self, match: TagMatch) -> list[str]:
        """Shelved / suppressed / out-of-service notes for the matched alarms: every answer must say so."""
        now = self.clock()
        return [
            f"{m.name} is {restriction.as_text(now)}"
            for m in match.matches
            for restriction in restrictions_now(self.db, m.tag, m.condition, now)
        ]

    def _with_procedure(self, definition: AlarmDefinitionOut) -> AlarmDefinitionOut:
        """The definition with the text of the procedure it names, when that document is indexed."""
        if not definition.procedure_document:
            return definition
        hit = passage_at(
            self.db, definition.procedure_document, page=definition.procedure_page, heading=definition.procedure_heading
        )
        return definition.model_copy(update={"procedure": PassageOut.of(hit) if hit else None})

    def alarm_history(
        self,
        tag: Annotated[str, Field(min_length=1, max_length=100)],
        since: Annotated[str, Field(min_length=1, max_length=40)] = "7d",
        until: Annotated[str | None, Field(max_length=40)] = None,
        limit: Annotated[int, Field(ge=1, le=50)] = 10,
    ) -> ToolResult:
        """Tells whether an alarm has happened recently: activations in a time window, first and last time,
        time-to-acknowledge and active-duration statistics, its state now, ISA-18.2 flags (chattering, stale,
        part of an alarm flood) and the most recent occurrences.

        Args:
            tag: The alarm tag as read on screen, optionally with its condition, e.g. "TIC-101.HH" or "TIC101".
                Without a condition all conditions of the tag are covered.
            since: Start of the window: a duration back from now (30m, 24h, 7d, 4w) or an ISO timestamp.
            until: End of the window: a duration back from now or an ISO timestamp; empty means now.
            limit: How many of the most recent occurrences to list.
        """
        window = self._window(since, until)
        if isinstance(window, ToolResult):
            return window
        start, end = window
        match = self._match(tag)
        if isinstance(match, ToolResult):
            return match
        if match.ambiguous:
            names = ", ".join(m.name for m in match.matches)
            return ToolResult(error=f"tag {tag!r} is ambiguous: it could be {names}; call again with one of them")
        alarm = match.matches[0]
        condition = alarm.condition if len(match.matches) == 1 and match.how != "tag_only" else None
        result = build_history(self.db, match, alarm.tag, condition, start, end, limit)
        return ToolResult(output=result.as_text(), data=result)

    def _window(self, since: str, until: str | None) -> tuple[datetime, datetime] | ToolResult:
        """(start, end) of a since/until pair, or the error the model gets back."""
        now = self.clock()
        try:
            start = parse_moment(since, now)
            end = parse_moment(until, now) if until else now
        except ValueError as e:
            return ToolResult(error=str(e))
        if start >= end:
            return ToolResult(
                error=f"since={since!r} ({start:%Y-%m-%d %H:%M}Z) is not before until ({end:%Y-%m-%d %H:%M}Z)"
            )
        if (end - start).days > MAX_WINDOW_DAYS:
            return ToolResult(error=f"window {since!r}..{until or 'now'!r} is longer than {MAX_WINDOW_DAYS} days")
        return start, end

    def alarm_kpis(
        self,
        since: Annotated[str, Field(min_length=1, max_length=40)] = "24h",
        until: Annotated[str | None, Field(max_length=40)] = None,
        area: Annotated[str | None, Field(max_length=100)] = None,
    ) -> ToolResult:
        """Measures the health of the alarm system over a time window, e.g. a shift ("how bad was the night
        shift?"), by ISA-18.2 / EEMUA 191: alarms per day and per 10 minutes, floods, peak rate, bad actors,
        chattering, fleeting, stale and standing alarms, priority distribution, shelved/suppressed/out-of-service
        alarms and time to acknowledge, each against its benchmark with a verdict.

        Args:
            since: Start of the window: a duration back from now (8h, 24h, 7d) or an ISO timestamp (for a shift,
                e.g. the night shift "2025-03-01T22:00:00+08:00").
            until: End of the window: a duration back from now or an ISO timestamp; empty means now.
            area: Only alarms of this plant area (as in the alarm database, e.g. "Reactor"); empty means all areas.
        """
        window = self._window(since, until)
        if isinstance(window, ToolResult):
            return window
        result = alarm_system_report(self.db, *window, area=area or None)
        return ToolResult(output=result.as_text(), data=result)
