"""A batch is its events one by one (issue 12), as properties, on both databases.

For any list of 1 to 12 canonical events of one source — instructors, courses, complete
products, runs, degrees and retirements over a small pool of external ids, so that events meet
on the same products; some invalid (a run ending before it starts, an unknown organization, a
run or degree naming an unknown course, a course key or degree slug already taken, staff who is
no instructor); `occurred_at` mostly increasing, sometimes going back, so that events are stale:

- `independent`: POSTing them as one batch leaves the same catalog, event log and answers as
  POSTing them one by one to `/api/v1/events` in the batch's application order
  (`engine.application_order`: dependency-first, then in the order given);
- `all_or_nothing`: if every one-by-one answer is a success (applied, unchanged), the batch
  leaves that same catalog, event log and answers; otherwise the batch writes nothing (no
  catalog row, no event record), the culprit (the first refused event in application order)
  gets the answer it gets one by one, and every other event is answered `batch_aborted`.

What is compared is read from the database: courses by key with their fields, subjects and
product status; runs by key with status, dates, seats, staff (by external id) and restriction;
instructors by external id; degrees by slug with their courses; the event log (status, HTTP
status, stored answer). Answers are normalised: no durations, instructors by external id instead
of uuid. Each example starts on an emptied catalog (the source, its key and organization stay).
Examples are derandomized and no example database is kept, so CI runs the same examples.

A difference the properties found is kept at the end as a test of its own, with its minimized
events.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import inspect, select
from sqlalchemy.orm import selectinload

from catalog_gateway.catalog.models import Course, CourseRun, Degree, Instructor
from catalog_gateway.db.engine import Database
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.models import EventRecord
from catalog_gateway.gateway.engine import application_order
from tests.factories import bearer
from tests.fuzz.service import BATCH, EVENTS, exec_ed_client, property_settings, reset_examples
from tests.gateway.payloads import (
    course_payload,
    envelope,
    instructor_payload,
    occurred,
    product_payload,
    run_payload,
    seat_payload,
)

MAX_EXAMPLES = 40

SUCCESS = frozenset({"applied", "unchanged"})
REFUSED = frozenset({"rejected", "stale", "conflict", "failed"})

# --- the pools events draw from -------------------------------------------------------------

# Course external id → its number; a course key clash gives xe-3 the number of xe-1.
COURSE_NUMBERS = {"xe-1": "DS101", "xe-2": "ML201", "xe-3": "AI301"}
COURSE_IDS = tuple(COURSE_NUMBERS)
UNKNOWN_COURSE = "xe-9"
INSTRUCTOR_IDS = ("in-1", "in-2", "in-3")
UNKNOWN_INSTRUCTOR = "in-9"
RUN_IDS = ("run-a", "run-b", "run-c")
# Run starts: two in term 1T2027 (their keys then differ by a letter suffix).
RUN_STARTS = ("2027-02-01", "2027-03-15", "2027-06-01")
# Go-live dates far ahead or absent: a run's status does not depend on the clock.
GO_LIVE_DATES = (None, "2035-01-01T00:00:00Z")
# Degree external id → its marketing slug; a slug clash gives deg-2 the slug of deg-1.
DEGREE_SLUGS = {"deg-1": "masters-data-science", "deg-2": "masters-leadership"}
DEGREE_IDS = tuple(DEGREE_SLUGS)
UNKNOWN_DEGREE = "deg-9"
# Small pools, so an event often says again what an earlier one said (→ `unchanged`).
TITLES = ("Data Science for Leaders", "Machine Learning Strategy")
PRICES = ("2800.00", "2950.00", "0.00")
GIVEN_NAMES = ("Ada", "Grace", "Zoë")
EVENT_TYPES = (
    "product.upsert",
    "product.upsert",
    "course.upsert",
    "course_run.upsert",
    "course_run.upsert",
    "instructor.upsert",
    "degree.upsert",
    "product.retire",
)


@dataclass(frozen=True)
class Pools:
    """What an example draws from. A `clean` example draws no deliberately invalid value, and
    names only the courses and degrees that its events create (a run's staff, only instructors
    sent with it)."""

    clean: bool
    courses: tuple[str, ...]
    degrees: tuple[str, ...]

    def odd(self, draw: st.DrawFn, value: Any, usual: Any, one_in: int = 5) -> Any:
        """`usual`; in an example that is not clean, `value` one time in `one_in`."""
        if self.clean:
            return usual
        return draw(st.sampled_from([*[usual] * (one_in - 1), value]))

    def staff(self, sent: tuple[str, ...]) -> tuple[str, ...]:
        """Who a run may name as staff: the instructors `sent` with it; in an example that is
        not clean, any instructor (known, or not, when the run is applied)."""
        return sent if self.clean else INSTRUCTOR_IDS

    def course_reference(self, draw: st.DrawFn) -> dict[str, str]:
        known = draw(st.sampled_from(self.courses or COURSE_IDS))
        return {"external_id": self.odd(draw, UNKNOWN_COURSE, known)}


@st.composite
def instructors(draw: st.DrawFn, external_id: str) -> dict[str, Any]:
    return instructor_payload(external_id, given_name=draw(st.sampled_from(GIVEN_NAMES)))


@st.composite
def courses(draw: st.DrawFn, pools: Pools, external_id: str) -> dict[str, Any]:
    """A course; now and then of an unknown organization, or with xe-1's number."""
    price = draw(st.sampled_from(PRICES))
    return course_payload(
        external_id=external_id,
        organization=pools.odd(draw, "ZZZ", "MIT"),
        number=pools.odd(draw, "DS101", COURSE_NUMBERS[external_id], one_in=3),
        title=draw(st.sampled_from(TITLES)),
        entitlement={"seat_type": "paid-executive-education", "price": price, "currency": "USD"},
    )


