"""Fixtures for the real LoB transformers over HTTP: two sources, each with its transformer.

- `exec-ed` (transformer `exec-ed-product-api`): knows MITx as `MIT` and HarvardX as `HARVARD`.
- `discovery` (transformer `discovery-csv`): knows MITx as `MIT`; HarvardX by its key.
- `degrees` (transformer `degree-csv`): organizations by their keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.events.types import EventType
from catalog_gateway.ingest.readers import detect_format, read_records
from catalog_gateway.settings import Settings
from tests.factories import bearer, make_organization, make_source, url_of
from tests.gateway.payloads import envelope

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lobs"


def exec_ed_product(name: str) -> dict[str, Any]:
    """One product of the exec-ed product API, from tests/fixtures/lobs/exec_ed/<name>.json."""
    product: dict[str, Any] = json.loads((FIXTURES / "exec_ed" / f"{name}.json").read_text())
    return product


def source_payloads(path: Path, event_type: EventType = EventType.PRODUCT_UPSERT) -> list[Any]:
    """The payloads of a LoB file as the ingest CLI reads them (a CSV's rows grouped into one
    `{"rows": [...]}` per product, header names normalised)."""
    return [record.payload for record in read_records(path, detect_format(path), event_type)]


def discovery_payloads() -> list[dict[str, Any]]:
    """The discovery CSV fixture: one payload per (organization, number), in file order."""
    return source_payloads(FIXTURES / "discovery" / "courses.csv")


def runs_by_external_id(course: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A course's runs (as the catalog shows them) by the source's variant id."""
    return {run["external_id"]: run for run in course["course_runs"]}


def seats(run: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, price, currency) of each seat of a run, as the catalog shows it."""
    return [(seat["type"], seat["price"], seat["currency"]) for seat in run["seats"]]


@dataclass(frozen=True)
class LobKeys:
    """API keys of the two LoB sources."""

    exec_ed: str
    discovery: str
    degrees: str


@dataclass
class LobApi:
    """A client of the service sending as the LoB sources."""

    client: TestClient
    keys: LobKeys

    def send(
        self,
        key: str,
        event_id: str,
        payload: dict[str, Any],
        *,
        event_type: str = "product.upsert",
        dry_run: bool = False,
    ) -> httpx.Response:
        """POST one event (`product.upsert` by default) with the source's own payload."""
        return self.client.post(
            "/api/v1/events",
            json=envelope(event_id, payload, event_type),
            params={"dry_run": "true"} if dry_run else None,
            headers=bearer(key),
        )

    def course(self, key: str) -> dict[str, Any] | None:
        """The course as GET /courses/{key} shows it, or None when it does not exist."""
        response = self.client.get(f"/api/v1/courses/{key}", headers=bearer(self.keys.exec_ed))
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def courses(self) -> list[str]:
        """The keys of every course in the catalog (first page)."""
        response = self.client.get("/api/v1/courses", headers=bearer(self.keys.exec_ed))
        assert response.status_code == 200, response.text
        return [course["key"] for course in response.json()["results"]]

    def instructor(self, uuid: str) -> dict[str, Any]:
        """The instructor as GET /instructors/{uuid} shows it."""
        response = self.client.get(
            f"/api/v1/instructors/{uuid}", headers=bearer(self.keys.discovery)
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def lob_keys(database: Database) -> LobKeys:
    """Sources `exec-ed`, `discovery` and `degrees` with their transformers, organizations and
    codes."""
    with database.unit_of_work() as session:
        make_organization(session, "MITx")
        make_organization(session, "HarvardX")
        _, exec_ed = make_source(
            session,
            "exec-ed",
            transformer="exec-ed-product-api",
            codes={"MIT": "MITx", "HARVARD": "HarvardX"},
        )
        _, discovery = make_source(
            session, "discovery", transformer="discovery-csv", codes={"MIT": "MITx"}
        )
        _, degrees = make_source(session, "degrees", transformer="degree-csv")
    return LobKeys(exec_ed=exec_ed.api_key, discovery=discovery.api_key, degrees=degrees.api_key)


@pytest.fixture
def lob_app(database: Database, lob_keys: LobKeys) -> FastAPI:
    """The service on the test database, with default settings."""
    return create_app(Settings(database_url=url_of(database)), database)


@pytest.fixture
def lob_api(lob_app: FastAPI, lob_keys: LobKeys) -> Iterator[LobApi]:
    """A TestClient of the service for the LoB sources."""
    with TestClient(lob_app) as client:
        yield LobApi(client=client, keys=lob_keys)
