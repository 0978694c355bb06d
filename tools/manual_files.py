"""Documents into the manual index: PDF (text layer; scanned pages through the screen parser's OCR), Markdown,
HTML, plain text, and CSV/XLSX tables (each row a passage with its column names). Unchanged files are skipped, a
changed file replaces its earlier version, a bad file is one line in the report and leaves nothing half-indexed."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from storage import documents
from storage.db import Database
from storage.documents import Passage

SUFFIXES = {
    ".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
    ".txt": "text", ".csv": "table", ".xlsx": "table",
}  # fmt: skip
MIN_TEXT_LAYER_CHARS = 20  # a page with less text than this is treated as scanned and read by OCR
OCR_SCALE = 2.0  # 144 dpi: small print of a scanned page stays readable for the OCR
CHUNK_CHARS = 1500  # long Markdown/HTML sections and text files are cut into passages of about this size
_HEADING_LINE = re.compile(r"^\s*(\d+(\.\d+)*\.?\s+\S.{0,80}|第.{1,4}[章节].{0,40})$")


class DocumentError(ValueError):
    """A file that cannot be indexed, as one line naming the file and what is wrong with it."""


@dataclass(frozen=True)
class Extracted:
    kind: str
    pages: int
    passages: list[Passage]


@dataclass
class AddReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pages: int = 0

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.replaced)} replaced, {len(self.unchanged)} unchanged, "
            f"{len(self.errors)} failed ({self.pages} pages/rows indexed)"
        )


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """The indexable files named or found (recursively) in folders, and one-line errors for the rest. A file named
    explicitly must have a known suffix; files of other types inside folders are passed over."""
    found, errors = [], []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif not path.exists():
            errors.append(f"{path}: no such file or folder")
        elif path.suffix.lower() not in SUFFIXES:
            errors.append(
                f"{path}: {path.suffix or 'no suffix'!r} is not a supported type ({', '.join(sorted(SUFFIXES))})"
            )
        else:
            found.append(path)
    return list(dict.fromkeys(p.resolve() for p in found)), errors


def add_files(db: Database, files: list[Path], on_file: Callable[[Path], None] = lambda _: None) -> AddReport:
    """Indexes each file (from `collect_files`), calling `on_file` after each one (progress bars)."""
    report = AddReport()
    for path in files:
        try:
            _add_one(db, path, report)
        except DocumentError as e:
            report.errors.append(str(e))
        on_file(path)
    return report


def _add_one(db: Database, path: Path, report: AddReport) -> None:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DocumentError(f"{path}: cannot read: {e.strerror or e}") from None
    digest = hashlib.sha256(data).hexdigest()
    before = documents.stored_digest(db, str(path))
    if before == digest:
        report.unchanged.append(str(path))
        return
    extracted = extract(path, data)
    if not extracted.passages:
        raise DocumentError(f"{path}: no text found")
    documents.replace_document(
        db,
        path=str(path),
        name=path.name,
        kind=extracted.kind,
        sha256=digest,
        pages=extracted.pages,
        items=extracted.passages,
    )
    (report.added if before is None else report.replaced).append(str(path))
    report.pages += extracted.pages


def extract(path: Path, data: bytes) -> Extracted:
    """The passages of a file by its suffix. Raises DocumentError naming the file."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DocumentError(f"{path}: {path.suffix!r} is not a supported type")
    try:
        if kind == "pdf":
            return _pdf(data)
        if path.suffix.lower() == ".xlsx":
            return _xlsx(data)
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentError(f"{path}: not UTF-8 text") from None
    except DocumentError as e:
        raise DocumentError(f"{path}: {e}") from None
    if kind == "table":
        return _csv(content, path)
    return _sections(kind, _html_lines(content) if kind == "html" else _markdown_lines(content, kind))


# ---------------------------------------------------------------------------------------------------------- PDF


def _pdf(data: bytes) -> Extracted:
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as e:
        raise DocumentError(f"not a readable PDF ({e})") from None
    try:
        passages, heading = [], None
        for number in range(1, len(pdf) + 1):
            body = _page_text(pdf[number - 1])
            heading = _first_heading(body) or heading
            if body:
                passages.append(Passage(body=body, page=number, heading=heading))
        return Extracted("pdf", len(pdf), passages)
    finally:
        pdf.close()


def _page_text(page) -> str:
    text_page = page.get_textpage()
    text = text_page.get_text_bounded().replace("\r\n", "\n").strip()
    text_page.close()
    if len(text) < MIN_TEXT_LAYER_CHARS:  # a scanned page: its text is in the picture
        text = _ocr(page) or text
    return text


