"""The document index on SQLite (FTS5) and PostgreSQL (tsvector): BM25-ranked search in English and Chinese, tags
and model numbers as whole tokens, whole-document replacement and removal."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from storage import documents
from storage.doc_tokens import tokenize
from storage.documents import Passage

PAGES = [
    Passage(
        "4.1 High temperature alarms\nApplies to TIC-101 and TIC-201. Check the cooling water pump and valve.",
        page=5,
        heading="4.1 High temperature alarms",
    ),
    Passage(
        "4.9 Pump trip alarms\nStart the standby pump, then check the motor protection relay.",
        page=13,
        heading="4.9 Pump trip alarms",
    ),
    Passage("4.1 温度高报警\n适用位号 TIC-101。确认冷却水泵运行且阀门打开。", page=5, heading="4.1 温度高报警"),
    Passage("TIC-1011 is a spare loop on the pilot skid.", page=20, heading="Spare loops"),
]


def index(db, path="/plant/manual.pdf", items=PAGES, sha="a" * 64):
    documents.replace_document(
        db, path=path, name=path.rsplit("/", 1)[-1], kind="pdf", sha256=sha, pages=20, items=items
    )


def pages_found(db, query, **kwargs) -> list[int | None]:
    return [hit.page for hit in documents.search(db, query, **kwargs)]


def test_english_question_finds_the_procedure_page_with_other_word_forms(db):
    index(db)
    assert pages_found(db, "what to do when a pump tripped")[0] == 13


def test_two_character_chinese_word_finds_its_page(db):
    index(db)
    hits = documents.search(db, "报警")
    assert [h.heading for h in hits] == ["4.1 温度高报警"]


def test_tag_matches_as_a_whole_token_in_any_spelling(db):
    index(db)
    for spelling in ("TIC-101", "tic101", "TIC_101"):
        assert set(pages_found(db, spelling)) == {5}, spelling
    assert pages_found(db, "TIC-1011") == [20]


def test_tag_filter_keeps_only_passages_naming_it(db):
    index(db)
    assert pages_found(db, "cooling water", tag="TIC-201") == [5]
    assert pages_found(db, "cooling water", tag="TIC-999") == []


def test_hit_keeps_document_page_and_heading(db):
    index(db)
    hit = documents.search(db, "motor protection relay")[0]
    assert (hit.document, hit.path, hit.page, hit.heading) == (
        "manual.pdf",
        "/plant/manual.pdf",
        13,
        "4.9 Pump trip alarms",
    )


def test_replacing_a_document_drops_its_old_passages(db):
    index(db)
    index(db, items=[Passage("Only the new compressor page.", page=1)], sha="b" * 64)
    assert pages_found(db, "pump") == []
    assert pages_found(db, "compressor") == [1]
    assert documents.stored_digest(db, "/plant/manual.pdf") == "b" * 64
    assert [d.passages for d in documents.list_documents(db)] == [1]


def test_remove_by_name_deletes_document_and_passages(db):
    index(db)
    index(db, path="/plant/other.pdf")
    assert documents.remove_documents(db, "manual.pdf") == ["/plant/manual.pdf"]
    assert {h.document for h in documents.search(db, "pump")} == {"other.pdf"}
    assert documents.remove_documents(db, "manual.pdf") == []


def test_table_rows_keep_their_cells_and_can_be_searched_by_kind(db):
    row = Passage(
        "Model: Y160M-4; Status: obsolete", heading="row 3", fields={"Model": "Y160M-4", "Status": "obsolete"}
    )
    documents.replace_document(
        db, path="/plant/register.csv", name="register.csv", kind="table", sha256="c" * 64, pages=1, items=[row]
    )
    index(db)
    hits = documents.search(db, "Y160M-4", tag="Y160M-4", kind="table")
    assert [(h.document, h.fields) for h in hits] == [("register.csv", {"Model": "Y160M-4", "Status": "obsolete"})]


def test_passage_at_finds_a_procedure_by_page_or_heading(db):
    index(db)
    assert documents.passage_at(db, "manual.pdf", page=13).heading == "4.9 Pump trip alarms"
    assert documents.passage_at(db, "manual.pdf", heading="pump trip").page == 13
    assert documents.passage_at(db, "manual.pdf", page=99) is None
    assert documents.passage_at(db, "missing.pdf", page=1) is None


def test_query_of_only_stopwords_finds_nothing(db):
    index(db)
    assert documents.search(db, "what is the") == []


def test_unknown_kind_is_refused(db):
    with pytest.raises(ValueError, match="'docx' is not one of"):
        documents.replace_document(db, path="/x.docx", name="x.docx", kind="docx", sha256="d" * 64, pages=1, items=[])


def test_migration_creates_the_full_text_index_of_the_dialect(db):
    names = set(inspect(db.engine).get_table_names())
    assert {"documents", "document_passages"} <= names
    if db.dialect == "sqlite":
        assert "document_passages_fts" in names
    else:
        assert "ix_document_passages_search" in {i["name"] for i in inspect(db.engine).get_indexes("document_passages")}


def test_tokens_stem_english_segment_chinese_and_join_tags():
    assert tokenize("Pumps tripped at TIC-101.HH") == ["pump", "trip", "tic101hh", "tic101", "hh"]
    assert {"报警", "处理"} <= set(tokenize("报警怎么处理"))
    assert tokenize("high-high 2024-05-01") == ["high", "high", "2024", "05", "01"]
