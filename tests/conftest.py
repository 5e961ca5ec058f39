"""Fixtures: a migrated database per backend (SQLite always; PostgreSQL when reachable, and
required when CI=true), emptied of products between tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import make_url

from catalog_gateway.catalog.reference import Subject
from catalog_gateway.db.engine import Database
from catalog_gateway.db.migrations import upgrade
from catalog_gateway.migrations.metadata import Base

POSTGRES_URL = os.environ.get(
    "CATALOG_GATEWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# An app frozen at startup would keep every later test's garbage from the collector: the
# tests start many apps in one process (observability/test_heap.py turns it on for itself).
os.environ.setdefault("CATALOG_GATEWAY_FREEZE_HEAP", "false")

REFERENCE_TABLES = {
    "seat_types",
    "run_types",
    "run_type_seat_types",
    "course_types",
    "course_type_run_types",
    "subjects",
    "levels",
    "program_types",
}
DATA_TABLES = [
    table.name
    for table in reversed(Base.metadata.sorted_tables)
    if table.name not in REFERENCE_TABLES
]

# Fixtures shared across folders: the browser tests' Chromium.
pytest_plugins = ["tests.browser"]


def _libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_reachable() -> bool:
    """True when the test PostgreSQL answers."""
    try:
        with psycopg.connect(_libpq_url(POSTGRES_URL), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server for tests; skipped when unreachable, except in CI."""
    if not postgres_reachable():
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}"
        if IN_CI:
            pytest.fail(message + " (required when CI=true)")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file database for the whole session."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'catalog.db'}"
    database = Database(url)
    upgrade(database)
    database.dispose()
    return url


@pytest.fixture(scope="session")
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A migrated PostgreSQL database of its own, dropped at the end of the session."""
    name = f"cg_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq_url(postgres_server_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    upgrade(database)
    database.dispose()
    yield url
    with psycopg.connect(_libpq_url(postgres_server_url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that needs a database runs once per backend."""
    url: str = request.getfixturevalue(
        {"sqlite": "sqlite_url", "postgresql": "postgres_url"}[request.param]
    )
    return url


@pytest.fixture(scope="session")
def session_database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def database(session_database: Database) -> Iterator[Database]:
    """The backend's database, holding only reference data when the test starts."""
    _empty(session_database)
    yield session_database
    _empty(session_database)


# Restart the sequences of the data tables' ids (serial or identity columns), on PostgreSQL.
_RESTART_DATA_SEQUENCES = text(
    "SELECT setval(sequence.oid, 1, false) FROM pg_class AS sequence"
    " JOIN pg_depend AS owned ON owned.objid = sequence.oid AND owned.deptype IN ('a', 'i')"
    " JOIN pg_class AS owner ON owner.oid = owned.refobjid"
    " WHERE sequence.relkind = 'S' AND owner.relname = ANY(:tables)"
)


def _empty(database: Database) -> None:
    """Delete every data row (children first) and, on PostgreSQL, restart the ids' sequences
    (SQLite starts again from 1 once a table is empty). A DELETE of a test's few rows takes
    milliseconds, where a TRUNCATE of every table took about 0.1 s (it makes new files for each
    table), twice per PostgreSQL test."""
    with database.writer.begin() as connection:
        for table in DATA_TABLES:
            connection.execute(text(f'DELETE FROM "{table}"'))
        if not database.is_sqlite:
            connection.execute(_RESTART_DATA_SEQUENCES, {"tables": DATA_TABLES})


@contextmanager
def subjects_put_back(database: Database) -> Iterator[dict[str, str]]:
    """The subjects now (slug → name), put back as they were when the block ends: they are
    reference data, which the `database` fixture does not empty. The data rows are emptied
    first, since a course may refer to a subject the block created."""
    with database.read() as session:
        before = dict(session.execute(select(Subject.slug, Subject.name)).all())
    yield before
    _empty(database)
    with database.writer.begin() as connection:
        connection.execute(delete(Subject).where(Subject.slug.not_in(list(before))))
        for slug, name in before.items():
            connection.execute(update(Subject).where(Subject.slug == slug).values(name=name))
