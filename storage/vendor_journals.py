"""Vendor alarm-journal exports: WinCC flexible / Comfort alarm logs, FactoryTalk Alarms and Events ConditionEvent
rows, and AVEVA (Wonderware) v_AlarmHistory, each told from its header and mapped to our transitions.

Like our own layouts, a file is one transaction (any bad row: nothing imported) and events carry a natural key, so
importing a file again adds nothing. Where a site's export names a column differently, `column_map` renames it
({"EventStamp": "Time"}: the layout's column <- the file's column) instead of guessing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from storage.db import Database
from storage.journal import EventRow, _fill_from_definitions, _given_key, _known_alarms, event_key, write_events
from storage.models import EventState
from storage.rows import (
    ImportRejected,
    ImportReport,
    RowError,
    normalize_condition,
    optional_text,
    parse_optional_float,
    parse_state,
)
from storage.safe_yaml import non_utf8_line
from storage.timeutil import UTC, as_utc, parse_timestamp

Cells = dict[str, str]
Rows = Iterator[tuple[int, Cells]]
Parsed = Iterator[tuple[int, EventRow | RowError]]
ColumnMap = dict[str, str]


@dataclass(frozen=True)
class VendorLayout:
    name: str
    required: frozenset[str]  # lower-case column names the header must have (after the column map)
    parse: Callable[[Rows, tzinfo, dict], Parsed]


def parse_column_map(entries: list[str]) -> ColumnMap:
    """`["EventStamp=Time", "TagName=Tag"]` -> {"eventstamp": "time", "tagname": "tag"} (layout column <- file's).

    Raises:
        ValueError: naming an entry that is not LAYOUT_COLUMN=FILE_COLUMN.
    """
    mapping = {}
    for entry in entries:
        ours, sep, theirs = entry.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise ValueError(f"--map {entry!r} is not LAYOUT_COLUMN=FILE_COLUMN (e.g. EventStamp=Time)")
        mapping[ours.strip().lower()] = theirs.strip().lower()
    return mapping


def _read_header(path: Path) -> tuple[list[str], str]:
    """The header (lower-case, stripped) and the delimiter: WinCC writes `;`, the others `,`."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            first = f.readline()
    except UnicodeDecodeError:
        raise ImportRejected(str(path), [RowError(non_utf8_line(path), "not UTF-8 text")]) from None
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = next(csv.reader([first], delimiter=delimiter), [])
    return [h.strip().lower() for h in header], delimiter


def _renamed(header: list[str], column_map: ColumnMap) -> list[str]:
    renames = {theirs: ours for ours, theirs in column_map.items()}
    return [renames.get(h, h) for h in header]


def detect_vendor_layout(path: Path, column_map: ColumnMap | None = None) -> VendorLayout | None:
    header, _ = _read_header(path)
    names = set(_renamed(header, column_map or {}))
    return next((layout for layout in LAYOUTS if layout.required <= names), None)


def import_vendor_journal(
    db: Database, path: str | Path, *, column_map: ColumnMap | None = None, assume_tz: tzinfo = UTC
) -> ImportReport:
    """Imports a vendor export (layout told from the header); all or nothing, re-import adds nothing.

    Raises:
        ImportRejected: not a vendor layout, or bad rows (with line numbers); the database is unchanged.
    """
    path = Path(path)
    column_map = column_map or {}
    layout = detect_vendor_layout(path, column_map)
    if layout is None:
        header, _ = _read_header(path)
        wanted = "; ".join(f"{v.name}: {sorted(v.required)}" for v in LAYOUTS)
        raise ImportRejected(str(path), [RowError(1, f"header {header!r} is no vendor layout ({wanted})")])
    rows = layout.parse(_cells(path, column_map), assume_tz, _known_alarms(db))
    return write_events(db, rows, source=str(path), layout=layout.name)


def _cells(path: Path, column_map: ColumnMap) -> Rows:
    _, delimiter = _read_header(path)
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = _renamed([h.strip().lower() for h in next(reader)], column_map)
        try:
            for cells in reader:
                if any(c.strip() for c in cells):
                    # short rows (WinCC leaves trailing cells off) read as empty cells; long ones are kept whole
                    yield reader.line_num, dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=False))
        except UnicodeDecodeError:
            raise ImportRejected(str(path), [RowError(non_utf8_line(path), "not UTF-8 text")]) from None
        except csv.Error as e:  # a cell beyond csv's field size limit
            raise ImportRejected(str(path), [RowError(reader.line_num, f"unreadable CSV: {e}")]) from None


