"""What every tool returns: text for the model, an error the model can act on, and optionally an image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Citation:
    """A passage of the plant's manuals a result rests on: the answer's evidence cites it by document and page."""

    document: str
    page: int | None = None
    heading: str | None = None
    excerpt: str = ""


@dataclass(frozen=True, kw_only=True)
class ToolResult:
    """A tool's outcome. `error` is the model's mistake told back to it in words (it may retry); our bugs raise."""

    output: str | None = None
    error: str | None = None
    image: bytes | None = None  # PNG, e.g. the frame with an action drawn on it
    data: Any = None  # the structured result (pydantic model) for the UI and recordings
    citations: tuple[Citation, ...] = ()  # manual passages the output quotes

    def __bool__(self) -> bool:
        return any((self.output, self.error, self.image))

    def as_text(self) -> str:
        """How the model sees it."""
        return f"ERROR: {self.error}" if self.error else (self.output or "")