@st.composite
def runs(draw: st.DrawFn, pools: Pools, external_id: str, staff: tuple[str, ...]) -> dict[str, Any]:
    """A paid run with one seat, staffed from `staff` (now and then by an unknown instructor);
    now and then ending before it starts."""
    start = draw(st.sampled_from(RUN_STARTS))
    year, month, day = (int(part) for part in start.split("-"))
    end = pools.odd(
        draw, f"{year - 1}-12-01T00:00:00Z", f"{year}-{month + 2:02d}-{day:02d}T23:59:59Z"
    )
    people = draw(st.lists(st.sampled_from(staff), max_size=2, unique=True)) if staff else []
    if pools.odd(draw, True, False):
        people.append(UNKNOWN_INSTRUCTOR)
    return run_payload(
        0,
        external_id=external_id,
        start=f"{start}T00:00:00Z",
        end=end,
        enrollment_start=None,
        enrollment_end=None,
        go_live_date=draw(st.sampled_from(GO_LIVE_DATES)),
        weeks_to_complete=draw(st.sampled_from([6, 8])),
        staff=people,
        seats=[seat_payload(draw(st.sampled_from(PRICES)))],
        restriction=draw(st.sampled_from([None, None, "custom-b2c"])),
    )


@st.composite
def products(draw: st.DrawFn, pools: Pools) -> dict[str, Any]:
    """A complete product: a course, 0 to 2 instructors, 0 to 2 runs staffed by them."""
    external_id = draw(st.sampled_from(pools.courses or COURSE_IDS))
    people = tuple(draw(st.lists(st.sampled_from(INSTRUCTOR_IDS), max_size=2, unique=True)))
    run_ids = draw(st.lists(st.sampled_from(RUN_IDS), max_size=2, unique=True))
    return {
        "course": draw(courses(pools, external_id)),
        "instructors": [draw(instructors(person)) for person in people],
        "course_runs": [draw(runs(pools, run_id, pools.staff(people))) for run_id in run_ids],
    }


@st.composite
def degrees(draw: st.DrawFn, pools: Pools, external_id: str) -> dict[str, Any]:
    """A degree of up to 2 courses; now and then of an unknown organization, naming an unknown
    course, or with deg-1's marketing slug."""
    courses = draw(st.lists(st.sampled_from(pools.courses or COURSE_IDS), max_size=2, unique=True))
    return {
        "external_id": external_id,
        "marketing_slug": pools.odd(
            draw, DEGREE_SLUGS["deg-1"], DEGREE_SLUGS[external_id], one_in=3
        ),
        "title": draw(st.sampled_from(["Master of Data Science", "Master of Leadership"])),
        "program_type": "masters",
        "organization": pools.odd(draw, "ZZZ", "MIT"),
        "courses": courses + pools.odd(draw, [UNKNOWN_COURSE], []),
    }