def _guarded(parse_one: Callable[[int, Cells], list[EventRow]]) -> Callable[[Rows], Parsed]:
    """Runs a row parser over all rows; a ValueError becomes that line's RowError."""

    def run(rows: Rows) -> Parsed:
        for line, cells in rows:
            try:
                for row in parse_one(line, cells):
                    yield line, row
            except ValueError as e:
                yield line, RowError(line, str(e))

    return run


def _row(key: str, moment: datetime, tag: str, condition: str, state: EventState, **rest) -> EventRow:
    return {
        "event_key": key, "event_time": moment, "tag": tag, "condition": condition, "state": state.value,
        "priority": rest.get("priority"), "value": rest.get("value"), "message": rest.get("message"),
        "operator": rest.get("operator"), "area": rest.get("area"),
    }  # fmt: skip


def _number(text: str, column: str) -> float | None:
    return parse_optional_float(text.replace(",", "."), column)


def _band_priority(value: float | None, *, highest_first: bool) -> int | None:
    """1..1000-style urgency in four equal bands -> our 1 (critical) .. 4 (low)."""
    if value is None:
        return None
    if not 1 <= value <= 1000:
        raise ValueError(f"priority/severity {value:g} is not within 1-1000")
    band = min(int((value - 1) // 250), 3)
    return band + 1 if highest_first else 4 - band


# ------------------------------------------------------------------------------ WinCC flexible / WinCC Comfort

_OLE_EPOCH = datetime(1899, 12, 30)
_TAG_IN_TEXT = re.compile(r"\b([A-Z]{1,5}-?\d{2,5}[A-Z]?)\b")
# StateAfter, read as bits: 1 = alarm pending (came in), 2 = acknowledged. 1 came in, 3 acknowledged while pending,
# 0 went out unacknowledged; 2 (went out and acknowledged) is the acknowledgement when the alarm went out
# unacknowledged before (0), else the going of an acknowledged alarm.
_WINCC_STATES = {"1": EventState.ACTIVE, "3": EventState.ACKNOWLEDGED, "0": EventState.CLEARED}
# MsgClass: 1 errors (alarms), 2 warnings, 3 system, 4+ diagnostics.
_WINCC_CLASS_PRIORITY = {"1": 2, "2": 3}


def _wincc_time(cells: Cells, assume_tz: tzinfo) -> datetime:
    """Time_ms is the panel's local time as an OLE date (days since 1899-12-30) times 1,000,000; TimeString is the
    same moment as text in the panel's locale, used when Time_ms is empty."""
    raw = cells.get("time_ms", "").strip().replace(",", ".")
    if raw:
        try:
            milliseconds = round(float(raw) / 1_000_000 * 86_400_000)  # float days carry microsecond noise
            return as_utc(_OLE_EPOCH + timedelta(milliseconds=milliseconds), assume_tz)
        except (ValueError, OverflowError):
            raise ValueError(f"Time_ms {cells['time_ms']!r} is not a WinCC time stamp") from None
    return parse_timestamp(cells.get("timestring", ""), assume_tz)


def _wincc_parser(rows: Rows, assume_tz: tzinfo, known: dict) -> Parsed:
    last_code: dict[str, str] = {}

    def parse_one(line: int, cells: Cells) -> list[EventRow]:
        number = cells["msgnumber"].strip()
        if not number:
            raise ValueError("MsgNumber is empty")
        code = cells["stateafter"].strip()
        if code == "2":
            state = EventState.ACKNOWLEDGED if last_code.get(number) == "0" else EventState.CLEARED
        elif code in _WINCC_STATES:
            state = _WINCC_STATES[code]
        else:
            raise ValueError(f"StateAfter {code!r} is not 0, 1, 2 or 3")
        last_code[number] = code
        moment = _wincc_time(cells, assume_tz)
        text = optional_text(cells.get("msgtext"))
        found = _TAG_IN_TEXT.search(text or "")
        tag = found.group(1) if found else f"MSG-{number}"
        message_class = cells.get("msgclass", "").strip()
        row = _row(
            event_key(moment.isoformat(), f"wincc:{number}", "", code), moment, tag, "", state,
            priority=_WINCC_CLASS_PRIORITY.get(message_class, 4) if message_class else None,
            value=_first_number(cells), message=text,
        )  # fmt: skip
        row = _fill_from_definitions(row, known)
        row["area"] = row["area"] or optional_text(cells.get("plc"))  # the PLC connection when no definition says
        return [row]

    return _guarded(parse_one)(rows)


def _first_number(cells: Cells) -> float | None:
    """Var1..Var8 carry the values the message text shows; the first numeric one is the process value."""
    for i in range(1, 9):
        try:
            value = _number(cells.get(f"var{i}", ""), f"Var{i}")
        except ValueError:
            continue
        if value is not None:
            return value
    return None


# --------------------------------------------------------------------- FactoryTalk Alarms and Events

_FT_PRIORITY = {"urgent": 1, "high": 2, "medium": 3, "low": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_FT_FLAGS = (  # flag column, state when it turns on, state when it turns off
    ("suppressed", EventState.SUPPRESSED, EventState.UNSUPPRESSED),
    ("shelved", EventState.SHELVED, EventState.UNSHELVED),
    ("disabled", EventState.OUT_OF_SERVICE, EventState.IN_SERVICE),
)


def _flag(cells: Cells, column: str) -> bool | None:
    text = cells.get(column, "").strip().lower()
    if not text:
        return None
    if text in ("1", "true", "yes", "-1"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise ValueError(f"{column} {cells[column]!r} is not a 0/1 or true/false flag")


def _ft_source(source_name: str) -> tuple[str, str | None]:
    """`/Plant/Area1::[PLC1]TIC_101.PV` or `Area1/TIC-101` -> ("TIC_101", "Area1")."""
    path, _, leaf = source_name.strip().rpartition("::")
    leaf = re.sub(r"^\[[^\]]*\]", "", leaf or path).strip()
    tag = re.split(r"[./\\]", leaf)[0] if "." in leaf else leaf.replace("\\", "/").rsplit("/", 1)[-1]
    if not tag:
        raise ValueError(f"SourceName {source_name!r} names no tag")
    segments = [s for s in (path if "::" in source_name else "").replace("\\", "/").split("/") if s.strip()]
    return tag, segments[-1] if segments else None


def _factorytalk_parser(rows: Rows, assume_tz: tzinfo, known: dict) -> Parsed:
    previous: dict[tuple[str, str], dict[str, bool]] = {}

    def parse_one(line: int, cells: Cells) -> list[EventRow]:
        event_id = cells["eventid"].strip()
        if not event_id:
            raise ValueError("EventID is empty")
        tag, area = _ft_source(cells["sourcename"])
        area = _ft_area(cells.get("sourcepath", "")) or area
        condition = normalize_condition(cells.get("conditionname", "") or cells.get("subconditionname", ""))
        moment = parse_timestamp(cells["eventtimestamp"], assume_tz)
        priority_text = cells.get("priority", "").strip().lower()
        if priority_text and priority_text not in _FT_PRIORITY:
            raise ValueError(f"Priority {cells['priority']!r} is not Low/Medium/High/Urgent or 1-4")
        common = dict(
            priority=_FT_PRIORITY.get(priority_text)
            or _band_priority(_number(cells.get("severity", ""), "Severity"), highest_first=False),
            value=_number(cells.get("inputvalue", ""), "InputValue"),
            message=optional_text(cells.get("message")),
            area=area,
        )
        before = previous.setdefault((tag, condition), {"active": False, "acked": True})
        states = _ft_transitions(cells, before)
        operator = optional_text(cells.get("operatorname") or cells.get("personid"))
        out = []
        for state in states:
            by = operator if state not in (EventState.ACTIVE, EventState.CLEARED) else None
            key = _given_key(f"ft:{event_id}/{state.value}")
            out.append(_fill_from_definitions(_row(key, moment, tag, condition, state, operator=by, **common), known))
        return out

    return _guarded(parse_one)(rows)


def _ft_area(source_path: str) -> str | None:
    segments = [s for s in source_path.replace("\\", "/").replace("::", "/").split("/") if s.strip()]
    return segments[-1].strip() if segments else None


def _ft_transitions(cells: Cells, before: dict[str, bool]) -> list[EventState]:
    """The transitions from the condition's previous flags to this row's (Active, Acked, Suppressed, Shelved,
    Disabled); a row that changes nothing (a message update) is no transition."""
    active, acked = _flag(cells, "active"), _flag(cells, "acked")
    if active is None or acked is None:
        raise ValueError("Active and Acked must be 0/1 or true/false")
    states = []
    if active and not before["active"]:
        states.append(EventState.ACTIVE)
        before["acked"] = False
    if acked and not before["acked"]:
        states.append(EventState.ACKNOWLEDGED)
    if not active and before["active"]:
        states.append(EventState.CLEARED)
    before["active"], before["acked"] = active, acked
    for column, on, off in _FT_FLAGS:
        now = _flag(cells, column)
        if now is not None and now != before.get(column, False):
            states.append(on if now else off)
            before[column] = now
    return states


# ------------------------------------------------------------------------- AVEVA / Wonderware v_AlarmHistory

_AVEVA_STATES = {
    "unack": EventState.ACTIVE, "unack_alm": EventState.ACTIVE, "alm": EventState.ACTIVE,
    "ack": EventState.ACKNOWLEDGED, "ack_alm": EventState.ACKNOWLEDGED,
    "unack_rtn": EventState.CLEARED, "rtn": EventState.CLEARED,
}  # fmt: skip


def _aveva_parser(rows: Rows, assume_tz: tzinfo, known: dict) -> Parsed:
    last_state: dict[tuple[str, str], str] = {}

    def parse_one(line: int, cells: Cells) -> list[EventRow]:
        tag = cells["tagname"].strip()
        if not tag:
            raise ValueError("TagName is empty")
        condition = normalize_condition(cells.get("type", ""))
        raw = cells["alarmstate"].strip()
        code = raw.lower()
        if code == "ack_rtn":  # the clear of an acknowledged alarm, or the acknowledgement of a cleared one
            state = EventState.ACKNOWLEDGED if last_state.get((tag, condition)) == "unack_rtn" else EventState.CLEARED
        elif code in _AVEVA_STATES:
            state = _AVEVA_STATES[code]
        else:
            try:
                state = parse_state(raw)
            except ValueError:
                raise ValueError(f"AlarmState {raw!r} is not UNACK, ACK, UNACK_RTN, ACK_RTN or a plain state") from None
        last_state[(tag, condition)] = code
        moment = parse_timestamp(cells["eventstamp"], assume_tz)
        row = _row(
            event_key(moment.isoformat(), tag, condition, f"aveva:{code}"), moment, tag, condition, state,
            priority=_band_priority(_number(cells.get("priority", ""), "Priority"), highest_first=True),
            value=_number(cells.get("value", ""), "Value"),
            message=optional_text(cells.get("description")),
            operator=optional_text(cells.get("operator")) if state is not EventState.ACTIVE else None,
            area=optional_text(cells.get("area")),
        )  # fmt: skip
        return [_fill_from_definitions(row, known)]

    return _guarded(parse_one)(rows)


LAYOUTS: tuple[VendorLayout, ...] = (
    VendorLayout("wincc", frozenset({"time_ms", "stateafter", "msgnumber", "msgtext"}), _wincc_parser),
    VendorLayout(
        "factorytalk",
        frozenset({"eventid", "sourcename", "eventtimestamp", "active", "acked"}),
        _factorytalk_parser,
    ),
    VendorLayout("aveva", frozenset({"eventstamp", "alarmstate", "tagname"}), _aveva_parser),
)
