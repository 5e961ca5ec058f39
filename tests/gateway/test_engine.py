"""The event engine without HTTP (`apply_events` on the gateway `bootstrap` builds): how the
events of one request share the catalog state, and what a refused event leaves behind.

The HTTP contract of the same behaviour is tested in test_batch.py and test_failures.py; these
tests look at what the engine itself guarantees, on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from catalog_gateway.catalog.models import Course, CourseRun, Instructor
from catalog_gateway.db.engine import Database
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.results import EventStatus
from catalog_gateway.gateway.engine import ErrorPolicy, apply_events
from catalog_gateway.gateway.service import EventGateway
from tests.gateway.payloads import (
    COURSE_KEY,
    course_payload,
    envelope,
    instructor_payload,
    occurred,
    product_payload,
    run_payload,
)


def run(
    service: EventGateway,
    *events: dict[str, Any],
    policy: ErrorPolicy = ErrorPolicy.INDEPENDENT,
) -> list[EventStatus]:
    source = service.profile_by_slug("exec-ed")
    envelopes = [Envelope.model_validate(item) for item in events]
    return [handled.answer.status for handled in apply_events(service, source, envelopes, policy)]


def other_product(title: str = "Data Two") -> dict[str, Any]:
    return {
        "course": course_payload(external_id="xe-7002", number="DS102", title=title),
        "instructors": [instructor_payload("in-4")],
        "course_runs": [run_payload(0, external_id="v-7002", staff=["in-4"])],
    }


def test_a_refused_event_leaves_nothing_of_what_it_changed_and_the_others_are_written(
    service: EventGateway, database: Database
) -> None:
    """The product's instructors are older than it, its course newer (a course event came
    later): applying it changes one instructor and makes another in memory before its course is
    found stale. Undone, neither is written; the event after it in the request is."""
    setup = run(
        service,
        envelope("v5", product_payload(), occurred_at=occurred(5)),
        envelope("course", {"course": course_payload()}, "course.upsert", occurred(8)),
    )
    assert setup == [EventStatus.APPLIED, EventStatus.UNCHANGED]
    stale = product_payload(title="Older title")
    stale["instructors"] = [
        instructor_payload("in-1", given_name="Changed"),
        instructor_payload("in-new"),
    ]

    statuses = run(
        service,
        envelope("stale", stale, occurred_at=occurred(6)),
        envelope("other", other_product(), occurred_at=occurred(6)),
    )

    assert statuses == [EventStatus.STALE, EventStatus.APPLIED]
    with database.read() as session:
        names = dict(session.execute(select(Instructor.external_id, Instructor.given_name)).all())
        titles = dict(session.execute(select(Course.key, Course.title)).all())
        records = dict(session.execute(select(EventRecord.event_id, EventRecord.status)).all())
    assert names == {"in-1": "Ada", "in-2": "Grace", "in-3": "Alan", "in-4": "Katherine"}
    assert titles == {COURSE_KEY: "Data Science for Leaders", "MITx+DS102": "Data Two"}
    assert records == {
        "v5": "applied",
        "course": "unchanged",
        "stale": "stale",
        "other": "applied",
    }


def test_an_event_sees_what_the_events_before_it_in_the_request_changed(
    service: EventGateway, database: Database
) -> None:
    """A run named by the key of a course the same request creates, then a product update that
    finds that run and the course as the request left them."""
    new_run = run_payload(1, external_id="v-late", start="2027-09-01T00:00:00Z")
    new_run["end"] = "2027-10-27T23:59:59Z"

    statuses = run(
        service,
        envelope("product", product_payload(), occurred_at=occurred(1)),
        envelope(
            "run",
            {"course": {"key": COURSE_KEY}, "instructors": [], "run": new_run},
            "course_run.upsert",
            occurred_at=occurred(2),
        ),
        envelope("same", product_payload(), occurred_at=occurred(3)),
        policy=ErrorPolicy.ALL_OR_NOTHING,
    )

    assert statuses == [EventStatus.APPLIED, EventStatus.APPLIED, EventStatus.UNCHANGED]
    with database.read() as session:
        runs = session.scalars(select(CourseRun.external_id).order_by(CourseRun.id)).all()
    assert runs == ["0b6f9a52-variant-1", "0b6f9a52-variant-2", "v-late"]


def test_in_all_or_nothing_a_refusal_after_changes_writes_nothing(
    service: EventGateway, database: Database
) -> None:
    statuses = run(
        service,
        envelope("product", product_payload(), occurred_at=occurred(2)),
        envelope("older", product_payload(title="Older"), occurred_at=occurred(1)),
        policy=ErrorPolicy.ALL_OR_NOTHING,
    )

    assert statuses == [EventStatus.REJECTED, EventStatus.STALE]
    with database.read() as session:
        assert session.scalars(select(Course.key)).all() == []
        assert session.scalars(select(Instructor.external_id)).all() == []
        assert session.scalars(select(EventRecord.event_id)).all() == []