@st.composite
def payloads(draw: st.DrawFn, pools: Pools) -> tuple[str, dict[str, Any]]:
    event_type = draw(st.sampled_from(EVENT_TYPES))
    if event_type == "product.upsert":
        return event_type, draw(products(pools))
    if event_type == "course.upsert":
        external_id = draw(st.sampled_from(pools.courses or COURSE_IDS))
        return event_type, {"course": draw(courses(pools, external_id))}
    if event_type == "instructor.upsert":
        external_id = draw(st.sampled_from(INSTRUCTOR_IDS))
        return event_type, {"instructor": draw(instructors(external_id))}
    if event_type == "course_run.upsert":
        sent = tuple(draw(st.lists(st.sampled_from(INSTRUCTOR_IDS), max_size=1)))
        payload: dict[str, Any] = {
            "course": pools.course_reference(draw),
            "run": draw(runs(pools, draw(st.sampled_from(RUN_IDS)), pools.staff(sent))),
        }
        if sent:
            payload["instructors"] = [draw(instructors(sent[0]))]
        return event_type, payload
    if event_type == "degree.upsert":
        external_id = draw(st.sampled_from(pools.degrees or DEGREE_IDS))
        return event_type, {"degree": draw(degrees(pools, external_id))}
    if draw(st.booleans()) and (pools.degrees or not pools.clean):
        known = draw(st.sampled_from(pools.degrees or DEGREE_IDS))
        return event_type, {"degree": {"external_id": pools.odd(draw, UNKNOWN_DEGREE, known)}}
    return event_type, {"course": pools.course_reference(draw)}


@st.composite
def event_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1 to 12 events with distinct ids, a few of them saying again what an earlier one said.

    In half the examples, the events may be invalid and `occurred_at` goes up an hour per event
    but now and then repeats or goes back a few hours (→ `stale`). In the other half (clean),
    the events name only the courses and degrees they create (first: a course, product or
    degree event for each) and `occurred_at` goes up in application order: every event should
    succeed.
    """
    clean = draw(st.booleans())
    count = draw(st.integers(min_value=1, max_value=12))
    if clean:
        course_ids = tuple(draw(st.lists(st.sampled_from(COURSE_IDS), min_size=1, unique=True)))
        degree_ids = tuple(draw(st.lists(st.sampled_from(DEGREE_IDS), max_size=2, unique=True)))
        pools = Pools(clean, course_ids, degree_ids)
        # Each course is created first (by a course or product event), and each degree; then
        # anything goes.
        created = []
        for external_id in course_ids:
            if draw(st.booleans()):
                created.append(("course.upsert", {"course": draw(courses(pools, external_id))}))
            else:
                product = draw(products(pools))
                product["course"] = draw(courses(pools, external_id))
                created.append(("product.upsert", product))
        for external_id in degree_ids:
            created.append(("degree.upsert", {"degree": draw(degrees(pools, external_id))}))
        drawn = created + [draw(payloads(pools)) for _ in range(max(0, count - len(created)))]
    else:
        pools = Pools(clean, courses=(), degrees=())
        drawn = [draw(payloads(pools)) for _ in range(count)]
    for index in range(1, len(drawn)):  # a few repeats of an earlier event (→ `unchanged`)
        if draw(st.integers(0, 5)) == 0:
            drawn[index] = copy.deepcopy(drawn[draw(st.integers(0, index - 1))])
    events = []
    hours = 0
    for index, (event_type, payload) in enumerate(drawn):
        hours += 1 if clean else draw(st.sampled_from([1, 1, 1, 0, -2, -5]))
        events.append(envelope(f"e-{index:02d}", payload, event_type, occurred(hours)))
    if clean:
        for rank, index in enumerate(order_of(events)):
            events[index]["occurred_at"] = occurred(rank)
    return events


def order_of(events: list[dict[str, Any]]) -> list[int]:
    """The engine's application order of the events."""
    return application_order([Envelope.model_validate(e) for e in events])


# --- the service --------------------------------------------------------------------------


@dataclass
class Service:
    client: TestClient
    database: Database
    key: str

    def send(self, event: dict[str, Any]) -> httpx.Response:
        return self.client.post(EVENTS, json=event, headers=bearer(self.key))

    def batch(self, events: list[dict[str, Any]], policy: str) -> httpx.Response:
        body = {"events": events, "error_policy": policy}
        return self.client.post(BATCH, json=body, headers=bearer(self.key))

    def reset(self) -> None:
        """Remove every event and catalog row; keep the source, its key and organizations."""
        reset_examples(self.database)


@pytest.fixture
def service(database: Database) -> Iterator[Service]:
    """The service on the test database (SQLite, then PostgreSQL), with source `exec-ed`."""
    with exec_ed_client(database) as (client, key):
        yield Service(client, database, key)


