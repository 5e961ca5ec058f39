"""Fixtures for metrics and logs: a fresh metrics registry for every test (metrics are
process-wide), JSON logs, the service built with chosen settings, and readers of a Prometheus
scrape and of the JSON log lines written to standard error."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.observability.metrics import render_metrics, use_registry
from tests.factories import make_admin_key
from tests.protection.conftest import settings_for

ClientFactory = Callable[..., TestClient]


@pytest.fixture(autouse=True)
def fresh_metrics() -> Iterator[CollectorRegistry]:
    """Every test counts from zero in a registry of its own."""
    registry = CollectorRegistry()
    use_registry(registry)
    yield registry
    use_registry(None)


@pytest.fixture(autouse=True)
def json_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps log JSON lines even when the tests run on a terminal (`pytest -s`)."""
    monkeypatch.setenv("CATALOG_GATEWAY_LOG_FORMAT", "json")


@pytest.fixture
def make_client(database: Database) -> Iterator[ClientFactory]:
    """TestClients of the service with some settings changed; closed at the end."""
    with ExitStack() as clients:

        def build(**overrides: Any) -> TestClient:
            app = create_app(settings_for(database, **overrides), database)
            return clients.enter_context(TestClient(app))

        yield build


@pytest.fixture
def admin_key(database: Database) -> str:
    """An admin API key."""
    with database.unit_of_work() as session:
        return make_admin_key(session).api_key


class Samples:
    """The samples of one scrape, by name and labels; an absent sample reads 0."""

    def __init__(self, exposition: str) -> None:
        self.values: dict[tuple[str, frozenset[tuple[str, str]]], float] = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(exposition)
            for sample in family.samples
        }

    def __call__(self, name: str, **labels: str) -> float:
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def labels_of(self, name: str) -> list[dict[str, str]]:
        """The label sets of every sample called `name`."""
        return [dict(labels) for sample, labels in self.values if sample == name]


def scrape(client: TestClient | httpx.Client, **headers: str) -> Samples:
    """GET /metrics and parse it (it must be the Prometheus text format)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return Samples(response.text)


def current_samples() -> Samples:
    """This process's metrics, as `GET /metrics` would show them."""
    body, _ = render_metrics()
    return Samples(body.decode())


def log_lines(captured: str) -> list[dict[str, Any]]:
    """Every line written to standard error, each of which must be one JSON object."""
    return [json.loads(line) for line in captured.splitlines() if line.strip()]
