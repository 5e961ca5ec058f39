"""`catalog-gateway products reset-clock KEY [--to RFC3339]` (issue 11, R2b), on both databases.

A product whose stored `last_occurred_at` lies in the future (an event once sent with a wrong
clock) refuses every later event as stale. `reset-clock` brings every `last_occurred_at` of the
entity later than `--to` (default: now) back to `--to` — for a course, also its runs and the
instructors staffing them — and prints what it reset. KEY is a course key, a run key, a degree's
marketing slug or an instructor's uuid; an unknown KEY exits 1.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from catalog_gateway.catalog.models import Course, CourseRun, Degree, Instructor
from catalog_gateway.db.engine import Database
from tests.gateway.conftest import Api, Cli
from tests.gateway.payloads import (
    COURSE_KEY,
    INSTRUCTOR_IDS,
    RUN_KEYS,
    T0,
    envelope,
    instructor_payload,
    occurred,
    product_payload,
)

FUTURE = datetime(2099, 1, 1, tzinfo=UTC)
DEGREE_SLUG = "masters-data-science"


@pytest.fixture
def product(api: Api) -> None:
    """MITx+DS101 with its 2 runs and 3 instructors (every one staffing a run), sent at T0."""
    response = api.send(envelope("p-0", product_payload(), occurred_at=occurred(0)))
    assert response.status_code == 200, response.text


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def poison(database: Database, model: Any, column: Any, values: list[Any]) -> None:
    """Set `last_occurred_at` of the rows whose `column` is in `values` to 2099."""
    with database.unit_of_work() as session:
        session.execute(update(model).where(column.in_(values)).values(last_occurred_at=FUTURE))


def poison_the_product(database: Database) -> None:
    """The course, its runs and its instructors, as if an event from 2099 had been applied."""
    poison(database, Course, Course.key, [COURSE_KEY])
    poison(database, CourseRun, CourseRun.key, list(RUN_KEYS))
    poison(database, Instructor, Instructor.external_id, list(INSTRUCTOR_IDS))


def clocks(database: Database) -> dict[str, datetime | None]:
    """`last_occurred_at` of every course, run, instructor and degree, by key / external id."""
    with database.read() as session:
        found: dict[str, datetime | None] = {}
        for key, last in session.execute(select(Course.key, Course.last_occurred_at)):
            found[key] = last
        for key, last in session.execute(select(CourseRun.key, CourseRun.last_occurred_at)):
            found[key] = last
        for external_id, last in session.execute(
            select(Instructor.external_id, Instructor.last_occurred_at)
        ):
            found[external_id] = last
        for slug, last in session.execute(select(Degree.marketing_slug, Degree.last_occurred_at)):
            found[slug] = last
    return {key: _utc(last) for key, last in found.items()}


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def instructor_uuid(database: Database, external_id: str) -> str:
    with database.read() as session:
        found = session.scalar(select(Instructor.uuid).where(Instructor.external_id == external_id))
    assert found is not None
    return str(found)


def test_a_poisoned_course_refuses_a_normal_event_as_stale(
    api: Api, database: Database, product: None
) -> None:
    """The situation reset-clock is for."""
    poison_the_product(database)

    response = api.send(envelope("p-1", product_payload(title="New"), occurred_at=now_iso()))

    assert response.status_code == 409, response.text
    assert response.json()["status"] == "stale"


def test_reset_clock_of_a_course_brings_it_its_runs_and_its_instructors_back_to_now(
    api: Api, database: Database, run_cli: Cli, product: None
) -> None:
    poison_the_product(database)
    before = datetime.now(UTC)

    result = run_cli("products", "reset-clock", COURSE_KEY)

    after = datetime.now(UTC)
    assert result.exit_code == 0, (result.output, result.exception)
    for key in (COURSE_KEY, *RUN_KEYS):
        assert key in result.output, result.output
    reset = clocks(database)
    for key in (COURSE_KEY, *RUN_KEYS, *INSTRUCTOR_IDS):
        last = reset[key]
        assert last is not None
        assert before.replace(microsecond=0) <= last <= after, (key, last)

    response = api.send(envelope("p-1", product_payload(title="New"), occurred_at=now_iso()))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    assert (api.course() or {})["title"] == "New"


def test_reset_clock_to_a_given_time_only_moves_clocks_later_than_it(
    api: Api, database: Database, run_cli: Cli, product: None
) -> None:
    poison(database, Course, Course.key, [COURSE_KEY])
    poison(database, CourseRun, CourseRun.key, [RUN_KEYS[0]])
    to = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    result = run_cli("products", "reset-clock", COURSE_KEY, "--to", "2026-11-28T12:00:00Z")

    assert result.exit_code == 0, (result.output, result.exception)
    reset = clocks(database)
    assert reset[COURSE_KEY] == to
    assert reset[RUN_KEYS[0]] == to
    assert reset[RUN_KEYS[1]] == T0  # earlier than --to: left alone
    assert {reset[i] for i in INSTRUCTOR_IDS} == {T0}

    response = api.send(envelope("p-1", product_payload(title="New"), occurred_at=occurred(3)))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"


def test_reset_clock_of_a_run_resets_that_run(
    database: Database, run_cli: Cli, product: None
) -> None:
    poison_the_product(database)

    result = run_cli("products", "reset-clock", RUN_KEYS[0], "--to", "2026-11-28T12:00:00Z")

    assert result.exit_code == 0, (result.output, result.exception)
    assert RUN_KEYS[0] in result.output
    reset = clocks(database)
    assert reset[RUN_KEYS[0]] == datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert reset[COURSE_KEY] == FUTURE  # another entity
    assert reset[RUN_KEYS[1]] == FUTURE


def test_reset_clock_of_a_degree_by_its_marketing_slug(
    api: Api, database: Database, run_cli: Cli, product: None
) -> None:
    degree = {
        "external_id": "deg-1",
        "marketing_slug": DEGREE_SLUG,
        "title": "Master of Data Science",
        "program_type": "masters",
        "organization": "MIT",
        "courses": ["xe-7001"],
    }
    sent = api.send(envelope("d-0", {"degree": degree}, "degree.upsert", occurred(0)))
    assert sent.status_code == 200, sent.text
    poison(database, Degree, Degree.marketing_slug, [DEGREE_SLUG])

    result = run_cli("products", "reset-clock", DEGREE_SLUG)

    assert result.exit_code == 0, (result.output, result.exception)
    assert DEGREE_SLUG in result.output
    reset = clocks(database)
    assert (reset[DEGREE_SLUG] or FUTURE) <= datetime.now(UTC)
    assert reset[COURSE_KEY] == T0
    degree["title"] = "Master of Data Science (online)"
    response = api.send(envelope("d-1", {"degree": degree}, "degree.upsert", now_iso()))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"


def test_reset_clock_of_an_instructor_by_its_uuid(
    api: Api, database: Database, run_cli: Cli, product: None
) -> None:
    poison(database, Instructor, Instructor.external_id, ["in-1", "in-2"])

    result = run_cli("products", "reset-clock", instructor_uuid(database, "in-1"))

    assert result.exit_code == 0, (result.output, result.exception)
    reset = clocks(database)
    assert (reset["in-1"] or FUTURE) <= datetime.now(UTC)
    assert reset["in-2"] == FUTURE  # another instructor
    event = envelope(
        "i-1", {"instructor": instructor_payload("in-1", bio="<p>New.</p>")}, "instructor.upsert"
    )
    event["occurred_at"] = now_iso()
    response = api.send(event)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"


@pytest.mark.parametrize(
    "key",
    [
        "MITx+NOPE101",
        "course-v1:MITx+NOPE101+1T2027",
        "no-such-degree",
        "00000000-0000-4000-8000-000000000000",
    ],
)
def test_reset_clock_of_an_unknown_key_exits_1_and_changes_nothing(
    database: Database, run_cli: Cli, product: None, key: str
) -> None:
    poison_the_product(database)
    before = clocks(database)

    result = run_cli("products", "reset-clock", key)

    assert result.exit_code == 1, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert clocks(database) == before
