"""Realistic catalog data for tests: an executive-education LoB selling a data-science course."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from catalog_gateway.catalog.inputs import (
    CourseInput,
    CourseRunInput,
    DegreeInput,
    InstructorInput,
    SeatInput,
)
from catalog_gateway.catalog.loading import CoreLoader
from catalog_gateway.catalog.organizations import (
    OrganizationRef,
    ensure_organization,
    resolve_organization,
)
from catalog_gateway.catalog.state import CatalogState
from catalog_gateway.catalog.vocabulary import Vocabulary, load_vocabulary
from catalog_gateway.catalog.writing import write
from catalog_gateway.sources.models import Source
from catalog_gateway.sources.service import create_source
from catalog_gateway.transformers.registry import TransformerRegistry

INSTALLED = frozenset(TransformerRegistry().origins())
"""The transformers installed as packages (entry points), for `create_source`."""


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC moment."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def make_source(session: Session, slug: str = "exec-ed") -> Source:
    """A source with every event type allowed, and the MITx organization known."""
    ensure_organization(session, "MITx", "Massachusetts Institute of Technology")
    source, _ = create_source(
        session, slug, transformer="canonical", installed=INSTALLED, rate="50/second", burst=100
    )
    return source


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
