"""The plant's manuals, procedures and equipment lists as searchable passages, in the alarm database.

A document is one file (a PDF, Markdown/HTML/text, or a CSV/XLSX table); its passages keep their page, heading and,
for table rows, the cells by column name. Search is full-text with BM25 ranking: SQLite FTS5 by default, PostgreSQL
full-text (ts_rank over a GIN-indexed tsvector) when the database is PostgreSQL. Both index the tokens of
`storage.doc_tokens` (stemmed English, jieba-segmented Chinese, tags as whole tokens), so both find the same passages.
Documents are replaced whole, in one transaction: a search never sees half a document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
)

from storage.db import Database
from storage.doc_tokens import is_tag_like, tag_token, tokenize
from storage.models import UTCDateTime
from storage.timeutil import now_utc

KINDS = ("pdf", "markdown", "html", "text", "table")

_metadata = MetaData()
documents = Table(
    "documents",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("path", String(1000), nullable=False, unique=True),
    Column("name", String(300), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("pages", Integer, nullable=False),
    Column("added_at", UTCDateTime(), nullable=False),
)
passages = Table(
    "document_passages",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("page", Integer),
    Column("heading", Text),
    Column("body", Text, nullable=False),
    Column("fields", Text),  # a table row's cells as JSON {column: value}
    Column("tokens", Text, nullable=False),
)


@dataclass(frozen=True)
class Passage:
    """A piece of a document as extracted: a PDF page, a Markdown section, a table row."""

    body: str
    page: int | None = None
    heading: str | None = None
    fields: dict[str, str] | None = None


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    path: str
    name: str
    kind: str
    sha256: str
    pages: int
    passages: int
    added_at: datetime


@dataclass(frozen=True)
class Hit:
    """A passage found, with where it is: document name and path, page, heading; `score` higher is better."""

    document: str
    path: str
    kind: str
    page: int | None
    heading: str | None
    body: str
    fields: dict[str, str] | None = None
    score: float = 0.0
    document_id: int = 0
    matched: list[str] = field(default_factory=list)


def stored_digest(db: Database, path: str) -> str | None:
    """The sha256 the document at `path` was indexed with, None when it is not indexed."""
    with db.engine.connect() as conn:
        return conn.execute(select(documents.c.sha256).where(documents.c.path == path)).scalar()


def replace_document(
    db: Database, *, path: str, name: str, kind: str, sha256: str, pages: int, items: list[Passage]
) -> None:
    """Indexes a document, replacing an earlier version at the same path, all in one transaction."""
    if kind not in KINDS:
        raise ValueError(f"document kind {kind!r} is not one of {KINDS}")
    rows = [
        {
            "seq": seq, "page": p.page, "heading": p.heading, "body": p.body,
            "fields": json.dumps(p.fields, ensure_ascii=False) if p.fields is not None else None,
            "tokens": " ".join(tokenize(f"{p.heading or ''}\n{p.body}")),
        }
        for seq, p in enumerate(items)
    ]  # fmt: skip
    with db.engine.begin() as conn:
        _delete_where(conn, documents.c.path == path)
        document_id = conn.execute(
            insert(documents).values(path=path, name=name, kind=kind, sha256=sha256, pages=pages, added_at=now_utc())
        ).inserted_primary_key[0]
        if rows:
            conn.execute(insert(passages), [{**row, "document_id": document_id} for row in rows])


def _delete_where(conn, condition) -> list[str]:
    """Deletes the documents matching `condition` and their passages (explicitly: SQLite's FTS triggers must see
    each passage go). Returns the deleted documents' paths."""
    found = conn.execute(select(documents.c.id, documents.c.path).where(condition)).all()
    ids = [row.id for row in found]
    if ids:
        conn.execute(delete(passages).where(passages.c.document_id.in_(ids)))
        conn.execute(delete(documents).where(documents.c.id.in_(ids)))
    return [row.path for row in found]


def remove_documents(db: Database, name_or_path: str) -> list[str]:
    """Removes the documents with this path or file name; returns the removed paths (empty when none matched)."""
    with db.engine.begin() as conn:
        return _delete_where(conn, (documents.c.path == name_or_path) | (documents.c.name == name_or_path))


def list_documents(db: Database) -> list[DocumentInfo]:
    counts = select(passages.c.document_id, func.count().label("n")).group_by(passages.c.document_id).subquery()
    statement = (
        select(documents, func.coalesce(counts.c.n, 0).label("passages"))
        .outerjoin(counts, counts.c.document_id == documents.c.id)
        .order_by(documents.c.name, documents.c.path)
    )
    with db.engine.connect() as conn:
        return [DocumentInfo(**row._mapping) for row in conn.execute(statement)]