def _ocr(page) -> str:
    """The page rendered and read by the screen parser's OCR, as lines top to bottom."""
    import numpy as np

    from perception.screen.ocr import read_text

    image = page.render(scale=OCR_SCALE).to_pil().convert("RGB")
    boxes = sorted(read_text(np.asarray(image)), key=lambda b: (b.centre_y, b.bbox[0]))
    lines: list[list] = []
    for box in boxes:
        if lines and abs(lines[-1][-1].centre_y - box.centre_y) < box.height / 2:
            lines[-1].append(box)
        else:
            lines.append([box])
    return "\n".join(" ".join(b.text for b in sorted(line, key=lambda b: b.bbox[0])) for line in lines)


def _first_heading(body: str) -> str | None:
    """A numbered heading ("3.2 TIC-101 high temperature", "第三章 报警处理") near the top of a page."""
    for line in body.splitlines()[:6]:
        if _HEADING_LINE.match(line.strip()):
            return line.strip()
    return None


# ------------------------------------------------------------------------------------------ Markdown, HTML, text


def _markdown_lines(content: str, kind: str) -> Iterator[tuple[str | None, str]]:
    """(heading or None, line): Markdown `#` headings start sections; plain text has none."""
    for line in content.splitlines():
        match = re.match(r"^#{1,6}\s+(.*\S)\s*$", line) if kind == "markdown" else None
        yield (match.group(1), "") if match else (None, line)


class _HtmlText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.items: list[tuple[str | None, str]] = []
        self._skip = 0
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._heading = []

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.items.append((" ".join("".join(self._heading).split()), ""))
            self._heading = None
        elif tag in ("p", "li", "tr", "div", "br", "table"):
            self.items.append((None, ""))

    def handle_data(self, data):
        if self._skip:
            return
        if self._heading is not None:
            self._heading.append(data)
        elif data.strip():
            self.items.append((None, " ".join(data.split())))


def _html_lines(content: str) -> list[tuple[str | None, str]]:
    parser = _HtmlText()
    parser.feed(content)
    parser.close()
    return parser.items


def _sections(kind: str, lines: Iterable[tuple[str | None, str]]) -> Extracted:
    """Passages from (heading, line) pairs: a heading starts a new section, long sections are cut into chunks."""
    passages: list[Passage] = []
    heading, chunk = None, []

    def flush():
        body = "\n".join(chunk).strip()
        if body:
            passages.append(Passage(body=body, heading=heading))
        chunk.clear()

    for new_heading, line in lines:
        if new_heading is not None:
            flush()
            heading = new_heading
        else:
            chunk.append(line)
            if sum(len(c) for c in chunk) > CHUNK_CHARS:
                flush()
    flush()
    return Extracted(kind, len(passages), passages)


# -------------------------------------------------------------------------------------------------------- tables


def _row_passage(header: list[str], cells: list, where: str) -> Passage | None:
    values = {
        h: ("" if v is None else str(v)).strip() for h, v in zip(header, cells, strict=False) if h
    }  # short rows: empty cells
    if not any(values.values()):
        return None
    body = "; ".join(f"{column}: {value}" for column, value in values.items() if value)
    return Passage(body=body, heading=where, fields=values)


def _csv(content: str, path: Path) -> Extracted:
    rows = list(csv.reader(io.StringIO(content)))
    if not rows or not any(c.strip() for c in rows[0]):
        raise DocumentError(f"{path}: empty table: expected a header row with the column names")
    header = [h.strip() for h in rows[0]]
    passages = [p for number, cells in enumerate(rows[1:], start=2)
                if (p := _row_passage(header, cells, f"row {number}"))]  # fmt: skip
    return Extracted("table", len(passages), passages)


def _xlsx(data: bytes) -> Extracted:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        raise DocumentError(f"not a readable XLSX workbook ({e})") from None
    passages = []
    for sheet in workbook.worksheets:
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            continue
        names = ["" if h is None else str(h).strip() for h in header]
        for number, cells in enumerate(rows, start=2):
            if passage := _row_passage(names, list(cells), f"{sheet.title} row {number}"):
                passages.append(passage)
    workbook.close()
    return Extracted("table", len(passages), passages)


# ------------------------------------------------------------------------------------------------ page pictures

MAX_RENDER_SCALE = 3.0


def render_page_png(path: str | Path, page: int, scale: float = 1.5) -> bytes:
    """The picture of one page (1 = first) of an indexed PDF, as PNG, for showing a cited page.
    Raises DocumentError when the file is gone, unreadable or has no such page."""
    import pypdfium2

    if not 0 < scale <= MAX_RENDER_SCALE:
        raise DocumentError(f"scale {scale!r} is not in (0, {MAX_RENDER_SCALE}]")
    try:
        pdf = pypdfium2.PdfDocument(str(path))
    except (pypdfium2.PdfiumError, OSError) as e:
        raise DocumentError(f"{path}: cannot open it any more ({e})") from None
    try:
        if not 1 <= page <= len(pdf):
            raise DocumentError(f"{Path(path).name} has no page {page} (it has {len(pdf)})")
        buffer = io.BytesIO()
        pdf[page - 1].render(scale=scale).to_pil().save(buffer, format="PNG")
        return buffer.getvalue()
    finally:
        pdf.close()