# --- snapshots ----------------------------------------------------------------------------

# Columns that identify rows or times of one database, or point at other rows (those are
# shown by natural key instead).
VOLATILE_COLUMNS = frozenset(
    {
        "id",
        "uuid",
        "created",
        "modified",
        "source_id",
        "organization_id",
        "course_id",
        "run_id",
        "received_at",
        "updated_at",
        "duration_ms",
    }
)


def columns(row: Any) -> dict[str, Any]:
    """The row's column values but the volatile ones, as JSON-comparable values."""
    return {
        attribute.key: _plain(getattr(row, attribute.key))
        for attribute in inspect(row).mapper.column_attrs
        if attribute.key not in VOLATILE_COLUMNS
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str | float | list | dict):
        return value
    return str(value)  # dates, decimals, enums


def normalized_answer(answer: dict[str, Any], instructors: dict[str, str]) -> dict[str, Any]:
    """An answer without durations, its instructors by external id; everything else as it is,
    lists in their order."""
    return {
        "event_id": answer["event_id"],
        "event_type": answer.get("event_type"),
        "status": answer["status"],
        "retryable": answer.get("retryable"),
        "replayed": answer.get("replayed", False),
        "errors": [_issue(error) for error in answer.get("errors") or []],
        "errors_truncated": answer.get("errors_truncated", 0),
        "warnings": [_issue(warning) for warning in answer.get("warnings") or []],
        "steps": [
            {k: step.get(k) for k in ("name", "status", "action", "target", "system", "detail")}
            for step in answer.get("steps") or []
        ],
        "products": normalized_products(answer.get("products"), instructors),
    }


def normalized_products(products: Any, instructors: dict[str, str]) -> dict[str, Any]:
    """What an answer touched, its instructors by external id (uuids of rows rolled back are
    `?`), in their order."""
    products = dict(products or {})
    products["instructors"] = [
        instructors.get(uuid, "?") for uuid in products.get("instructors", [])
    ]
    return products


def _issue(issue: dict[str, Any]) -> dict[str, Any]:
    return {k: issue.get(k) for k in ("code", "path", "source_path", "step", "message", "detail")}


def catalog_of(database: Database) -> dict[str, Any]:
    """The catalog and the event log, by natural keys; and instructor uuid → external id."""
    with database.read() as session:
        course_rows = session.scalars(
            select(Course)
            .options(selectinload(Course.subject_links), selectinload(Course.organization))
            .order_by(Course.key)
        ).all()
        run_rows = session.scalars(
            select(CourseRun)
            .options(
                selectinload(CourseRun.course),
                selectinload(CourseRun.seats),
                selectinload(CourseRun.staff_links),
            )
            .order_by(CourseRun.key)
        ).all()
        instructor_rows = session.scalars(select(Instructor).order_by(Instructor.external_id)).all()
        degree_rows = session.scalars(
            select(Degree)
            .options(selectinload(Degree.course_links), selectinload(Degree.organization))
            .order_by(Degree.marketing_slug)
        ).all()
        record_rows = session.scalars(select(EventRecord).order_by(EventRecord.event_id)).all()
        uuids = {str(row.uuid): row.external_id for row in instructor_rows}
        by_id = {row.id: row.external_id for row in instructor_rows}
        course_keys = {row.id: row.key for row in course_rows}
        catalog = {
            "courses": {
                row.key: {
                    **columns(row),
                    "organization": row.organization.key,
                    "subjects": row.subjects,
                }
                for row in course_rows
            },
            "runs": {
                row.key: {
                    **columns(row),
                    "course": row.course.key,
                    "seats": [columns(seat) for seat in row.seats],
                    "staff": [by_id[link.instructor_id] for link in row.staff_links],
                }
                for row in run_rows
            },
            "instructors": {row.external_id: columns(row) for row in instructor_rows},
            "degrees": {
                row.marketing_slug: {
                    **columns(row),
                    "organization": row.organization.key,
                    "courses": [course_keys[link.course_id] for link in row.course_links],
                }
                for row in degree_rows
            },
        }
        catalog["event_log"] = {
            row.event_id: {
                **columns(row),
                "steps": [
                    {k: v for k, v in step.items() if k != "duration_ms"} for step in row.steps
                ],
                "products": normalized_products(row.products, uuids),
            }
            for row in record_rows
        }
    return {"catalog": catalog, "uuids": uuids}


