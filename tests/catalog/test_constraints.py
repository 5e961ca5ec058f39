"""The database itself enforces the catalog's uniqueness and integrity rules (DESIGN §3).

Rows are inserted directly through the ORM, bypassing the catalog service: the rules must hold
even for code that forgets to check them. Each refusal has a control insert that differs only in
the constrained value and is accepted, so an IntegrityError can only come from that rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog_gateway.auth.models import ApiKey
from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    Degree,
    Instructor,
    Organization,
    Pacing,
    Seat,
)
from catalog_gateway.db.engine import Database
from catalog_gateway.events.models import EventRecord
from catalog_gateway.migrations.metadata import Base
from catalog_gateway.sources.models import Source, SourceOrganizationCode
from tests.factories import at

START = at(2027, 2, 1)
END = at(2027, 3, 29, 23, 59)


@dataclass(frozen=True)
class World:
    """Ids of one row of each kind, all belonging to source `exec-ed` (plus a second source)."""

    source: int
    other_source: int
    organization: int
    instructor: int
    course: int
    other_course: int
    run: int
    degree: int


Build = Callable[[Session, World], object]


def _source(slug: str) -> Source:
    return Source(
        slug=slug,
        name=slug,
        transformer="canonical",
        rate="50/second",
        burst=10,
        allowed_event_types=["course.upsert"],
    )


def _course(source_id: int, organization_id: int, key: str, external_id: str) -> Course:
    return Course(
        key=key,
        source_id=source_id,
        external_id=external_id,
        organization_id=organization_id,
        number=key.split("+")[1],
        title="Data Science for Leaders",
        course_type="executive-education-2u",
    )


def _run(course_id: int, key: str, external_id: str | None, **changes: object) -> CourseRun:
    values: dict[str, object] = {
        "key": key,
        "course_id": course_id,
        "external_id": external_id,
        "start": START,
        "end": END,
        "pacing": Pacing.INSTRUCTOR_PACED,
        "run_type": "paid-executive-education",
    }
    return CourseRun(**(values | changes))


def _seat(run_id: int, **changes: object) -> Seat:
    values: dict[str, object] = {
        "run_id": run_id,
        "type": "paid-executive-education",
        "price": Decimal("2800.00"),
        "currency": "USD",
    }
    return Seat(**(values | changes))


def _degree(source_id: int, organization_id: int, external_id: str, slug: str) -> Degree:
    return Degree(
        source_id=source_id,
        external_id=external_id,
        marketing_slug=slug,
        title="Master of Data Science",
        program_type="masters",
        organization_id=organization_id,
    )


def _instructor(source_id: int, external_id: str) -> Instructor:
    return Instructor(source_id=source_id, external_id=external_id, given_name="Ada")


def _event(source_id: int, event_id: str) -> EventRecord:
    return EventRecord(
        source_id=source_id,
        event_id=event_id,
        event_type="course.upsert",
        payload_hash="0" * 64,
        raw_payload={"course": {"external_id": "xe-7001"}},
        status="applied",
        occurred_at=START,
    )


def _org_code(source_id: int, organization_id: int, code: str) -> SourceOrganizationCode:
    return SourceOrganizationCode(
        source_id=source_id, external_code=code, organization_id=organization_id
    )


@pytest.fixture
def world(database: Database) -> World:
    with database.unit_of_work() as session:
        source, other = _source("exec-ed"), _source("bootcamps")
        organization = Organization(key="MITx", name="Massachusetts Institute of Technology")
        session.add_all([source, other, organization])
        session.flush()
        instructor = _instructor(source.id, "in-1")
        course = _course(source.id, organization.id, "MITx+DS101", "xe-7001")
        other_course = _course(source.id, organization.id, "MITx+DS102", "xe-7002")
        session.add_all([instructor, course, other_course])
        session.flush()
        run = _run(course.id, "course-v1:MITx+DS101+1T2027", "variant-1")
        degree = _degree(source.id, organization.id, "deg-1", "masters-data-science")
        session.add_all([run, degree])
        session.flush()
        session.add_all(
            [
                _seat(run.id),
                _event(source.id, "evt-1"),
                _org_code(source.id, organization.id, "MIT"),
            ]
        )
        return World(
            source=source.id,
            other_source=other.id,
            organization=organization.id,
            instructor=instructor.id,
            course=course.id,
            other_course=other_course.id,
            run=run.id,
            degree=degree.id,
        )


def insert(database: Database, world: World, build: Build) -> None:
    with database.unit_of_work() as session:
        session.add(build(session, world))
        session.flush()


def assert_refused(database: Database, world: World, build: Build) -> None:
    with pytest.raises(IntegrityError):
        insert(database, world, build)


# (name, accepted: differs only in the constrained value, refused: clashes with the seeded row)
UNIQUE_RULES: list[tuple[str, Build, Build]] = [
    (
        "sources.slug",
        lambda s, w: _source("exec-ed-2"),
        lambda s, w: _source("exec-ed"),
    ),
    (
        "organizations.key",
        lambda s, w: Organization(key="HarvardX", name="Harvard"),
        lambda s, w: Organization(key="MITx", name="Another name"),
    ),
    (
        "instructors(source_id, external_id)",
        lambda s, w: _instructor(w.other_source, "in-1"),
        lambda s, w: _instructor(w.source, "in-1"),
    ),
    (
        "courses.key",
        lambda s, w: _course(w.other_source, w.organization, "MITx+DS999", "other-7001"),
        lambda s, w: _course(w.other_source, w.organization, "MITx+DS101", "other-7001"),
    ),
    (
        "courses(source_id, external_id)",
        lambda s, w: _course(w.other_source, w.organization, "MITx+DS999", "xe-7001"),
        lambda s, w: _course(w.source, w.organization, "MITx+DS999", "xe-7001"),
    ),
    (
        "course_runs.key",
        lambda s, w: _run(w.other_course, "course-v1:MITx+DS102+1T2027", "variant-9"),
        lambda s, w: _run(w.other_course, "course-v1:MITx+DS101+1T2027", "variant-9"),
    ),
    (
        "course_runs(course_id, external_id)",
        lambda s, w: _run(w.other_course, "course-v1:MITx+DS101+1T2027a", "variant-1"),
        lambda s, w: _run(w.course, "course-v1:MITx+DS101+1T2027a", "variant-1"),
    ),
    (
        "seats(run_id, type, currency)",
        lambda s, w: _seat(w.run, currency="EUR"),
        lambda s, w: _seat(w.run, price=Decimal("100.00")),
    ),
    (
        "degrees(source_id, external_id)",
        lambda s, w: _degree(w.other_source, w.organization, "deg-1", "other-slug"),
        lambda s, w: _degree(w.source, w.organization, "deg-1", "other-slug"),
    ),
    (
        "degrees.marketing_slug",
        lambda s, w: _degree(w.other_source, w.organization, "deg-9", "other-slug"),
        lambda s, w: _degree(w.other_source, w.organization, "deg-9", "masters-data-science"),
    ),
    (
        "event_records(source_id, event_id)",
        lambda s, w: _event(w.other_source, "evt-1"),
        lambda s, w: _event(w.source, "evt-1"),
    ),
    (
        "source_organization_codes(source_id, external_code)",
        lambda s, w: _org_code(w.other_source, w.organization, "MIT"),
        lambda s, w: _org_code(w.source, w.organization, "MIT"),
    ),
]


@pytest.mark.parametrize(
    ("accepted", "refused"),
    [(accepted, refused) for _, accepted, refused in UNIQUE_RULES],
    ids=[name for name, _, _ in UNIQUE_RULES],
)
def test_database_refuses_a_duplicate_of_a_unique_identity(
    database: Database, world: World, accepted: Build, refused: Build
) -> None:
    insert(database, world, accepted)
    assert_refused(database, world, refused)


def test_refused_duplicate_leaves_the_database_as_it_was(database: Database, world: World) -> None:
    assert_refused(
        database, world, lambda s, w: _course(w.source, w.organization, "MITx+DS101", "xe-9")
    )
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Course)) == 2


def test_runs_without_external_id_do_not_clash_with_each_other(
    database: Database, world: World
) -> None:
    insert(database, world, lambda s, w: _run(w.course, "course-v1:MITx+DS101+1T2027a", None))
    insert(database, world, lambda s, w: _run(w.course, "course-v1:MITx+DS101+1T2027b", None))
    with database.read() as session:
        count = select(func.count()).where(
            CourseRun.course_id == world.course, CourseRun.external_id.is_(None)
        )
        assert session.scalar(count) == 2


def test_database_refuses_a_negative_seat_price(database: Database, world: World) -> None:
    insert(database, world, lambda s, w: _seat(w.run, currency="EUR", price=Decimal("0.00")))
    assert_refused(
        database, world, lambda s, w: _seat(w.run, currency="GBP", price=Decimal("-0.01"))
    )


def test_database_refuses_a_seat_currency_that_is_not_three_letters(
    database: Database, world: World
) -> None:
    assert_refused(database, world, lambda s, w: _seat(w.run, currency="EU"))


@pytest.mark.parametrize("end", [START, START - timedelta(seconds=1)], ids=["equal", "before"])
def test_database_refuses_a_run_that_does_not_end_after_it_starts(
    database: Database, world: World, end: object
) -> None:
    insert(
        database,
        world,
        lambda s, w: _run(
            w.course, "course-v1:MITx+DS101+1T2027a", "v-ok", end=START + timedelta(seconds=1)
        ),
    )
    assert_refused(
        database, world, lambda s, w: _run(w.course, "course-v1:MITx+DS101+1T2027b", "v-2", end=end)
    )


def test_database_refuses_an_effort_range_upside_down(database: Database, world: World) -> None:
    insert(
        database,
        world,
        lambda s, w: _run(w.course, "course-v1:X+1", "v-ok", min_effort=4, max_effort=4),
    )
    assert_refused(
        database,
        world,
        lambda s, w: _run(w.course, "course-v1:X+2", "v-2", min_effort=6, max_effort=4),
    )


def test_database_refuses_a_negative_entitlement_price(database: Database, world: World) -> None:
    def course_with_price(price: str) -> Build:
        def build(session: Session, w: World) -> Course:
            course = _course(w.source, w.organization, f"MITx+P{price}", f"xe-{price}")
            course.entitlement_price = Decimal(price)
            return course

        return build

    insert(database, world, course_with_price("0.00"))
    assert_refused(database, world, course_with_price("-1.00"))


def test_database_refuses_an_api_key_both_admin_and_of_a_source(
    database: Database, world: World
) -> None:
    insert(database, world, lambda s, w: ApiKey(id="key_a", key_hash="a" * 64, source_id=w.source))
    insert(database, world, lambda s, w: ApiKey(id="key_b", key_hash="b" * 64, is_admin=True))
    assert_refused(
        database,
        world,
        lambda s, w: ApiKey(id="key_c", key_hash="c" * 64, is_admin=True, source_id=w.source),
    )
    assert_refused(database, world, lambda s, w: ApiKey(id="key_d", key_hash="d" * 64))


def test_database_enforces_foreign_keys_to_the_vocabulary(database: Database, world: World) -> None:
    insert(database, world, lambda s, w: _seat(w.run, type="audit"))
    assert_refused(database, world, lambda s, w: _seat(w.run, type="platinum"))


def test_database_enforces_foreign_keys_between_products(database: Database, world: World) -> None:
    assert_refused(database, world, lambda s, w: _seat(w.run + 1000))
    assert_refused(
        database, world, lambda s, w: _run(w.course + 1000, "course-v1:Nope+1T2027", "v-9")
    )


def test_migrations_create_exactly_the_schema_of_the_models(database: Database) -> None:
    with database.writer.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
