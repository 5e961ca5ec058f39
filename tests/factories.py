"""What many tests build the same way.

- The rows a service needs before it takes events: organizations (`make_organization`), sources
  with their first key and organization codes (`make_source`), admin keys (`make_admin_key`).
- Talking to it: the `Authorization` header of a key (`bearer`), the database URL for settings
  and the CLI (`url_of`), a free loopback port (`free_port`).
- Realistic catalog data: an executive-education LoB selling a data-science course.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from catalog_gateway.auth.keys import IssuedKey, issue_key
from catalog_gateway.catalog.inputs import (
    CourseInput,
    CourseRunInput,
    DegreeInput,
    InstructorInput,
    SeatInput,
)
from catalog_gateway.catalog.loading import CoreLoader
from catalog_gateway.catalog.models import Organization
from catalog_gateway.catalog.organizations import (
    OrganizationRef,
    ensure_organization,
    resolve_organization,
)
from catalog_gateway.catalog.state import CatalogState
from catalog_gateway.catalog.vocabulary import Vocabulary, load_vocabulary
from catalog_gateway.catalog.writing import write
from catalog_gateway.db.engine import Database
from catalog_gateway.sources.models import Source
from catalog_gateway.sources.service import create_source, map_organization_code
from catalog_gateway.transformers.registry import TransformerRegistry

INSTALLED = frozenset(TransformerRegistry().origins())
"""The transformers installed as packages (entry points), for `create_source`."""


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC moment."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


ORGANIZATION_NAMES = {
    "MITx": "Massachusetts Institute of Technology",
    "HarvardX": "Harvard University",
    "FlatironX": "Flatiron School",
}
"""The names the tests give the organizations they use most."""


def bearer(api_key: str) -> dict[str, str]:
    """The `Authorization` header for a key."""
    return {"Authorization": f"Bearer {api_key}"}


def url_of(database: Database) -> str:
    """The database URL, password included, for settings and the CLI."""
    return database.url.render_as_string(hide_password=False)


def free_port() -> int:
    """A loopback port nothing listens on (yet).

    The port is free when asked, and the server binds it a moment later. Under pytest-xdist
    another worker could be handed the same port in that moment, so each worker only takes the
    ports of its own share (Linux hands out odd ports first, hence `port // 2`)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if (port // 2) % workers == worker:
            return port


def make_organization(session: Session, key: str = "MITx", name: str | None = None) -> Organization:
    """Organization `key`, created (or renamed) with `name`, by default its name in
    `ORGANIZATION_NAMES`."""
    return ensure_organization(session, key, name or ORGANIZATION_NAMES[key]).entity


def make_source(
    session: Session,
    slug: str = "exec-ed",
    *,
    transformer: str = "canonical",
    rate: str = "1000/second",
    burst: int = 1000,
    event_types: Sequence[str] | None = None,
    codes: Mapping[str, str] | None = None,
    installed: Collection[str] = INSTALLED,
) -> tuple[Source, IssuedKey]:
    """A source (every event type allowed unless `event_types` are given) and its first key;
    `codes`: the source's own organization codes, each to the key of a known organization."""
    source, key = create_source(
        session,
        slug,
        transformer=transformer,
        installed=installed,
        rate=rate,
        burst=burst,
        event_types=event_types,
    )
    for code, organization_key in (codes or {}).items():
        map_organization_code(session, slug, code, organization_key)
    return source, key


def make_admin_key(session: Session) -> IssuedKey:
    """A new admin key."""
    return issue_key(session)


@contextmanager
def catalog(session: Session, source_id: int) -> Iterator[CatalogState]:
    """The catalog state of `source_id` in `session`'s transaction, as the event engine holds
    it: what the block changes is written when it ends (unless it raises)."""
    state = CatalogState(source_id, CoreLoader(session.connection()))
    yield state
    write(state, session.connection())


def organization(session: Session, source_id: int, code: str = "MITx") -> OrganizationRef:
    """The organization `code` resolves to for the source (what the upserts are given)."""
    return resolve_organization(session, source_id, code)


def vocabulary(session: Session) -> Vocabulary:
    """The seeded reference data."""
    return load_vocabulary(session)


def instructor_input(external_id: str = "in-1", **changes: Any) -> InstructorInput:
    """Ada Lovelace, professor at MIT."""
    data: dict[str, Any] = {
        "external_id": external_id,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.org",
        "bio": "<p>Analyst of engines.</p>",
        "position": {"title": "Professor", "organization": "MIT"},
    }
    return InstructorInput.model_validate(data | changes)


def course_input(external_id: str = "xe-7001", **changes: Any) -> CourseInput:
    """Data Science for Leaders, an executive-education course."""
    data: dict[str, Any] = {
        "external_id": external_id,
        "organization": "MITx",
        "number": "DS101",
        "title": "Data Science for Leaders",
        "short_description": "Lead with data.",
        "full_description": "<p>Eight weeks on data-driven decisions.</p>",
        "level": "introductory",
        "subjects": ["computer-science", "data-analysis-statistics"],
        "image_url": "https://cdn.example.org/ds101.jpg",
        "course_type": "executive-education-2u",
        "entitlement": {
            "seat_type": "paid-executive-education",
            "price": "2800.00",
            "currency": "USD",
        },
        "marketing": {
            "external_url": "https://example.org/ds101",
            "marketing_type": "short_course",
            "facts": [{"heading": "90%", "blurb": "would recommend"}],
        },
    }
    return CourseInput.model_validate(data | changes)


def run_input(external_id: str | None = "variant-1", **changes: Any) -> CourseRunInput:
    """An eight-week paid run starting in February 2027, with one seat."""
    data: dict[str, Any] = {
        "external_id": external_id,
        "start": at(2027, 2, 1),
        "end": at(2027, 3, 29, 23, 59),
        "enrollment_end": at(2027, 1, 25),
        "pacing": "instructor_paced",
        "run_type": "paid-executive-education",
        "min_effort": 4,
        "max_effort": 6,
        "weeks_to_complete": 8,
        "content_language": "en-US",
        "transcript_languages": ["en-US"],
        "seats": [seat_input()],
    }
    return CourseRunInput.model_validate(data | changes)


def seat_input(price: str = "2800.00", **changes: Any) -> SeatInput:
    """The paid executive-education seat."""
    data: dict[str, Any] = {
        "type": "paid-executive-education",
        "price": Decimal(price),
        "currency": "USD",
    }
    return SeatInput.model_validate(data | changes)


def degree_input(external_id: str = "deg-1", **changes: Any) -> DegreeInput:
    """A master's degree in data science."""
    data: dict[str, Any] = {
        "external_id": external_id,
        "marketing_slug": "masters-data-science",
        "title": "Master of Data Science",
        "program_type": "masters",
        "organization": "MITx",
        "courses": [],
        "specializations": ["Machine Learning"],
        "level": "advanced",
        "primary_subject": "data-analysis-statistics",
    }
    return DegreeInput.model_validate(data | changes)
