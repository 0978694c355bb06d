"""The plant's manuals over HTTP (under /api/docs): the indexed documents, search (the same result as the agent's
search_manuals tool and `hmi-agent docs search --json`), and the picture of a cited PDF page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

router = APIRouter(prefix="/api/docs", tags=["manuals"])


def manual_db(state: Any):
    """The database the manuals are indexed in: the alarm tools' own, else the configured one (opened once)."""
    db = getattr(state, "manual_db", None) or getattr(getattr(state, "alarm_tools", None), "db", None)
    if db is None:
        from storage.db import open_database

        db = open_database(state.settings.db_url)
    state.manual_db = db
    return db


@router.get("")
def list_documents(request: Request) -> list[dict]:
    """The indexed documents: name, kind, pages (rows for tables), passages, path, when added."""
    from storage.documents import list_documents as listed

    return [d.__dict__ for d in listed(manual_db(request.app.state))]


@router.get("/search")
def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=300, description="What to look for, English or Chinese.")],
    tag: Annotated[str | None, Query(max_length=100, description="Only passages naming this tag or model.")] = None,
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
) -> dict:
    """The best passages with document, page and heading (a table row's cells in `fields`)."""
    from tools.manuals import ManualTools

    result = ManualTools(manual_db(request.app.state)).search_manuals(q, tag, limit)
    return result.data.model_dump(mode="json")


@router.get(
    "/{document}/pages/{page}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "no such document or page"}},
)
def page_picture(
    request: Request,
    document: str,
    page: int,
    scale: Annotated[float, Query(gt=0, le=3, description="1 = 72 dpi.")] = 1.5,
) -> Response:
    """The rendered picture of one page of an indexed PDF, e.g. the page an answer cites."""
    from storage.documents import document_by_name
    from tools.manual_files import DocumentError, render_page_png

    found = document_by_name(manual_db(request.app.state), document)
    if found is None:
        raise HTTPException(404, f"document {document!r} is not indexed")
    if found.kind != "pdf":
        raise HTTPException(404, f"document {document!r} is a {found.kind} file: only PDF pages have pictures")
    try:
        return Response(render_page_png(found.path, page, scale), media_type="image/png")
    except DocumentError as e:
        raise HTTPException(404, str(e)) from None
