"""Plant-manual search: indexing rate, search latency, and the right page in the top 3 on labelled questions.

    .venv/bin/python bench/manuals.py [--pages 5000] [--pdf-pages 200] [--db URL]

1. Index rate: a generated PDF of --pdf-pages pages with a text layer (sentences of the demo manual, shuffled),
   extracted with pypdfium2 and indexed (tokens, FTS) by `tools.manual_files.add_files`: pages/s.
2. Accuracy: the demo manual set (EN + ZH operating manual, equipment register) indexed alone; each question of
   bench/manual_questions.yaml is asked through `search_manuals`; right = its page among the top 3. Misses listed.
3. Latency: --pages extra pages (shuffled manual sentences, tags renumbered) added to the same index; p50/p95 of
   `search_manuals` over the labelled questions, three rounds.
Targets: >= 50 PDF pages/s on 2 cores, p50 <= 30 ms over 5,000 pages, >= 90 % right page in top 3.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUESTIONS = Path(__file__).with_name("manual_questions.yaml")


def manual_sentences() -> list[str]:
    from storage.demo import demo_definitions
    from storage.demo_manuals import page_texts

    definitions = demo_definitions()
    text = " ".join(body for language in ("en", "zh") for _, body in page_texts(language, definitions))
    return [s.strip() for s in re.split(r"(?<=[.。])\s*", text) if len(s.strip()) > 10]


def synthetic_page(rng: random.Random, sentences: list[str], number: int) -> str:
    """A page of shuffled manual sentences whose tags are renumbered, so it looks like another unit's manual."""
    page = " ".join(rng.sample(sentences, 12))
    return re.sub(r"\b([A-Z]{1,3})-(\d)(\d\d)\b", lambda m: f"{m[1]}-{number % 9 + 1}{rng.randrange(100):02d}", page)


def write_pdf(path: Path, pages: list[str]) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_font("helvetica", size=10)
    for body in pages:
        pdf.add_page()
        pdf.multi_cell(0, 5, body.encode("latin-1", "replace").decode("latin-1"))
    pdf.output(str(path))


def index_rate(db, folder: Path, sentences: list[str], pages: int) -> float:
    from tools.manual_files import add_files

    rng = random.Random(7)
    english = [s for s in sentences if s.isascii()]
    pdf = folder / "index-rate.pdf"
    write_pdf(pdf, [synthetic_page(rng, english, n) for n in range(pages)])
    started = time.perf_counter()
    report = add_files(db, [pdf])
    seconds = time.perf_counter() - started
    assert not report.errors, report.errors
    return pages / seconds


def accuracy(tools, questions: list[dict]) -> tuple[float, list[str]]:
    misses = []
    for item in questions:
        result = tools.search_manuals(item["q"], limit=3).data
        found = [(p.document, p.page) for p in result.passages]
        if (item["document"], item["page"]) not in found:
            misses.append(
                f"{item['q']!r}: wanted {item['document']} p. {item['page']}, got "
                + ", ".join(f"{d} p. {p}" for d, p in found)
            )
    return 1 - len(misses) / len(questions), misses


def latencies(tools, questions: list[dict], rounds: int = 3) -> list[float]:
    times = []
    for _ in range(rounds):
        for item in questions:
            started = time.perf_counter()
            tools.search_manuals(item["q"], limit=3)
            times.append((time.perf_counter() - started) * 1000)
    return times


def add_synthetic_pages(db, sentences: list[str], pages: int, per_document: int = 500) -> None:
    from storage.documents import Passage, replace_document

    rng = random.Random(11)
    for start in range(0, pages, per_document):
        items = [
            Passage(body=synthetic_page(rng, sentences, n), page=n - start + 1)
            for n in range(start, min(start + per_document, pages))
        ]
        replace_document(
            db,
            path=f"/synthetic/unit-{start // per_document}.pdf",
            name=f"unit-{start // per_document}.pdf",
            kind="pdf",
            sha256=f"{start:064d}",
            pages=len(items),
            items=items,
        )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000, help="extra pages in the index for the latency figure")
    parser.add_argument("--pdf-pages", type=int, default=200, help="pages of the PDF whose indexing is timed")
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temporary folder)")
    args = parser.parse_args(argv)

    from storage.db import open_database
    from storage.demo import demo_definitions
    from storage.demo_manuals import write_demo_manuals
    from tools.manual_files import add_files
    from tools.manuals import ManualTools

    questions = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["questions"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = open_database(args.db or f"sqlite:///{folder / 'manuals.sqlite'}")
        sentences = manual_sentences()
        add_files(db, write_demo_manuals(folder / "demo", demo_definitions()))
        tools = ManualTools(db)
        right, misses = accuracy(tools, questions)
        rate = index_rate(db, folder, sentences, args.pdf_pages)
        add_synthetic_pages(db, sentences, args.pages)
        times = latencies(tools, questions)
        db.close()
    figures = {
        "index_pdf_pages_per_s": rate,
        "top3_right_page_pct": 100 * right,
        "questions": len(questions),
        f"search_p50_ms_{args.pages}_pages": statistics.median(times),
        f"search_p95_ms_{args.pages}_pages": statistics.quantiles(times, n=20)[18],
    }
    for name, value in figures.items():
        print(f"{name:32} {value:10.1f}")
    for miss in misses:
        print(f"miss: {miss}")
    return figures


if __name__ == "__main__":
    main()
