"""What an imported alarm identifier may hold. A tag is matched by its spelling, so characters that are invisible
or reorder text (NUL, controls, zero-width, bidi overrides) would let one imported row pose as another alarm;
they are refused with the line, as is anything longer than its column."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from storage.models import AlarmEvent

# Unicode categories no alarm identifier has: controls (NUL, tab, ESC), format characters (zero-width space and
# joiners, bidi embeddings/overrides/isolates, BOM), line/paragraph separators, surrogates, private use, unassigned.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
IDENTIFIER_COLUMNS = ("tag", "condition", "area", "operator")
MAX_LENGTH = {name: AlarmEvent.__table__.c[name].type.length for name in IDENTIFIER_COLUMNS}


def identifier_problem(column: str, value: str | None) -> str | None:
    """Why `value` cannot be stored as `column` (tag, condition, area, operator), or None when it can."""
    if value is None:
        return None
    limit = MAX_LENGTH[column]
    if len(value) > limit:
        return f"{column} is {len(value)} characters long ({value[:20]!r}...), at most {limit} are allowed"
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            name = f"U+{ord(char):04X} {unicodedata.name(char, '')}".strip()
            return f"{column} {value!r} holds an invisible or control character ({name}) at position {position}"
    return None


def row_problem(row: dict) -> str | None:
    """The first identifier of an imported row (journal event or definition) that cannot be stored, or None."""
    return _identifiers_problem(row.get("tag"), row.get("condition"), row.get("area"), row.get("operator"))


@lru_cache(maxsize=65536)  # one check per distinct (tag, condition, area, operator): an import has millions of rows
def _identifiers_problem(*values: str | None) -> str | None:
    for column, value in zip(IDENTIFIER_COLUMNS, values, strict=True):
        if problem := identifier_problem(column, value):
            return problem
    return None
