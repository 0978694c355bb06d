"""`hmi-agent docs add|list|remove|search`: the plant's manuals, procedures and equipment lists, searchable offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli import UserError, open_db, settings_of

if TYPE_CHECKING:
    from agent.settings import Settings
    from storage.db import Database
    from tools.manual_files import AddReport

docs_app = typer.Typer(
    name="docs", help="Manuals, procedures and equipment lists the agent searches and cites.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(docs_app, name="docs")


def _open(ctx: typer.Context) -> Database:
    return open_db(settings_of(ctx).db_url)


def index_files(db: Database, paths: list[Path], *, progress: bool = True) -> AddReport:
    """Indexes files and folders with a progress bar on stderr; unknown paths and types are report errors."""
    from tools.manual_files import add_files, collect_files

    files, errors = collect_files(paths)
    if progress and files:
        with typer.progressbar(length=len(files), label=f"indexing {len(files)} file(s)", file=sys.stderr) as bar:
            report = add_files(db, files, on_file=lambda _path: bar.update(1))
    else:
        report = add_files(db, files)
    report.errors = errors + report.errors
    return report


@docs_app.command("add")
def add(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files or folders: PDF, Markdown, HTML, text, CSV, XLSX.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Index documents: unchanged files are skipped, changed ones replaced; a bad file is one error line."""
    report = index_files(_open(ctx), paths, progress=not quiet)
    typer.echo(report.summary())
    for error in report.errors:
        typer.echo(f"hmi-agent: error: {error}", err=True)
    if report.errors:
        raise typer.Exit(1)


@docs_app.command("list")
def list_docs(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the documents as JSON.")] = False,
) -> None:
    """The indexed documents: name, kind, pages (rows for tables), passages, when added, path."""
    from storage.documents import list_documents

    found = list_documents(_open(ctx))
    if as_json:
        typer.echo(
            json.dumps(
                [{**d.__dict__, "added_at": d.added_at.isoformat()} for d in found], indent=2, ensure_ascii=False
            )
        )
        return
    if not found:
        typer.echo("no documents indexed; add some with `hmi-agent docs add FILE|FOLDER`")
    for d in found:
        typer.echo(
            f"{d.name}\t{d.kind}\t{d.pages} pages\t{d.passages} passages\t{d.added_at:%Y-%m-%d %H:%M}Z\t{d.path}"
        )


@docs_app.command("remove")
def remove(
    ctx: typer.Context,
    documents: Annotated[list[str], typer.Argument(help="File names or paths of indexed documents.")],
) -> None:
    """Remove documents (and all their passages) from the index."""
    from storage.documents import remove_documents

    db = _open(ctx)
    missing = [name for name in documents if not remove_documents(db, name)]
    removed = len(documents) - len(missing)
    typer.echo(f"removed {removed} document(s)")
    if missing:
        raise UserError(f"not indexed: {', '.join(map(repr, missing))} (see `hmi-agent docs list`)")


@docs_app.command("search")
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for, in English or Chinese.")],
    tag: Annotated[str | None, typer.Option(help="Only passages mentioning this tag or model number.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10, help="How many passages.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured result as JSON.")] = False,
) -> None:
    """Search the indexed documents, as the agent's search_manuals tool does: passages with document and page."""
    from tools.manuals import ManualTools
    from tools.registry import Tool

    # through the tool's own argument checks: the same errors the model would get, as one line
    result = Tool.from_function(ManualTools(_open(ctx)).search_manuals)({"query": query, "tag": tag, "limit": limit})
    if result.error:
        raise UserError(result.error)
    typer.echo(result.data.model_dump_json(indent=2) if as_json else result.output)


def write_demo_manuals(folder: Path, definitions: list[dict]) -> list[Path]:
    """The demo plant's manuals and equipment register written into `folder` (a UserError when that fails)."""
    from storage.demo_manuals import write_demo_manuals as write

    try:
        return write(folder, definitions)
    except OSError as e:  # also the missing CJK font (FileNotFoundError saying what to install)
        raise UserError(f"cannot write the demo manuals to {str(folder)!r}: {e.strerror or e}") from None


def demo_manuals_folder(settings: Settings) -> Path:
    """Where `alarms demo-data` writes the manuals it indexes: next to a SQLite database file (so a throwaway
    database keeps its manuals with it), else in the data folder."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.db_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).expanduser().resolve().parent / "manuals"
    return settings.data_dir / "manuals"


def load_demo_manuals(db: Database, settings: Settings, definitions: list[dict]) -> str:
    """Writes the demo manuals (see `demo_manuals_folder`) and indexes them; returns the index report's summary."""
    folder = demo_manuals_folder(settings)
    report = index_files(db, write_demo_manuals(folder, definitions), progress=False)
    if report.errors:  # our own files: failing to index them is our bug
        raise RuntimeError(f"the demo manuals did not index: {report.errors}")
    return f"manuals: {report.summary()} from {folder}"
