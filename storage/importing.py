"""One entry point for `hmi-agent alarms import`: decides whether a file is a journal or definitions."""

from __future__ import annotations

import csv
from datetime import tzinfo
from pathlib import Path
from typing import Literal

from storage.db import Database
from storage.definitions import import_definitions
from storage.journal import detect_journal_layout, import_journal
from storage.rows import ImportRejected, ImportReport, RowError
from storage.safe_yaml import non_utf8_line
from storage.timeutil import UTC
from storage.vendor_journals import (
    ColumnMap,
    detect_vendor_layout,
    import_vendor_journal,
)

Kind = Literal["journal", "definitions"]


def detect_kind(path: Path, column_map: ColumnMap | None = None) -> Kind:
    """YAML files hold definitions; a CSV is a journal when its header has a journal layout's columns."""
    if path.suffix.lower() in (".yaml", ".yml"):
        return "definitions"
    if detect_vendor_layout(path, column_map):
        return "journal"
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), [])
    except UnicodeDecodeError:
        raise ImportRejected(str(path), [RowError(non_utf8_line(path), "not UTF-8 text")]) from None
    except csv.Error as e:  # a header cell beyond csv's field size limit
        raise ImportRejected(str(path), [RowError(1, f"unreadable CSV: {e}")]) from None
    if detect_journal_layout(header):
        return "journal"
    if "tag" in {h.strip().lower() for h in header}:
        return "definitions"
    raise ImportRejected(str(path), [RowError(1, f"cannot tell journal from definitions by the header {header!r}")])


def import_file(
    db: Database,
    path: str | Path,
    kind: Kind | None = None,
    *,
    assume_tz: tzinfo = UTC,
    column_map: ColumnMap | None = None,
) -> ImportReport:
    """Imports a journal CSV (our layouts or a vendor export, see storage.vendor_journals; `column_map` renames a
    vendor export's columns) or a definitions CSV/YAML; all or nothing.

    Raises:
        ImportRejected: the file is unusable or has bad rows; the database is unchanged.
    """
    path = Path(path)
    kind = kind or detect_kind(path, column_map)
    if kind == "journal" and (column_map or detect_vendor_layout(path)):
        return import_vendor_journal(db, path, column_map=column_map, assume_tz=assume_tz)
    if kind == "journal":
        return import_journal(db, path, assume_tz=assume_tz)
    return import_definitions(db, path)
