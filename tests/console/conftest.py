"""Fixtures for the web console: the service on the test database with two LoB sources and an
admin key, a browser-like client of the console, and what LoBs send.

- `exec-ed` sends products of the executive-education product API (its own shape), and calls
  MITx `MIT`;
- `bootcamps` sends canonical payloads (HarvardX bootcamps).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings
from tests.ecommerce.conftest import ecommerce_server  # noqa: F401 (a fixture, for `ecommerce`)
from tests.ecommerce.server import Ecommerce, ServerProcess
from tests.factories import bearer, make_admin_key, make_organization, make_source, url_of
from tests.gateway.payloads import bootcamp_product_payload, envelope
from tests.lobs.conftest import exec_ed_product

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class ConsoleKeys:
    """The admin key that logs in, and the two sources' keys."""

    admin: str
    exec_ed: str
    bootcamps: str


@pytest.fixture
def console_keys(database: Database) -> ConsoleKeys:
    """Sources `exec-ed` (exec-ed-product-api, MIT → MITx) and `bootcamps` (canonical)."""
    with database.unit_of_work() as session:
        make_organization(session, "MITx")
        make_organization(session, "HarvardX")
        _, exec_ed = make_source(
            session, "exec-ed", transformer="exec-ed-product-api", codes={"MIT": "MITx"}
        )
        _, bootcamps = make_source(session, "bootcamps")
        admin = make_admin_key(session)
    return ConsoleKeys(admin=admin.api_key, exec_ed=exec_ed.api_key, bootcamps=bootcamps.api_key)


def console_settings(database: Database, **changes: Any) -> Settings:
    """The service's settings for console tests: keys take effect at once (no auth cache)."""
    values: dict[str, Any] = {"database_url": url_of(database), "auth_cache_seconds": 0}
    return Settings(**(values | changes))


@pytest.fixture
def console_app(database: Database, console_keys: ConsoleKeys) -> FastAPI:
    """The whole service (API and console) on the test database."""
    return create_app(console_settings(database), database)


@dataclass
class Browser:
    """A TestClient used like a browser: it keeps the session cookie and reads form tokens."""

    client: TestClient
    keys: ConsoleKeys

    def get(self, path: str, **params: Any) -> httpx.Response:
        """GET a console page (redirects not followed)."""
        return self.client.get(f"/console{path}", params=params or None, follow_redirects=False)

    def csrf(self, path: str = "/login") -> str:
        """The CSRF token the forms of a page carry."""
        response = self.get(path)
        assert response.status_code == 200, response.text
        match = CSRF_FIELD.search(response.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        """POST a console form as it is (no token added)."""
        return self.client.post(f"/console{path}", data=data or {}, follow_redirects=False)

    def submit(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        """POST a console form with the session's CSRF token, as the page's form does."""
        return self.post(path, {"csrf_token": self.csrf("/"), **(data or {})})

    def log_in(self, api_key: str | None = None, next_page: str = "") -> httpx.Response:
        """Log in through the login form (as the admin unless another key is given)."""
        token = self.csrf("/login")
        return self.post(
            "/login",
            {"csrf_token": token, "api_key": api_key or self.keys.admin, "next": next_page},
        )

    def send(self, key: str, event: dict[str, Any]) -> httpx.Response:
        """A LoB sends an event through the API."""
        return self.client.post("/api/v1/events", json=event, headers=bearer(key))


@pytest.fixture
def browser(console_app: FastAPI, console_keys: ConsoleKeys) -> Iterator[Browser]:
    """A client of the service, not logged in."""
    with TestClient(console_app) as client:
        yield Browser(client, console_keys)


@pytest.fixture
def admin(browser: Browser) -> Browser:
    """A client logged in to the console with the admin key."""
    response = browser.log_in()
    assert response.status_code == 303, response.text
    return browser


def exec_ed_event(event_id: str, **changes: Any) -> dict[str, Any]:
    """`exec-ed`'s product Data Science for Leaders (MITx+DSL), some top-level fields changed."""
    return envelope(event_id, exec_ed_product("short_course_single_variant") | changes)


def bootcamp_event(
    event_id: str, full_description: str | None = None, number: str = "CODE100"
) -> dict[str, Any]:
    """`bootcamps`' product HarvardX+CODE100 (or another `number`), one paid cohort (sold
    through ecommerce)."""
    product = bootcamp_product_payload()
    if number != "CODE100":
        product["course"] |= {"external_id": f"bc-{number}", "number": number}
        product["course_runs"][0]["external_id"] = f"cohort-{number}"
    if full_description is not None:
        product["course"]["full_description"] = full_description
    return envelope(event_id, product)


def degree_event(event_id: str) -> dict[str, Any]:
    """`bootcamps`' degree built on HarvardX+CODE100."""
    degree = {
        "external_id": "deg-se",
        "marketing_slug": "software-engineering-certificate",
        "title": "Professional Certificate in Software Engineering",
        "program_type": "professional-certificate",
        "organization": "HarvardX",
        "courses": ["HarvardX+CODE100"],
    }
    return envelope(event_id, {"degree": degree}, "degree.upsert")


@pytest.fixture
def ecommerce(request: pytest.FixtureRequest) -> Ecommerce:
    """The reference ecommerce server (the ecommerce tests' process), with no faults and no
    products."""
    process: ServerProcess = request.getfixturevalue("ecommerce_server")
    server = Ecommerce(process.url, process.data_path)
    server.clear_faults()
    server.clear_products()
    return server
