"""The manuals over HTTP and in answers: /api/docs search returns what the CLI and the tool return, cited pages
render as pictures, and an answer that used search_manuals cites document and page in its evidence."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image

from agent.scripted import tool_call_text
from storage.db import open_database
from storage.demo import demo_definitions
from storage.demo_manuals import MANUAL_EN, write_demo_manuals
from tests.hmi_picture import render_hmi
from tests.service.conftest import png_bytes
from tools.manual_files import add_files

pytestmark = pytest.mark.anyio

PROCEDURE_REPLIES = [
    tool_call_text("search_manuals", {"query": "pump trip procedure", "limit": 2}),
    tool_call_text("final_answer", {"on_screen": "P-107 tripped.", "recommended_action": "Start the standby pump."}),
]


@pytest.fixture(scope="module")
def manual_files(tmp_path_factory):
    return write_demo_manuals(tmp_path_factory.mktemp("manuals"), demo_definitions())


@pytest.fixture
def indexed(alarm_db_url, manual_files):
    db = open_database(alarm_db_url)
    assert not add_files(db, manual_files).errors
    db.close()


def client_of(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)), base_url="http://hmi", timeout=30
    )


async def test_answer_cites_the_manual_page_it_used(make_service, indexed):
    app, _ = make_service(PROCEDURE_REPLIES)
    async with client_of(app) as client:
        response = await client.post(
            "/api/ask",
            data={"question": "The pump tripped, what is the procedure?"},
            files={"image": ("hmi.png", png_bytes(render_hmi()), "image/png")},
        )
    assert response.status_code == 200, response.text
    evidence = response.json()["answer"]["evidence"]
    cited = [(e["document"], e["page"], e["label"]) for e in evidence if e["kind"] == "citation"]
    assert cited[0] == (MANUAL_EN, 13, f"{MANUAL_EN} p. 13 (4.9 Pump trip alarms)")
    assert f"{MANUAL_EN} p. 13" in response.json()["answer"]["text"]


async def test_search_endpoint_returns_what_the_cli_prints(make_service, indexed, alarm_db_url, capsys):
    from agent.cli import main

    app, _ = make_service()
    async with client_of(app) as client:
        response = await client.get("/api/docs/search", params={"q": "可燃气体泄漏怎么办", "limit": 2})
    assert response.status_code == 200, response.text
    with pytest.raises(SystemExit) as exit_:
        main(["--db", alarm_db_url, "docs", "search", "可燃气体泄漏怎么办", "--limit", "2", "--json"])
    assert exit_.value.code == 0
    assert response.json() == json.loads(capsys.readouterr().out)
    assert response.json()["passages"][0]["page"] == 12


async def test_documents_are_listed(make_service, indexed):
    app, _ = make_service()
    async with client_of(app) as client:
        listed = (await client.get("/api/docs")).json()
    assert {d["name"]: d["pages"] for d in listed} == {
        MANUAL_EN: 17,
        "operating-manual-zh.pdf": 17,
        "equipment-register.csv": 12,
    }


async def test_cited_page_renders_as_a_png(make_service, indexed):
    app, _ = make_service()
    async with client_of(app) as client:
        response = await client.get(f"/api/docs/{MANUAL_EN}/pages/13.png", params={"scale": 1})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    width, height = Image.open(io.BytesIO(response.content)).size
    assert (round(width / 10), round(height / 10)) == (60, 84)  # A4 at 72 dpi: 595 x 842 points


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/api/docs/nope.pdf/pages/1.png", 404, "document 'nope.pdf' is not indexed"),
        (f"/api/docs/{MANUAL_EN}/pages/99.png", 404, "has no page 99 (it has 17)"),
        ("/api/docs/equipment-register.csv/pages/1.png", 404, "only PDF pages have pictures"),
        ("/api/docs/search?q=", 422, "at least 1 character"),
    ],
)
async def test_bad_requests_name_what_is_wrong(make_service, indexed, path, status, detail):
    app, _ = make_service()
    async with client_of(app) as client:
        response = await client.get(path)
    assert response.status_code == status and detail in response.text
