"""Fixtures for the event gateway over HTTP: the app on the test database, two sources with
their keys, an admin key, and (for concurrency) the app served by a real uvicorn server.

- `exec-ed`: canonical transformer, organization MITx known to it by its own code `MIT`.
- `bootcamps`: canonical transformer, sends HarvardX products.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import Result
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from catalog_gateway.api.app import create_app
from catalog_gateway.bootstrap import bootstrap
from catalog_gateway.cli import app as cli
from catalog_gateway.db.engine import Database
from catalog_gateway.gateway.service import EventGateway
from catalog_gateway.settings import Settings, get_settings
from tests.factories import (
    bearer,
    free_port,
    make_admin_key,
    make_organization,
    make_source,
    url_of,
)
from tests.gateway.payloads import COURSE_KEY

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Keys:
    """API keys on the test database."""

    exec_ed: str
    bootcamps: str
    admin: str


@dataclass
class Api:
    """A client of the service, with shortcuts for what the tests send and read."""

    client: TestClient
    database: Database
    keys: Keys

    def send(
        self, event: dict[str, Any], *, key: str | None = None, dry_run: bool = False
    ) -> httpx.Response:
        """POST one event (as `exec-ed` unless another key is given)."""
        return self.client.post(
            "/api/v1/events",
            json=event,
            params={"dry_run": "true"} if dry_run else None,
            headers=bearer(key or self.keys.exec_ed),
        )

    def batch(
        self,
        events: list[dict[str, Any]],
        error_policy: str = "independent",
        *,
        key: str | None = None,
    ) -> httpx.Response:
        """POST a batch of events."""
        return self.client.post(
            "/api/v1/events/batch",
            json={"events": events, "error_policy": error_policy},
            headers=bearer(key or self.keys.exec_ed),
        )

    def get(self, path: str, *, key: str | None = None, **params: Any) -> httpx.Response:
        """GET under /api/v1 (as `exec-ed` unless another key is given)."""
        return self.client.get(
            f"/api/v1{path}", params=params or None, headers=bearer(key or self.keys.exec_ed)
        )

    def course(self, key: str = COURSE_KEY) -> dict[str, Any] | None:
        """The course as GET /courses/{key} shows it, or None when it does not exist."""
        response = self.client.get(f"/api/v1/courses/{key}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def event(self, event_id: str, *, key: str | None = None) -> dict[str, Any]:
        """The event log's record of one event."""
        response = self.get(f"/events/{event_id}", key=key)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def event_log(self, *, key: str | None = None, **params: Any) -> list[dict[str, Any]]:
        """Every record of the caller's event log (all pages)."""
        records: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = dict(params, **({"cursor": cursor} if cursor else {}))
            response = self.get("/events", key=key, **query)
            assert response.status_code == 200, response.text
            page = response.json()
            records.extend(page["results"])
            cursor = page["next"]
            if cursor is None:
                return records

    def count(self, model: type[Any]) -> int:
        """How many rows of `model` the database holds."""
        with self.database.read() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def keys(database: Database) -> Keys:
    """Sources `exec-ed` (MIT → MITx) and `bootcamps`, each with a key, and an admin key."""
    with database.unit_of_work() as session:
        make_organization(session, "MITx")
        make_organization(session, "HarvardX")
        _, exec_ed = make_source(session, "exec-ed", codes={"MIT": "MITx"})
        _, bootcamps = make_source(session, "bootcamps")
        admin = make_admin_key(session)
    return Keys(exec_ed=exec_ed.api_key, bootcamps=bootcamps.api_key, admin=admin.api_key)


@pytest.fixture
def app(database: Database, keys: Keys) -> FastAPI:
    """The service on the test database, with default settings."""
    return create_app(Settings(database_url=url_of(database)), database)


@pytest.fixture
def api(app: FastAPI, database: Database, keys: Keys) -> Iterator[Api]:
    """A TestClient of the service."""
    with TestClient(app) as client:
        yield Api(client=client, database=database, keys=keys)


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """Serve `app` with a real uvicorn server in a background thread; its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The service (on the test database) behind a real uvicorn server."""
    with served(app) as url:
        yield url


Cli = Callable[..., Result]


@pytest.fixture
def run_cli(database: Database) -> Iterator[Cli]:
    """Invoke the command line with its settings pointing at the test database."""
    runner = CliRunner()
    environment = {"CATALOG_GATEWAY_DATABASE_URL": url_of(database)}

    def run(*args: str) -> Result:
        get_settings.cache_clear()
        return runner.invoke(cli, list(args), env=environment)

    yield run
    get_settings.cache_clear()


@pytest.fixture
def service(database: Database, keys: Keys) -> Iterator[EventGateway]:
    """The event gateway alone (no HTTP), on the test database, as `bootstrap` builds it for
    the app; it remembers sources and organization codes for the whole test."""
    settings = Settings(database_url=url_of(database), auth_cache_seconds=3600)
    services = bootstrap(settings, database=database)
    try:
        yield services.gateway
    finally:
        services.close()
