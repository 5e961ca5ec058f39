"""Fixtures for `catalog-gateway ingest`: the service on the test database behind a real
uvicorn server on loopback, sources using the `canonical` transformer, and the real command.

- `exec-ed`: organization MITx known to it by its own code `MIT`; a generous rate limit.
- `trickle`: the same, but 4 events per second: every batch of a few products is throttled.
- `bootcamps`: another source, whose key `exec-ed`'s files must not be sent with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from catalog_gateway.api.app import create_app
from catalog_gateway.cli import app as cli_app
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.settings import Settings
from tests.factories import make_organization, make_source, url_of
from tests.gateway.conftest import served
from tests.gateway.payloads import product_payload

SOURCES = {"exec-ed": ("1000/second", 1000), "trickle": ("4/second", 4)}


def product(number: int, **course_changes: Any) -> dict[str, Any]:
    """Product `number` of exec-ed's catalog: course MITx+DS1<nn>, external id xe-71<nn>."""
    course = {
        "external_id": f"xe-71{number:02d}",
        "number": f"DS1{number:02d}",
        "title": f"Data Science {number}",
    }
    return product_payload(**(course | course_changes))


def course_key(number: int) -> str:
    """The catalog key of product `number`."""
    return f"MITx+DS1{number:02d}"


def write_jsonl(path: Path, payloads: list[dict[str, Any]]) -> Path:
    """A JSON lines file: one payload per line."""
    path.write_text("".join(json.dumps(payload) + "\n" for payload in payloads))
    return path


def write_json(path: Path, document: Any) -> Path:
    """A JSON file holding `document`."""
    path.write_text(json.dumps(document, indent=2))
    return path


def read_report(path: Path) -> dict[str, Any]:
    """A JSON report written by `--report`."""
    report: dict[str, Any] = json.loads(path.read_text())
    return report


@dataclass
class Gateway:
    """The served service, the source keys, and what tests read back."""

    url: str
    database: Database
    keys: dict[str, str]
    runner: CliRunner = field(default_factory=CliRunner)

    def ingest(self, file: Path, *args: str, source: str = "exec-ed", **invoke: Any) -> Result:
        """Run `catalog-gateway ingest FILE --source SOURCE --url … --key … ARGS`."""
        command = ["ingest", str(file), "--source", source, "--url", self.url, *args]
        if "--key" not in args:
            command += ["--key", self.keys[source]]
        return self.runner.invoke(cli_app, command, **invoke)

    def course(self, key: str) -> dict[str, Any] | None:
        """The course as GET /courses/{key} shows it, or None."""
        response = httpx.get(f"{self.url}/api/v1/courses/{key}")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def existing_course(self, key: str) -> dict[str, Any]:
        """The course as GET /courses/{key} shows it; it must exist."""
        course = self.course(key)
        assert course is not None, f"no course {key}"
        return course

    def event_count(self) -> int:
        """How many events the event log holds (every source)."""
        with self.database.read() as session:
            return int(session.scalar(select(func.count()).select_from(EventRecord)) or 0)


GatewayFactory = Callable[..., AbstractContextManager[Gateway]]


@pytest.fixture
def source_keys(database: Database) -> dict[str, str]:
    """Sources `exec-ed`, `trickle` (MIT → MITx) and `bootcamps`, and their keys."""
    keys = {}
    with database.unit_of_work() as session:
        make_organization(session, "MITx")
        for slug, (rate, burst) in SOURCES.items():
            _, key = make_source(session, slug, rate=rate, burst=burst, codes={"MIT": "MITx"})
            keys[slug] = key.api_key
        _, key = make_source(session, "bootcamps")
        keys["bootcamps"] = key.api_key
    return keys


@pytest.fixture
def serve_gateway(database: Database, source_keys: dict[str, str]) -> GatewayFactory:
    """Serve the service with some settings changed (in-process rate limits)."""

    @contextmanager
    def serve(**overrides: Any) -> Iterator[Gateway]:
        settings = Settings(**({"database_url": url_of(database), "redis_url": None} | overrides))
        with served(create_app(settings, database)) as url:
            yield Gateway(url, database, source_keys)

    return serve


@pytest.fixture
def gateway(serve_gateway: GatewayFactory) -> Iterator[Gateway]:
    """The service with default settings, served on loopback."""
    with serve_gateway() as served_gateway:
        yield served_gateway
