"""The service the hostile-input and batch properties post to: the app on the test database
with source `exec-ed` (canonical transformer, `MIT` mapped to MITx, limits far above what a
property sends), emptied of events and catalog rows between examples."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy import text

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings
from tests.conftest import DATA_TABLES
from tests.factories import make_organization, make_source, url_of

SOURCE = "exec-ed"
EVENTS = "/api/v1/events"
BATCH = "/api/v1/events/batch"
# What an example may leave behind is emptied; the source, its key and organization stay.
KEPT_TABLES = frozenset({"sources", "api_keys", "organizations", "source_organization_codes"})
EXAMPLE_TABLES = [table for table in DATA_TABLES if table not in KEPT_TABLES]


@contextmanager
def exec_ed_client(database: Database) -> Iterator[tuple[TestClient, str]]:
    """A client of the service on `database`, and the API key of source `exec-ed`."""
    with database.unit_of_work() as session:
        make_organization(session, "MITx")
        _, issued = make_source(
            session, SOURCE, rate="100000/second", burst=100_000, codes={"MIT": "MITx"}
        )
    settings = Settings(
        database_url=url_of(database),
        redis_url=None,
        read_rate="100000/second",
        read_burst=100_000,
    )
    with TestClient(create_app(settings, database), raise_server_exceptions=False) as client:
        yield client, issued.api_key


def reset_examples(database: Database) -> None:
    """Remove every event and catalog row; keep the source, its key and organizations."""
    with database.writer.begin() as connection:
        for table in EXAMPLE_TABLES:
            connection.execute(text(f'DELETE FROM "{table}"'))


def property_settings(max_examples: int, *extra: HealthCheck) -> settings:
    """Deterministic hypothesis settings for properties over the service: derandomized, no
    example database (CI runs the same examples), no deadline, function-scoped fixtures
    allowed (each example resets the database itself)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            *extra,
        ],
    )
