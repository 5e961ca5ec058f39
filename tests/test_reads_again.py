"""A read whose PostgreSQL connection is terminated under it runs once more on a new one
(`db.engine.read_again_if_disconnected`, used for key lookups and source profiles): a dropped
connection costs the request nothing. The fault is real: `pg_terminate_backend` on the read's
own backend, from another connection, between two statements of the read."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from catalog_gateway.db.engine import Database, read_again_if_disconnected
from tests.conftest import _libpq_url


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url, pool_size=1)
    yield database
    database.dispose()


def _reads_terminated_once(
    database: Database, postgres_url: str
) -> tuple[list[int], Callable[[], int]]:
    """A read that terminates its own backend the first time it runs; the pids it ran on, and
    the read to call."""
    pids: list[int] = []

    def read() -> int:
        with database.read() as session:
            pid = int(session.scalar(text("SELECT pg_backend_pid()")) or 0)
            pids.append(pid)
            if len(pids) == 1:
                with psycopg.connect(_libpq_url(postgres_url), autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            return int(session.scalar(text("SELECT 41 + 1")) or 0)

    return pids, read


def test_a_read_whose_connection_is_terminated_runs_again_on_a_new_one(
    postgres: Database, postgres_url: str
) -> None:
    pids, read = _reads_terminated_once(postgres, postgres_url)

    assert read_again_if_disconnected(read) == 42

    assert len(pids) == 2
    assert pids[0] != pids[1]


def test_without_it_the_terminated_read_fails(postgres: Database, postgres_url: str) -> None:
    _pids, read = _reads_terminated_once(postgres, postgres_url)

    with pytest.raises(OperationalError) as raised:
        read()

    assert raised.value.connection_invalidated is True


def test_an_error_that_is_not_a_lost_connection_is_not_run_again(postgres: Database) -> None:
    runs = []

    def read() -> None:
        runs.append(1)
        with postgres.read() as session:
            session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(ProgrammingError):
        read_again_if_disconnected(read)

    assert runs == [1]
