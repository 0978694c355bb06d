"""Documents into the manual index (every supported format, scanned pages by OCR, skip/replace/refuse) and the
manual tools the agent calls: search_manuals, lookup_equipment, and the procedure alarm_definition returns."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from storage.db import open_database
from storage.definitions import import_definitions
from storage.demo import demo_definitions
from storage.demo_manuals import MANUAL_EN, MANUAL_ZH, REGISTER, cjk_font, write_demo_manuals
from storage.documents import list_documents, search
from tools.alarms import AlarmTools
from tools.manual_files import add_files, collect_files
from tools.manuals import ManualTools


@pytest.fixture
def db(sqlite_url):
    database = open_database(sqlite_url)
    yield database
    database.close()


@pytest.fixture(scope="module")
def demo_manuals(tmp_path_factory):
    return write_demo_manuals(tmp_path_factory.mktemp("manuals"), demo_definitions())


@pytest.fixture
def demo_db(db, demo_manuals):
    assert not add_files(db, demo_manuals).errors
    return db


def add(db, *paths):
    files, errors = collect_files(list(paths))
    report = add_files(db, files)
    report.errors = errors + report.errors
    return report


def test_demo_pdfs_have_a_text_layer_with_one_section_per_page(demo_db):
    docs = {d.name: d for d in list_documents(demo_db)}
    assert docs[MANUAL_EN].pages == docs[MANUAL_ZH].pages == 17
    assert docs[REGISTER].kind == "table" and docs[REGISTER].passages == 12
    hit = search(demo_db, "pump trip standby")[0]
    assert (hit.document, hit.page, hit.heading) == (MANUAL_EN, 13, "4.9 Pump trip alarms")
    hit = search(demo_db, "可燃气体 泄漏")[0]
    assert (hit.document, hit.page) == (MANUAL_ZH, 12)


def test_markdown_html_text_and_csv_become_passages_with_headings(db, tmp_path):
    (tmp_path / "sop.md").write_text("# Start-up\nOpen the feed valve slowly.\n## Shutdown\nClose the steam valve.\n")
    (tmp_path / "faq.html").write_text(
        "<html><script>var x = 'valve';</script><h2>Flare</h2><p>Check the pilot flame.</p></html>"
    )
    (tmp_path / "notes.txt").write_text("Lube oil is changed every 4000 hours.\n")
    (tmp_path / "list.csv").write_text("Model,Status\nY160M-4,obsolete\nYE3-160M-4,in service\n")
    report = add(db, tmp_path)
    assert report.errors == [] and len(report.added) == 4
    assert [(h.document, h.heading) for h in search(db, "steam valve")][0] == ("sop.md", "Shutdown")
    assert [(h.document, h.heading) for h in search(db, "pilot flame")] == [("faq.html", "Flare")]
    assert search(db, "var") == []  # script text is not content
    assert [h.document for h in search(db, "lube oil hours")] == ["notes.txt"]
    row = search(db, "obsolete", tag="Y160M-4")[0]
    assert (row.heading, row.fields) == ("row 2", {"Model": "Y160M-4", "Status": "obsolete"})


def test_xlsx_rows_are_passages_with_their_sheet_and_column_names(db, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Obsolete"
    sheet.append(["Model", "Replace by"])
    sheet.append(["JO2-42-4", "YE4-132S-4"])
    workbook.save(tmp_path / "obsolete.xlsx")
    assert add(db, tmp_path / "obsolete.xlsx").errors == []
    row = search(db, "JO2-42-4")[0]
    assert (row.heading, row.fields) == ("Obsolete row 2", {"Model": "JO2-42-4", "Replace by": "YE4-132S-4"})


def test_unchanged_file_is_skipped_and_changed_file_replaced(db, tmp_path):
    note = tmp_path / "note.md"
    note.write_text("# Valves\nThe old valve text.\n")
    assert len(add(db, note).added) == 1
    assert len(add(db, note).unchanged) == 1
    note.write_text("# Valves\nThe new gasket text.\n")
    assert len(add(db, note).replaced) == 1
    assert search(db, "old") == []
    assert [h.body for h in search(db, "gasket")] == ["The new gasket text."]


def test_bad_files_get_one_line_errors_and_nothing_half_indexed(db, tmp_path):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "latin1.txt").write_bytes("Ventil geöffnet".encode("latin-1"))
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "good.md").write_text("# Good\nA good passage.\n")
    (tmp_path / "slides.pptx").write_bytes(b"x")
    report = add(
        db,
        tmp_path / "broken.pdf",
        tmp_path / "latin1.txt",
        tmp_path / "empty.csv",
        tmp_path / "good.md",
        tmp_path / "slides.pptx",
        tmp_path / "missing.pdf",
    )
    assert [d.name for d in list_documents(db)] == ["good.md"]
    assert len(report.errors) == 5 and all("\n" not in e for e in report.errors)
    joined = "\n".join(report.errors)
    for expected in (
        "broken.pdf: not a readable PDF",
        "latin1.txt: not UTF-8 text",
        "empty.csv: empty table",
        "'.pptx' is not a supported type",
        "missing.pdf: no such file or folder",
    ):
        assert expected in joined


@pytest.mark.slow  # the OCR models load and read a page: about 6 s on 2 busy cores
def test_scanned_pdf_page_is_read_by_ocr(db, tmp_path):
    from fpdf import FPDF

    picture = Image.new("RGB", (1200, 300), "white")
    ImageDraw.Draw(picture).text(
        (40, 100), "FV-101 bypass valve procedure", fill="black", font=ImageFont.truetype(str(cjk_font()), 64)
    )
    picture.save(tmp_path / "scan.png")
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.image(str(tmp_path / "scan.png"), x=10, y=10, w=190)
    pdf.output(str(tmp_path / "scanned.pdf"))
    assert add(db, tmp_path / "scanned.pdf").errors == []
    hit = search(db, "bypass valve", tag="FV-101")[0]
    assert (hit.document, hit.page) == ("scanned.pdf", 1)


def test_search_manuals_quotes_and_cites_document_and_page(demo_db):
    result = ManualTools(demo_db).search_manuals("what to do when a pump trips", limit=1)
    assert f"[{MANUAL_EN} p. 13 (4.9 Pump trip alarms)]" in result.output and "standby pump" in result.output
    assert [(c.document, c.page) for c in result.citations] == [(MANUAL_EN, 13)]


def test_search_manuals_with_an_unknown_tag_says_nothing_matches(demo_db):
    result = ManualTools(demo_db).search_manuals("procedure", tag="XYZ-999")
    assert result.error is None and "no passage in the indexed manuals mentioning XYZ-999" in result.output


def test_lookup_equipment_quotes_the_obsolete_row_or_says_none_matches(demo_db):
    tools = ManualTools(demo_db)
    found = tools.lookup_equipment("Y160M-4")
    assert "Model: Y160M-4" in found.output and "obsolete: high-energy model" in found.output
    assert found.data.rows[0].fields["Status"].startswith("obsolete")
    nothing = tools.lookup_equipment("Y160M-5")
    assert "no row in the indexed equipment lists matches model 'Y160M-5'" in nothing.output
    assert nothing.citations == ()


def test_alarm_definition_returns_the_procedure_page_it_names(demo_db):
    from storage.definitions import upsert_definitions

    upsert_definitions(demo_db, demo_definitions(7))
    result = AlarmTools(demo_db).alarm_definition("TIC-101.HH")
    assert f"procedure: [{MANUAL_EN} p. 5 (4.1 High temperature alarms)]" in result.output
    assert "reduce the feed by 20 %" in result.output
    assert [(c.document, c.page) for c in result.citations] == [(MANUAL_EN, 5)]


def test_procedure_named_but_not_indexed_is_said_so(db, tmp_path):
    (tmp_path / "defs.csv").write_text(
        "tag,condition,description,procedure_document,procedure_page\nTIC-101,HH,Reactor hot,om-100.pdf,5\n"
    )
    import_definitions(db, tmp_path / "defs.csv")
    result = AlarmTools(db).alarm_definition("TIC-101.HH")
    assert "procedure: om-100.pdf p. 5 (not in the indexed manuals)" in result.output


def test_bad_procedure_page_is_a_row_error(db, tmp_path):
    from storage.rows import ImportRejected

    (tmp_path / "defs.csv").write_text("tag,condition,description,procedure_page\nTIC-101,HH,Reactor hot,five\n")
    with pytest.raises(ImportRejected, match="procedure_page 'five' is not a page number"):
        import_definitions(db, tmp_path / "defs.csv")


def test_manual_tools_are_offered_to_the_model_with_documented_arguments(db):
    schemas = {t.name: t.schema()["function"] for t in AlarmTools(db).tools()}
    for name, arguments in (("search_manuals", {"query", "tag", "limit"}), ("lookup_equipment", {"model", "serial"})):
        properties = schemas[name]["parameters"]["properties"]
        assert set(properties) == arguments
        assert all(p.get("description") for p in properties.values()), name
