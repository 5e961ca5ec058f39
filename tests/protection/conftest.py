"""Fixtures for the protection features: apps built with chosen settings, sources with chosen
rates, and helpers to read problem documents and rate-limit headers.

Every app here uses in-process rate-limit storage (`redis_url=None`) unless a test asks for
Redis, so no count leaks between tests through a shared store.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.settings import Settings
from tests.factories import bearer, make_organization, make_source, url_of
from tests.gateway.conftest import PROBLEM_JSON

AppFactory = Callable[..., FastAPI]
ClientFactory = Callable[..., TestClient]

POLICY = re.compile(r'^"(?P<name>[a-z]+)";q=(?P<q>\d+);w=(?P<w>\d+)$')
STATE = re.compile(r'^"(?P<name>[a-z]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


def settings_for(database: Database, **overrides: Any) -> Settings:
    """Settings on the test database; in-process rate limits unless `redis_url` is given."""
    values: dict[str, Any] = {"database_url": url_of(database), "redis_url": None}
    return Settings(**(values | overrides))


@pytest.fixture
def make_app(database: Database) -> AppFactory:
    """Build the service on the test database with some settings changed."""

    def build(**overrides: Any) -> FastAPI:
        return create_app(settings_for(database, **overrides), database)

    return build


@pytest.fixture
def make_client(make_app: AppFactory) -> Iterator[ClientFactory]:
    """TestClients of the service with some settings changed; closed at the end."""
    clients: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        client = TestClient(make_app(**overrides))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def add_source(
    database: Database,
    slug: str,
    *,
    rate: str = "1000/second",
    burst: int = 1000,
    events: list[str] | None = None,
) -> str:
    """A canonical-transformer source that calls MITx `MIT`; its API key."""
    with database.unit_of_work() as session:
        make_organization(session, "MITx")
        make_organization(session, "HarvardX")
        _, key = make_source(
            session, slug, rate=rate, burst=burst, event_types=events, codes={"MIT": "MITx"}
        )
    return key.api_key


def count(database: Database, model: type[Any]) -> int:
    """Rows of `model` in the database."""
    with database.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def logged_event_ids(database: Database) -> set[str]:
    """Every event id the event log holds (any source)."""
    with database.read() as session:
        return set(session.scalars(select(EventRecord.event_id)))


def post_event(
    client: TestClient | httpx.Client, event: Any, key: str, **params: Any
) -> httpx.Response:
    """POST one event with a source's key."""
    return client.post("/api/v1/events", json=event, headers=bearer(key), params=params or None)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with our `code`; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == "about:blank"
    assert body["title"]
    assert body["detail"]
    return body


def policy_of(response: httpx.Response) -> dict[str, Any]:
    """The one `RateLimit-Policy` header, parsed (it must be in structured-field syntax)."""
    values = response.headers.get_list("RateLimit-Policy")
    assert len(values) == 1, f"expected one RateLimit-Policy header, got {values}"
    match = POLICY.fullmatch(values[0])
    assert match, f'RateLimit-Policy {values[0]!r} is not `"name";q=N;w=N`'
    return {"name": match["name"], "q": int(match["q"]), "w": int(match["w"])}


def state_of(response: httpx.Response) -> dict[str, Any]:
    """The one `RateLimit` header, parsed (it must be in structured-field syntax)."""
    values = response.headers.get_list("RateLimit")
    assert len(values) == 1, f"expected one RateLimit header, got {values}"
    match = STATE.fullmatch(values[0])
    assert match, f'RateLimit {values[0]!r} is not `"name";r=N;t=N`'
    return {"name": match["name"], "r": int(match["r"]), "t": int(match["t"])}


def fresh_window(needed: float = 0.8, window: float = 1.0) -> None:
    """Make sure at least `needed` seconds are left in the current (wall-clock aligned)
    rate-limit window, so that a test's requests are all counted in one window."""
    left = window - (time.time() % window)
    if left < needed:
        time.sleep(left + 0.01)


def instructor_event(event_id: str, external_id: str, **changes: Any) -> dict[str, Any]:
    """A small, cheap `instructor.upsert` event."""
    instructor = {
        "external_id": external_id,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "position": {"title": "Professor", "organization": "MIT"},
    } | changes
    return {
        "event_id": event_id,
        "event_type": "instructor.upsert",
        "occurred_at": "2026-11-28T10:00:00Z",
        "payload": {"instructor": instructor},
    }
