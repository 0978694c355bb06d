"""Parsing single cells of imported files, and the outcome types of an import."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from storage.models import EventState

MAX_REPORTED_ERRORS = 20

_PRIORITY_BY_NAME = {
    "critical": 1, "urgent": 1, "emergency": 1, "紧急": 1,
    "high": 2, "高": 2,
    "medium": 3, "med": 3, "中": 3,
    "low": 4, "diagnostic": 4, "低": 4,
}  # fmt: skip

_STATE_ALIASES = {
    "active": EventState.ACTIVE, "alarm": EventState.ACTIVE, "activated": EventState.ACTIVE, "in": EventState.ACTIVE,
    "acknowledged": EventState.ACKNOWLEDGED, "ack": EventState.ACKNOWLEDGED, "acked": EventState.ACKNOWLEDGED,
    "cleared": EventState.CLEARED, "clear": EventState.CLEARED, "rtn": EventState.CLEARED, "out": EventState.CLEARED,
    "normal": EventState.CLEARED, "return_to_normal": EventState.CLEARED, "returntonormal": EventState.CLEARED,
    "shelved": EventState.SHELVED, "unshelved": EventState.UNSHELVED,
    "suppressed": EventState.SUPPRESSED, "unsuppressed": EventState.UNSUPPRESSED,
    "suppressed_by_design": EventState.SUPPRESSED_BY_DESIGN, "design_suppressed": EventState.SUPPRESSED_BY_DESIGN,
    "unsuppressed_by_design": EventState.UNSUPPRESSED_BY_DESIGN,
    "design_unsuppressed": EventState.UNSUPPRESSED_BY_DESIGN,
    "out_of_service": EventState.OUT_OF_SERVICE, "oos": EventState.OUT_OF_SERVICE, "disabled": EventState.OUT_OF_SERVICE,
    "in_service": EventState.IN_SERVICE, "returned_to_service": EventState.IN_SERVICE,
    "enabled": EventState.IN_SERVICE,
}  # fmt: skip

# Spellings of the usual process-alarm conditions, reduced to the ISA-style short code.
_CONDITION_ALIASES = {
    "HH": "HH", "HIHI": "HH", "HIGHHIGH": "HH", "HIGH_HIGH": "HH", "HHI": "HH",
    "H": "H", "HI": "H", "HIGH": "H",
    "L": "L", "LO": "L", "LOW": "L",
    "LL": "LL", "LOLO": "LL", "LOWLOW": "LL", "LOW_LOW": "LL",
    "FAIL": "FAIL", "FAILURE": "FAIL", "FAULT": "FAIL", "BAD": "FAIL", "BADPV": "FAIL",
    "TRIP": "TRIP", "TRIPPED": "TRIP",
    "DEV": "DEV", "DEVIATION": "DEV", "ROC": "ROC", "RATEOFCHANGE": "ROC",
}  # fmt: skip
# Condition codes the tag matcher may find glued to a tag as read on screen ("TIC-101 HI HI").
CONDITION_SPELLINGS: dict[str, list[str]] = {}
for _spelling, _code in _CONDITION_ALIASES.items():
    CONDITION_SPELLINGS.setdefault(_code, []).append(_spelling.replace("_", ""))


@lru_cache(maxsize=4096)  # few distinct spellings, millions of rows
def normalize_condition(text: str) -> str:
    """`High High`, `HiHi`, `hh` -> `HH`; unknown conditions are upper-cased with `_` for spaces."""
    cleaned = re.sub(r"[\s\-]+", "_", text.strip().upper())
    return _CONDITION_ALIASES.get(cleaned, _CONDITION_ALIASES.get(cleaned.replace("_", ""), cleaned))


@lru_cache(maxsize=4096)  # few distinct spellings, millions of rows
def parse_priority(text: str) -> int | None:
    """1..4 (1 = most urgent) or critical/high/medium/low (also 紧急/高/中/低); empty -> None."""
    cleaned = text.strip().lower()
    if not cleaned:
        return None
    if cleaned in _PRIORITY_BY_NAME:
        return _PRIORITY_BY_NAME[cleaned]
    if cleaned.isdigit() and 1 <= int(cleaned) <= 4:
        return int(cleaned)
    raise ValueError(f"priority {text!r} is not 1-4 or critical/high/medium/low")


def priority_from_name(text: str) -> int | None:
    return _PRIORITY_BY_NAME.get(text.strip().lower())


@lru_cache(maxsize=4096)  # few distinct spellings, millions of rows
def parse_state(text: str) -> EventState:
    cleaned = re.sub(r"[\s\-]+", "_", text.strip().lower())
    try:
        return _STATE_ALIASES[cleaned]
    except KeyError:
        raise ValueError(f"state {text!r} is not one of {', '.join(s.value for s in EventState)}") from None


def parse_optional_float(text: str, column: str) -> float | None:
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a number") from None


def optional_text(text: str | None) -> str | None:
    cleaned = (text or "").strip()
    return cleaned or None


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


class ImportRejected(ValueError):
    """The file has bad rows; nothing of it was imported. Lists the first errors with their line numbers."""

    def __init__(self, path: str, errors: list[RowError], bad_rows: int | None = None):
        self.path = path
        self.errors = errors[:MAX_REPORTED_ERRORS]
        self.bad_rows = bad_rows if bad_rows is not None else len(errors)
        shown = "; ".join(f"line {e.line}: {e.message}" for e in self.errors)
        more = f" (and {self.bad_rows - len(self.errors)} more)" if self.bad_rows > len(self.errors) else ""
        super().__init__(f"{path}: {self.bad_rows} bad row(s), nothing imported: {shown}{more}")


@dataclass(frozen=True)
class ImportReport:
    kind: str  # "journal" | "definitions"
    layout: str  # "native" | "scada" | "csv" | "yaml" | "generated"
    rows: int
    imported: int
    duplicates: int  # journal: events already present; definitions: existing definitions updated

    def summary(self) -> str:
        skipped = "updated" if self.kind == "definitions" else "duplicates skipped"
        return f"{self.kind} ({self.layout}): {self.rows} rows, {self.imported} imported, {self.duplicates} {skipped}"
