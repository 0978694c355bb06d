"""Alarm definitions (the ISA-18.2 master alarm database) from CSV or YAML, upserted on (tag, condition).

Text columns come in English and, optionally, Chinese: `description` / `description_zh`, and likewise for
`probable_cause`, `consequence` and `corrective_action`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from storage import safe_yaml
from storage.db import Database
from storage.models import AlarmDefinition
from storage.rows import (
    ImportRejected,
    ImportReport,
    RowError,
    normalize_condition,
    optional_text,
    parse_optional_float,
    parse_priority,
)
from storage.safe_yaml import BoundedSafeLoader
from storage.tags import row_problem
from storage.timeutil import parse_duration

TEXT_COLUMNS = (
    "description", "description_zh", "area", "equipment", "probable_cause", "probable_cause_zh",
    "consequence", "consequence_zh", "corrective_action", "corrective_action_zh", "units",
    "procedure_document", "procedure_heading",
)  # fmt: skip
MAX_DEFINITIONS_BYTES = 64 * 1024 * 1024  # a master alarm database of 100k alarms is about 50 MB of YAML
DEFINITION_COLUMNS = ("tag", "condition", "priority", "response_time", "setpoint", "procedure_page", *TEXT_COLUMNS)


def parse_definition(cells: dict[str, Any]) -> dict[str, Any]:
    """One CSV row / YAML mapping -> AlarmDefinition column values. Raises ValueError naming the bad cell."""
    unknown = sorted(set(cells) - set(DEFINITION_COLUMNS))
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; expected some of {list(DEFINITION_COLUMNS)}")
    text = {k: "" if v is None else str(v) for k, v in cells.items()}
    tag = text.get("tag", "").strip()
    if not tag:
        raise ValueError("tag is empty")
    row = {k: optional_text(text.get(k)) for k in TEXT_COLUMNS}
    row.update(
        tag=tag,
        condition=normalize_condition(text.get("condition", "")),
        description=row["description"] or "",
        priority=parse_priority(text.get("priority", "")),
        response_time_s=_response_seconds(text.get("response_time", "")),
        setpoint=parse_optional_float(text.get("setpoint", ""), "setpoint"),
        procedure_page=_procedure_page(text.get("procedure_page", "")),
    )
    return row


def _procedure_page(text: str) -> int | None:
    """The page of the procedure document (1 = first page), or None when the cell is empty."""
    cleaned = text.strip()
    if not cleaned:
        return None
    if not cleaned.isdigit() or int(cleaned) < 1:
        raise ValueError(f"procedure_page {text!r} is not a page number (1, 2, ...)")
    return int(cleaned)


def _response_seconds(text: str) -> int | None:
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return (
            int(float(cleaned))
            if cleaned.replace(".", "", 1).isdigit()
            else int(parse_duration(cleaned).total_seconds())
        )
    except ValueError:
        raise ValueError(f"response_time {text!r} is neither seconds nor a duration like 5m") from None


def read_definitions(path: Path) -> tuple[str, Iterator[tuple[int, dict[str, Any]]]]:
    """(layout, (line, raw mapping) pairs) of a definitions file: `.yaml`/`.yml` or CSV."""
    if path.suffix.lower() in (".yaml", ".yml"):
        return "yaml", _yaml_items(path)
    return "csv", _csv_items(path)


def _csv_items(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames:
            yield 1, {"": "empty file: expected a CSV header"}
            return
        reader.fieldnames = [h.strip().lower() for h in reader.fieldnames]
        if "tag" not in reader.fieldnames:
            yield 1, {"": f"header {reader.fieldnames!r} has no 'tag' column"}
            return
        try:
            for row in reader:
                if None in row:
                    yield reader.line_num, {"": "more cells than the header"}
                elif any((v or "").strip() for v in row.values()):
                    yield reader.line_num, row
        except csv.Error as e:  # a cell beyond csv's field size limit
            yield reader.line_num + 1, {"": f"unreadable CSV: {e}"}


class _LineLoader(BoundedSafeLoader):
    """Remembers the line where each mapping starts, so bad definitions are reported by line."""

    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


def _yaml_items(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        document = safe_yaml.load(safe_yaml.read_text(path, MAX_DEFINITIONS_BYTES), _LineLoader)
    except safe_yaml.UnusableText as e:
        raise ImportRejected(str(path), [RowError(e.line, str(e))]) from None
    except yaml.YAMLError as e:
        line, problem = safe_yaml.yaml_problem(e)
        raise ImportRejected(str(path), [RowError(line or 1, f"not valid YAML: {problem}")]) from None
    items = document.get("alarms") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ImportRejected(str(path), [RowError(1, "expected a list of alarms (or a mapping with an 'alarms' list)")])
    for item in items:
        if not isinstance(item, dict):
            yield 1, {"": safe_yaml.one_line(f"expected a mapping per alarm, got {item!r}")}
            continue
        line = item.pop("__line__", None) or 1  # an aliased mapping repeats: its line was taken at first use
        yield line, item


def import_definitions(db: Database, path: str | Path) -> ImportReport:
    """Imports (inserts or updates) definitions from a CSV or YAML file, all or nothing.

    Raises:
        ImportRejected: bad rows (with line numbers); the database is unchanged.
    """
    path = Path(path)
    layout, items = read_definitions(path)
    parsed, errors = [], []
    try:
        for line, cells in items:
            if "" in cells:
                errors.append(RowError(line, cells[""]))
                continue
            try:
                parsed.append(_checked(parse_definition(cells)))
            except ValueError as e:
                errors.append(RowError(line, str(e)))
    except UnicodeDecodeError:
        errors.append(RowError(safe_yaml.non_utf8_line(path), "not UTF-8 text"))
    if errors:
        raise ImportRejected(str(path), errors)
    new, updated = upsert_definitions(db, parsed)
    return ImportReport("definitions", layout, len(parsed), new, updated)


def _checked(row: dict[str, Any]) -> dict[str, Any]:
    if problem := row_problem(row):
        raise ValueError(problem)
    return row


def upsert_definitions(db: Database, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Inserts new (tag, condition)s and overwrites existing ones, in one transaction. Returns (new, updated)."""
    with db.session() as session:
        existing = {(d.tag, d.condition): d for d in session.scalars(select(AlarmDefinition))}
        new = 0
        for row in rows:
            definition = existing.get((row["tag"], row["condition"]))
            if definition is None:
                definition = AlarmDefinition(**row)
                session.add(definition)
                existing[(row["tag"], row["condition"])] = definition
                new += 1
            else:
                for column, value in row.items():
                    setattr(definition, column, value)
    return new, len(rows) - new
