"""Results of the manual tools: passages with their document, page and heading, as text for the model, JSON for
the UI and API, and citations for the answer's evidence."""

from __future__ import annotations

from pydantic import BaseModel

from storage.documents import Hit
from tools.result import Citation

EXCERPT_CHARS = 900  # a procedure page fits; the model's context does not need whole long pages


class PassageOut(BaseModel):
    document: str
    page: int | None = None
    heading: str | None = None
    text: str
    fields: dict[str, str] | None = None  # a table row's cells by column name
    score: float = 0.0

    @classmethod
    def of(cls, hit: Hit) -> PassageOut:
        body = hit.body if len(hit.body) <= EXCERPT_CHARS else hit.body[:EXCERPT_CHARS].rstrip() + " …"
        return cls(
            document=hit.document,
            page=hit.page,
            heading=hit.heading,
            text=body,
            fields=hit.fields,
            score=round(hit.score, 6),
        )

    @property
    def where(self) -> str:
        """How an answer cites it: `operating-manual-en.pdf p. 7 (4.1 TIC-101 ...)`."""
        place = f" p. {self.page}" if self.page is not None else ""
        return f"{self.document}{place}" + (f" ({self.heading})" if self.heading else "")

    def citation(self) -> Citation:
        return Citation(document=self.document, page=self.page, heading=self.heading, excerpt=self.text)

    def as_text(self) -> str:
        return f"[{self.where}]\n{self.text}"


class ManualSearchResult(BaseModel):
    query: str
    tag: str | None = None
    passages: list[PassageOut]

    def as_text(self) -> str:
        if not self.passages:
            within = f" mentioning {self.tag}" if self.tag else ""
            return f"no passage in the indexed manuals{within} matches {self.query!r}"
        return "\n\n".join(p.as_text() for p in self.passages)


class EquipmentResult(BaseModel):
    model: str
    serial: str | None = None
    rows: list[PassageOut]

    def as_text(self) -> str:
        if not self.rows:
            return (
                f"no row in the indexed equipment lists matches model {self.model!r}: it is not on any list "
                "(check the reading of the nameplate)"
            )
        return "\n".join(f"{row.where}: {row.text}" for row in self.rows)
