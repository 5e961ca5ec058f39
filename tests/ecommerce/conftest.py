"""Fixtures: the reference ecommerce server as a real process (one per session), emptied of
faults and products before each test, and the gateway app talking to it (a new app, hence a new
circuit breaker, per test) with source `exec-ed` and organization MITx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings
from tests.ecommerce.server import Ecommerce, ServerProcess, start_server
from tests.ecommerce.support import Gateway
from tests.factories import make_organization, make_source, url_of

# Small on purpose: every failure test waits for the budget to run out.
BUDGET_SECONDS = 3.0
BREAKER_FAILURES = 3
BREAKER_RESET_SECONDS = 1.0

GatewayFactory = Callable[..., Gateway]


@pytest.fixture(scope="session")
def ecommerce_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """`catalog-gateway devserver ecommerce` on a free loopback port, for the whole session."""
    directory = tmp_path_factory.mktemp("ecommerce")
    server = start_server(directory / "products.json", directory / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ecommerce_url(ecommerce_server: ServerProcess) -> str:
    """The reference server's base URL."""
    return ecommerce_server.url


@pytest.fixture
def ecommerce(ecommerce_server: ServerProcess) -> Ecommerce:
    """Faults and stored products of the reference server."""
    return Ecommerce(ecommerce_server.url, ecommerce_server.data_path)


@pytest.fixture(autouse=True)
def _clean_ecommerce(ecommerce: Ecommerce) -> None:
    """Every test starts with no faults and no products on the reference server."""
    ecommerce.clear_faults()
    ecommerce.clear_products()


@pytest.fixture
def api_key(database: Database) -> str:
    """Source `exec-ed` (canonical transformer) and organization MITx; the source's key."""
    with database.unit_of_work() as session:
        make_organization(session, "MITx")
        _, issued = make_source(session, "exec-ed")
    return issued.api_key


def gateway_settings(database: Database, ecommerce_url: str, **changes: Any) -> Settings:
    """The settings of the gateway under test (small budget and timeouts)."""
    values: dict[str, Any] = {
        "database_url": url_of(database),
        "ecommerce_url": ecommerce_url,
        "ecommerce_budget_seconds": BUDGET_SECONDS,
        "ecommerce_read_timeout": 1,
        "ecommerce_connect_timeout": 1,
        "ecommerce_breaker_failures": BREAKER_FAILURES,
        "ecommerce_breaker_reset_seconds": BREAKER_RESET_SECONDS,
    }
    return Settings(**(values | changes))


@pytest.fixture
def make_gateway(database: Database, ecommerce_url: str, api_key: str) -> Iterator[GatewayFactory]:
    """Build the gateway app with some settings changed; each call is a new app."""
    with ExitStack() as stack:

        def make(**changes: Any) -> Gateway:
            app = create_app(gateway_settings(database, ecommerce_url, **changes), database)
            client = stack.enter_context(TestClient(app))
            return Gateway(client, api_key)

        yield make


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> Gateway:
    """The gateway app with the default test settings (breaker opens after 3 failures)."""
    return make_gateway()