@dataclass
class Outcome:
    """What a way of sending the events left: the catalog and the answers by event id."""

    catalog: dict[str, Any]
    answers: dict[str, dict[str, Any]]


def _answer_of(response: httpx.Response, what: str) -> dict[str, Any]:
    assert response.status_code < 500 or response.status_code in (502, 503), (
        f"{what}: {response.status_code} {response.text}"
    )
    body: dict[str, Any] = response.json()
    assert "status" in body, f"{what}: not an event answer: {response.text}"
    return body


def as_batch(service: Service, events: list[dict[str, Any]], policy: str) -> Outcome:
    service.reset()
    response = service.batch(events, policy)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["event_id"] for r in results] == [e["event_id"] for e in events]
    snapshot = catalog_of(service.database)
    answers = {r["event_id"]: normalized_answer(r, snapshot["uuids"]) for r in results}
    return Outcome(snapshot["catalog"], answers)


def one_by_one(service: Service, events: list[dict[str, Any]]) -> Outcome:
    service.reset()
    sent = []
    for index in order_of(events):
        response = service.send(events[index])
        body = _answer_of(response, events[index]["event_id"])
        sent.append(body)
    snapshot = catalog_of(service.database)
    answers = {body["event_id"]: normalized_answer(body, snapshot["uuids"]) for body in sent}
    return Outcome(snapshot["catalog"], answers)


def describe(events: list[dict[str, Any]]) -> str:
    """Every event in full, to reproduce a failure by hand."""
    return "\n".join(json.dumps(e) for e in events)


def _note_statuses(outcome: Outcome) -> None:
    for answer in outcome.answers.values():
        codes = ",".join(sorted({error["code"] for error in answer["errors"]}))
        event(f"{answer['event_type']}: {answer['status']} {codes}".rstrip())


# --- the properties -----------------------------------------------------------------------

PROPERTY_SETTINGS = property_settings(MAX_EXAMPLES)


@PROPERTY_SETTINGS
@given(events=event_lists())
def test_an_independent_batch_leaves_what_its_events_leave_one_by_one(
    service: Service, events: list[dict[str, Any]]
) -> None:
    batch = as_batch(service, events, "independent")
    singles = one_by_one(service, events)
    _note_statuses(singles)

    what = describe(events)
    assert batch.answers == singles.answers, what
    assert batch.catalog == singles.catalog, what


@PROPERTY_SETTINGS
@given(events=event_lists())
def test_an_all_or_nothing_batch_leaves_all_its_events_one_by_one_or_nothing(
    service: Service, events: list[dict[str, Any]]
) -> None:
    batch = as_batch(service, events, "all_or_nothing")
    singles = one_by_one(service, events)

    what = describe(events)
    refused = [
        events[i]["event_id"]
        for i in order_of(events)
        if singles.answers[events[i]["event_id"]]["status"] in REFUSED
    ]
    if not refused:
        event("all_or_nothing: applied")
        assert batch.answers == singles.answers, what
        assert batch.catalog == singles.catalog, what
        return
    event("all_or_nothing: aborted")
    culprit = refused[0]
    empty = {"courses": {}, "runs": {}, "instructors": {}, "degrees": {}, "event_log": {}}
    assert batch.catalog == empty, what
    assert batch.answers[culprit] == singles.answers[culprit], what
    for event_id, answer in batch.answers.items():
        if event_id != culprit:
            assert answer["status"] == "rejected", what
            assert [e["code"] for e in answer["errors"]] == ["batch_aborted"], what


# --- a difference the properties found (fixed: a retirement lists the runs in start order) ----


def test_a_retirement_after_its_product_in_one_batch_answers_as_alone(service: Service) -> None:
    """Minimized counterexample of the independent property (both policies, both databases):
    a product whose runs are sent June run first, then February run, and its retirement.

    One by one, x-1 lists `products.course_runs` as [...+1T2027, ...+2T2027] (start order);
    in the batch it listed them in the order they were created, until the retirement sorted
    them.
    """
    product = product_payload()
    product["course_runs"].reverse()  # the June run first, then the February run
    events = [
        envelope("p-1", product, occurred_at=occurred(0)),
        envelope("x-1", {"course": {"external_id": "xe-7001"}}, "product.retire", occurred(1)),
    ]

    batch = as_batch(service, events, "independent")
    singles = one_by_one(service, events)

    listed = batch.answers["x-1"]["products"]["course_runs"]
    assert listed == singles.answers["x-1"]["products"]["course_runs"]
    assert batch.answers == singles.answers
    assert batch.catalog == singles.catalog
