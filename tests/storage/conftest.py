"""Storage tests run against a SQLite file and, when HMI_AGENT_TEST_POSTGRES_URL is set (deploy/test.sh starts a
server), against PostgreSQL too: each PostgreSQL test gets a schema of its own, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import open_database

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plant"


@contextmanager
def scratch_database(kind: str, tmp_path: Path, name: str) -> Iterator[str]:
    """URL of an empty database of `kind`: a SQLite file, or a fresh schema on the test PostgreSQL server, dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.sqlite'}"
        return
    base = os.environ.get("HMI_AGENT_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("HMI_AGENT_TEST_POSTGRES_URL is not set (deploy/test.sh starts a PostgreSQL server)")
    schema = f"{name}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    with scratch_database(request.param, tmp_path, "alarms") as url:
        yield url


@pytest.fixture
def db(db_url):
    database = open_database(db_url)
    yield database
    database.close()


@pytest.fixture
def examples() -> Path:
    return EXAMPLES
