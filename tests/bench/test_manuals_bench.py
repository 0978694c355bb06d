"""bench/manuals.py runs end to end on small sizes and its labelled questions are well-formed (each names a page
of the demo manual that exists). No timing is asserted: figures belong in bench/RESULTS.md."""

from __future__ import annotations

import pytest
import yaml

from storage.demo_manuals import MANUAL_EN, MANUAL_ZH, page_count
from tests.bench.test_bench_smoke import BENCH, load


def test_labelled_questions_are_at_least_60_in_both_languages_on_real_pages():
    questions = yaml.safe_load((BENCH / "manual_questions.yaml").read_text(encoding="utf-8"))["questions"]
    assert len(questions) >= 60
    assert {q["document"] for q in questions} == {MANUAL_EN, MANUAL_ZH}
    assert all(1 <= q["page"] <= page_count() for q in questions)
    assert len({q["q"] for q in questions}) == len(questions)


@pytest.mark.slow  # writes the demo manuals and indexes a few hundred pages: ~10 s on 2 busy cores
def test_bench_runs_on_small_sizes_and_prints_every_figure(capsys):
    figures = load("manuals").main(["--pages", "100", "--pdf-pages", "5"])
    out = capsys.readouterr().out
    assert figures["questions"] >= 60 and figures["index_pdf_pages_per_s"] > 0
    for name in figures:
        assert name in out
    assert figures["top3_right_page_pct"] >= 90  # the demo set's answer pages are found (search quality, not speed)
