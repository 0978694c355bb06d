"""Writes the demo plant's files in this folder: definitions (YAML, CSV) and four days of journal (our CSV layout and
the SCADA export layout) ending 2025-03-01 12:00 UTC, the moment the recorded example sessions ask at.

    .venv/bin/python -m examples.plant.export

`hmi-agent alarms demo-data --export DIR` writes the same files with a journal ending now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from storage.demo import (
    demo_definitions,
    demo_events,
    write_definitions,
    write_journal_csv,
)

HERE = Path(__file__).parent
END = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
DAYS = 4


def export(out: Path = HERE) -> list[Path]:
    definitions = demo_definitions()
    rows = list(demo_events(DAYS, seed=1, end=END))
    write_definitions(out / "definitions.yaml", definitions)
    write_definitions(out / "definitions.csv", definitions)
    write_journal_csv(out / "journal.csv", rows)
    write_journal_csv(out / "journal_scada.csv", rows, layout="scada")
    return [out / name for name in ("definitions.yaml", "definitions.csv", "journal.csv", "journal_scada.csv")]


if __name__ == "__main__":
    for path in export():
        print(path)