def document_by_name(db: Database, name_or_path: str) -> DocumentInfo | None:
    """The indexed document with this path or file name (the first by path when names repeat)."""
    return next((d for d in list_documents(db) if name_or_path in (d.path, d.name)), None)


def search(db: Database, query: str, *, tag: str | None = None, kind: str | None = None, limit: int = 5) -> list[Hit]:
    """The best passages for `query` (any of its words, BM25-ranked), only those containing `tag` as a whole token
    when given, only from documents of `kind` when given. An empty list when nothing matches."""
    words = list(dict.fromkeys(tokenize(query)))
    required = tag_token(tag) if tag else None
    if tag and required is None:
        return []
    if not words and required is None:
        return []
    run = _search_postgres if db.dialect == "postgresql" else _search_sqlite
    named = [w for w in words if is_tag_like(w)]
    rows = []
    if named and required is None:  # a tag or model number in the question: passages naming it rank first
        rows = run(db, words, named, kind, limit)
    seen = {(row.document_id, row.seq) for row in rows}
    rows += [
        row
        for row in run(db, words, [required] if required else [], kind, limit)
        if (row.document_id, row.seq) not in seen
    ][: limit - len(rows)]
    return [_hit(row, words) for row in rows]


def _search_sqlite(db: Database, words: list[str], required: list[str], kind: str | None, limit: int):
    """`required`: passages must contain at least one of these tokens."""
    any_word = " OR ".join(f'"{w}"' for w in words)
    any_required = " OR ".join(f'"{w}"' for w in required)
    match = f"({any_required}) AND ({any_word})" if required and words else (any_word or any_required)
    kind_filter = "AND d.kind = :kind" if kind else ""
    statement = text(
        f"""SELECT d.id AS document_id, p.seq, d.name, d.path, d.kind, p.page, p.heading, p.body, p.fields, p.tokens,
                   -bm25(document_passages_fts) AS score
            FROM document_passages_fts JOIN document_passages p ON p.id = document_passages_fts.rowid
            JOIN documents d ON d.id = p.document_id
            WHERE document_passages_fts MATCH :match {kind_filter}
            ORDER BY bm25(document_passages_fts) LIMIT :limit"""
    )
    with db.engine.connect() as conn:
        return conn.execute(statement, {"match": match, "kind": kind, "limit": limit}).all()


def _search_postgres(db: Database, words: list[str], required: list[str], kind: str | None, limit: int):
    any_word = " | ".join(words)
    any_required = " | ".join(required)
    query = f"({any_required}) & ({any_word})" if required and words else (any_word or any_required)
    kind_filter = "AND d.kind = :kind" if kind else ""
    # normalization 1: rank / (1 + log(length)), so long pages don't win on length alone (as BM25's length norm)
    statement = text(
        f"""SELECT d.id AS document_id, p.seq, d.name, d.path, d.kind, p.page, p.heading, p.body, p.fields, p.tokens,
                   ts_rank(p.search, q, 1) AS score
            FROM document_passages p JOIN documents d ON d.id = p.document_id,
                 to_tsquery('simple', :query) AS q
            WHERE p.search @@ q {kind_filter}
            ORDER BY score DESC, p.id LIMIT :limit"""
    ).bindparams(bindparam("query"))
    with db.engine.connect() as conn:
        return conn.execute(statement, {"query": query, "kind": kind, "limit": limit}).all()


def _hit(row, words: list[str]) -> Hit:
    present = set(row.tokens.split())
    return Hit(
        document=row.name,
        path=row.path,
        kind=row.kind,
        page=row.page,
        heading=row.heading,
        body=row.body,
        fields=json.loads(row.fields) if row.fields else None,
        score=float(row.score),
        document_id=row.document_id,
        matched=[w for w in words if w in present],
    )


def passage_at(db: Database, document: str, *, page: int | None = None, heading: str | None = None) -> Hit | None:
    """The passage a procedure reference names: document (file name or path) and page, or heading (the first
    passage whose heading contains it, case-insensitively). None when the document or place is not indexed."""
    statement = (
        select(documents.c.id.label("document_id"), passages.c.seq, documents.c.name, documents.c.path, documents.c.kind,
               passages.c.page, passages.c.heading, passages.c.body, passages.c.fields, passages.c.tokens,
               literal(0.0).label("score"))
        .join(passages, passages.c.document_id == documents.c.id)
        .where((documents.c.name == document) | (documents.c.path == document))
        .order_by(passages.c.seq)
    )  # fmt: skip
    if page is not None:
        statement = statement.where(passages.c.page == page)
    if heading:
        statement = statement.where(func.lower(passages.c.heading).contains(heading.lower()))
    with db.engine.connect() as conn:
        row = conn.execute(statement.limit(1)).first()
    return _hit(row, []) if row else None
