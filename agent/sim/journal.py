"""The simulator writes its alarm transitions into the alarm journal, as a real SCADA would."""

from __future__ import annotations

from agent.sim.plant import AlarmTransition
from storage.db import Database, open_database
from storage.journal import event_key, write_events
from storage.rows import normalize_condition


class JournalError(ValueError):
    """The journal database can't be opened; the message names the URL."""


class Journal:
    """Callable sink for `Plant(journal=...)`: one row per transition, committed at once so readers see it."""

    def __init__(self, db: Database, area: str | None = None) -> None:
        self.db, self.area = db, area

    @classmethod
    def open(cls, url: str, area: str | None = None) -> Journal:
        try:
            return cls(open_database(url), area)
        except ValueError as e:
            raise JournalError(str(e)) from None

    def __call__(self, transition: AlarmTransition) -> None:
        condition = normalize_condition(transition.condition)  # HIHI -> HH, as imported journals store it
        row = {
            "event_key": event_key(transition.at.isoformat(), transition.tag, condition, transition.state),
            "event_time": transition.at,
            "tag": transition.tag,
            "condition": condition,
            "state": transition.state,
            "priority": transition.priority,
            "value": None if isinstance(transition.value, str) else transition.value,  # pump states aren't numbers
            "message": transition.description,
            "operator": transition.operator,
            "area": self.area,
        }
        write_events(self.db, [(0, row)], source="hmi-sim", layout="hmi-sim")
