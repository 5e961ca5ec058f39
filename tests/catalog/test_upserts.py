"""Catalog upserts (DESIGN §3): identity by (source, external_id), keys derived once and kept,
change detection (`modified` moves only on a real change), ownership, references, retirement
and stale-event protection. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog_gateway.catalog.changes import Action, Upserted
from catalog_gateway.catalog.courses import find_course, retire_course, upsert_course
from catalog_gateway.catalog.degrees import find_degree, retire_degree, upsert_degree
from catalog_gateway.catalog.inputs import CourseInput, CourseRunInput, DegreeInput, SeatInput
from catalog_gateway.catalog.instructors import upsert_instructor
from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    Degree,
    Instructor,
    Organization,
    ProductStatus,
    RunStatus,
    Seat,
)
from catalog_gateway.catalog.organizations import ensure_organization
from catalog_gateway.catalog.runs import SeatChanges, sync_seats, upsert_course_run
from catalog_gateway.catalog.state import CatalogState, CourseRow, DegreeRow, InstructorRow, RunRow
from catalog_gateway.catalog.status import transition
from catalog_gateway.db.engine import Database
from catalog_gateway.errors import (
    CatalogGatewayError,
    ConflictError,
    ErrorCode,
    InvalidValueError,
    NotFoundError,
    NotOwnerError,
    StaleEventError,
    UnknownReferenceError,
)
from catalog_gateway.sources.service import get_source, map_organization_code
from tests.factories import (
    at,
    catalog,
    course_input,
    degree_input,
    instructor_input,
    make_organization,
    make_source,
    organization,
    run_input,
    seat_input,
    vocabulary,
)

SOURCE = "exec-ed"
OTHER = "bootcamps"
COURSE_KEY = "MITx+DS101"
RUN_KEY = "course-v1:MITx+DS101+1T2027"


@pytest.fixture
def source(database: Database) -> str:
    """The exec-ed source and a second source, `bootcamps`; MITx is known."""
    with database.unit_of_work() as session:
        make_organization(session)
        make_source(session, SOURCE, rate="50/second", burst=100)
        make_source(session, OTHER, rate="50/second", burst=100)
    return SOURCE


# --- helpers: one unit of work per call ------------------------------------------------------
#
# Each writes through a `CatalogState` of the source (`tests.factories.catalog`): what the upsert
# changed is written when the block ends, so the row returned has its id.


def put_instructor(
    database: Database, data: Any = None, *, slug: str = SOURCE, occurred_at: datetime | None = None
) -> Upserted[InstructorRow]:
    with database.unit_of_work() as session, catalog(session, source_id(session, slug)) as state:
        return upsert_instructor(state, data or instructor_input(), occurred_at=occurred_at)


def put_course(
    database: Database,
    data: CourseInput | None = None,
    *,
    slug: str = SOURCE,
    occurred_at: datetime | None = None,
) -> Upserted[CourseRow]:
    data = data or course_input()
    with database.unit_of_work() as session:
        owner = source_id(session, slug)
        with catalog(session, owner) as state:
            return upsert_course(
                state,
                data,
                vocabulary(session),
                organization(session, owner, data.organization),
                occurred_at=occurred_at,
            )


def put_run(
    database: Database,
    data: CourseRunInput | None = None,
    *,
    course: str = "xe-7001",
    slug: str = SOURCE,
    occurred_at: datetime | None = None,
) -> Upserted[RunRow]:
    with database.unit_of_work() as session, catalog(session, source_id(session, slug)) as state:
        parent = find_course(state, external_id=course)
        return upsert_course_run(
            state, parent, data or run_input(), vocabulary(session), occurred_at=occurred_at
        )


def put_seats(database: Database, seats: Sequence[SeatInput], *, run: str = RUN_KEY) -> SeatChanges:
    with database.unit_of_work() as session:
        stored = run_by_key(session, run)
        with catalog(session, stored.course.source_id) as state:
            return sync_seats(state, held_run(state, stored), seats, vocabulary(session))


def put_degree(
    database: Database,
    data: DegreeInput | None = None,
    *,
    slug: str = SOURCE,
    occurred_at: datetime | None = None,
) -> Upserted[DegreeRow]:
    data = data or degree_input()
    with database.unit_of_work() as session:
        owner = source_id(session, slug)
        with catalog(session, owner) as state:
            return upsert_degree(
                state,
                data,
                vocabulary(session),
                organization(session, owner, data.organization),
                occurred_at=occurred_at,
            )


def retire(
    database: Database,
    key: str = COURSE_KEY,
    *,
    slug: str = SOURCE,
    occurred_at: datetime | None = None,
) -> Upserted[CourseRow]:
    with database.unit_of_work() as session, catalog(session, source_id(session, slug)) as state:
        return retire_course(state, find_course(state, key=key), occurred_at=occurred_at)


def source_id(session: Session, slug: str = SOURCE) -> int:
    return get_source(session, slug).id


def held_run(state: CatalogState, stored: CourseRun) -> RunRow:
    """The state's row of a stored run (held with its course)."""
    [run] = [r for r in find_course(state, key=stored.course.key).runs if r.key == stored.key]
    return run


def course_by_key(session: Session, key: str = COURSE_KEY) -> Course:
    return session.scalars(select(Course).where(Course.key == key)).one()


def run_by_key(session: Session, key: str = RUN_KEY) -> CourseRun:
    return session.scalars(select(CourseRun).where(CourseRun.key == key)).one()


def stored_instructor(session: Session, external_id: str = "in-1") -> Instructor | None:
    return session.scalar(
        select(Instructor).where(
            Instructor.source_id == source_id(session), Instructor.external_id == external_id
        )
    )


def stored_degree(session: Session, external_id: str = "deg-1") -> Degree:
    return session.scalars(
        select(Degree).where(
            Degree.source_id == source_id(session), Degree.external_id == external_id
        )
    ).one()


def run_keys(database: Database) -> list[str]:
    with database.read() as session:
        return list(session.scalars(select(CourseRun.key).order_by(CourseRun.id)))


def course_modified(database: Database, key: str = COURSE_KEY) -> datetime:
    with database.read() as session:
        return course_by_key(session, key).modified


def run_modified(database: Database, key: str = RUN_KEY) -> datetime:
    with database.read() as session:
        return run_by_key(session, key).modified


def assert_error(error: CatalogGatewayError, code: ErrorCode, field: str | None = None) -> None:
    assert error.code == code
    if field is not None:
        assert error.field == field


# --- organizations --------------------------------------------------------------------------


def test_ensure_organization_creates_keeps_then_renames(database: Database) -> None:
    with database.unit_of_work() as session:
        assert ensure_organization(session, "HarvardX", "Harvard").action is Action.CREATED
    with database.read() as session:
        before = session.scalars(select(Organization).where(Organization.key == "HarvardX")).one()
        modified = before.modified
    with database.unit_of_work() as session:
        assert ensure_organization(session, "HarvardX", "Harvard").action is Action.UNCHANGED
    with database.read() as session:
        same = session.scalars(select(Organization).where(Organization.key == "HarvardX")).one()
        assert same.modified == modified
    with database.unit_of_work() as session:
        result = ensure_organization(session, "HarvardX", "Harvard University")
        assert result.action is Action.UPDATED
    with database.read() as session:
        renamed = session.scalars(select(Organization).where(Organization.key == "HarvardX")).one()
        assert renamed.name == "Harvard University"
        assert renamed.modified > modified
        assert session.scalar(select(func.count()).select_from(Organization)) == 1


# --- instructors ----------------------------------------------------------------------------


def test_new_instructor_is_created_with_its_position(database: Database, source: str) -> None:
    result = put_instructor(database)
    assert result.action is Action.CREATED
    with database.read() as session:
        instructor = stored_instructor(session)
        assert instructor is not None
        assert (instructor.given_name, instructor.family_name) == ("Ada", "Lovelace")
        assert (instructor.position_title, instructor.position_organization) == (
            "Professor",
            "MIT",
        )
        assert instructor.uuid == result.entity.uuid


def test_identical_instructor_upsert_is_unchanged_and_keeps_modified(
    database: Database, source: str
) -> None:
    first = put_instructor(database)
    second = put_instructor(database)
    assert second.action is Action.UNCHANGED
    assert second.entity.id == first.entity.id
    with database.read() as session:
        stored = session.get(Instructor, first.entity.id)
        assert stored is not None
        assert stored.modified == first.entity.modified


def test_changed_instructor_upsert_is_updated_and_moves_modified(
    database: Database, source: str
) -> None:
    first = put_instructor(database)
    second = put_instructor(database, instructor_input(position=None, bio="<p>Poet.</p>"))
    assert second.action is Action.UPDATED
    with database.read() as session:
        stored = session.get(Instructor, first.entity.id)
        assert stored is not None
        assert stored.bio == "<p>Poet.</p>"
        assert stored.position_title is None
        assert stored.modified > first.entity.modified


def test_instructors_of_two_sources_with_the_same_external_id_are_different_people(
    database: Database, source: str
) -> None:
    mine = put_instructor(database)
    theirs = put_instructor(database, instructor_input(given_name="Grace"), slug=OTHER)
    assert theirs.action is Action.CREATED
    assert theirs.entity.id != mine.entity.id
    with database.read() as session:
        assert session.get_one(Instructor, mine.entity.id).given_name == "Ada"


def test_older_instructor_event_is_stale_and_changes_nothing(
    database: Database, source: str
) -> None:
    put_instructor(database, occurred_at=at(2027, 1, 10))
    with pytest.raises(StaleEventError) as raised:
        put_instructor(database, instructor_input(given_name="Old"), occurred_at=at(2027, 1, 9))
    assert raised.value.code == ErrorCode.STALE
    with database.read() as session:
        stored = stored_instructor(session)
        assert stored is not None
        assert stored.given_name == "Ada"
        assert stored.last_occurred_at == at(2027, 1, 10)


# --- courses --------------------------------------------------------------------------------


def test_new_course_gets_the_key_org_plus_number_and_its_data(
    database: Database, source: str
) -> None:
    result = put_course(database)
    assert result.action is Action.CREATED
    with database.read() as session:
        course = course_by_key(session)
        assert course.external_id == "xe-7001"
        assert course.organization.key == "MITx"
        assert course.source.slug == SOURCE
        assert course.subjects == ["computer-science", "data-analysis-statistics"]
        assert course.product_status is ProductStatus.PUBLISHED
        assert course.entitlement_price == Decimal("2800.00")
        assert course.entitlement_seat_type == "paid-executive-education"
        assert course.marketing is not None
        assert course.marketing["facts"] == [{"heading": "90%", "blurb": "would recommend"}]


def test_identical_course_upsert_is_unchanged_and_keeps_modified(
    database: Database, source: str
) -> None:
    put_course(database)
    before = course_modified(database)
    result = put_course(database)
    assert result.action is Action.UNCHANGED
    assert course_modified(database) == before


def test_course_upsert_with_an_equal_price_written_differently_is_unchanged(
    database: Database, source: str
) -> None:
    put_course(database)
    entitlement = {"seat_type": "paid-executive-education", "price": "2800", "currency": "USD"}
    result = put_course(database, course_input(entitlement=entitlement))
    assert result.action is Action.UNCHANGED


def test_changed_course_upsert_is_updated_and_moves_modified(
    database: Database, source: str
) -> None:
    put_course(database)
    before = course_modified(database)
    result = put_course(database, course_input(title="Data Science for Executives"))
    assert result.action is Action.UPDATED
    assert course_modified(database) > before
    with database.read() as session:
        assert course_by_key(session).title == "Data Science for Executives"


def test_reordering_course_subjects_is_an_update_keeping_the_new_order(
    database: Database, source: str
) -> None:
    put_course(database)
    reordered = ["data-analysis-statistics", "computer-science"]
    result = put_course(database, course_input(subjects=reordered))
    assert result.action is Action.UPDATED
    with database.read() as session:
        assert course_by_key(session).subjects == reordered


def test_course_key_is_kept_when_the_number_changes(database: Database, source: str) -> None:
    put_course(database)
    result = put_course(database, course_input(number="DS201"))
    assert result.action is Action.UPDATED
    with database.read() as session:
        course = session.scalars(select(Course)).one()
        assert (course.key, course.number) == (COURSE_KEY, "DS201")


def test_course_key_is_kept_when_the_organization_changes(database: Database, source: str) -> None:
    put_course(database)
    with database.unit_of_work() as session:
        ensure_organization(session, "HarvardX", "Harvard")
    put_course(database, course_input(organization="HarvardX"))
    with database.read() as session:
        course = session.scalars(select(Course)).one()
        assert (course.key, course.organization.key) == (COURSE_KEY, "HarvardX")


def test_course_key_taken_by_another_course_of_the_same_source_is_a_conflict(
    database: Database, source: str
) -> None:
    put_course(database)
    with pytest.raises(ConflictError) as raised:
        put_course(database, course_input(external_id="xe-7002"))
    assert_error(raised.value, ErrorCode.COURSE_KEY_TAKEN, "number")
    assert "xe-7001" in raised.value.message
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Course)) == 1


def test_old_number_of_a_renumbered_course_stays_taken(database: Database, source: str) -> None:
    put_course(database)
    put_course(database, course_input(number="DS201"))
    with pytest.raises(ConflictError):
        put_course(database, course_input(external_id="xe-7002", number="DS101"))
    created = put_course(database, course_input(external_id="xe-7003", number="DS201"))
    assert created.action is Action.CREATED
    assert created.entity.key == "MITx+DS201"


def test_course_key_of_another_sources_course_is_not_owned(database: Database, source: str) -> None:
    put_course(database, slug=OTHER)
    with pytest.raises(NotOwnerError) as raised:
        put_course(database, course_input(external_id="mine-1"))
    assert_error(raised.value, ErrorCode.NOT_OWNER)
    with database.read() as session:
        course = session.scalars(select(Course)).one()
        assert course.source.slug == OTHER


def test_same_external_id_in_two_sources_is_two_courses(database: Database, source: str) -> None:
    put_course(database)
    theirs = put_course(database, course_input(number="BC1"), slug=OTHER)
    assert theirs.action is Action.CREATED
    assert theirs.entity.key == "MITx+BC1"


def test_find_course_by_key_of_another_sources_course_is_not_owned(
    database: Database, source: str
) -> None:
    put_course(database, slug=OTHER)
    with (
        pytest.raises(NotOwnerError),
        database.read() as session,
        catalog(session, source_id(session, SOURCE)) as state,
    ):
        find_course(state, key=COURSE_KEY)
    with database.read() as session, catalog(session, source_id(session, OTHER)) as state:
        found = find_course(state, key=COURSE_KEY)
        assert found.external_id == "xe-7001"


def test_find_course_by_external_id_only_sees_the_sources_own_courses(
    database: Database, source: str
) -> None:
    put_course(database, slug=OTHER)
    with (
        pytest.raises(NotFoundError) as raised,
        database.read() as session,
        catalog(session, source_id(session, SOURCE)) as state,
    ):
        find_course(state, external_id="xe-7001")
    assert_error(raised.value, ErrorCode.UNKNOWN_COURSE)


def test_find_course_of_an_unknown_key_is_unknown_course(database: Database, source: str) -> None:
    with (
        pytest.raises(NotFoundError) as raised,
        database.read() as session,
        catalog(session, source_id(session, SOURCE)) as state,
    ):
        find_course(state, key="MITx+NOPE")
    assert_error(raised.value, ErrorCode.UNKNOWN_COURSE)


def test_course_of_an_unknown_organization_is_refused(database: Database, source: str) -> None:
    with pytest.raises(UnknownReferenceError) as raised:
        put_course(database, course_input(organization="NopeX"))
    assert_error(raised.value, ErrorCode.UNKNOWN_ORGANIZATION, "organization")


def test_course_organization_resolves_through_the_sources_own_code(
    database: Database, source: str
) -> None:
    with database.unit_of_work() as session:
        map_organization_code(session, SOURCE, "MIT", "MITx")
    result = put_course(database, course_input(organization="MIT"))
    assert result.entity.key == COURSE_KEY
    with database.read() as session:
        assert course_by_key(session).organization.key == "MITx"
    with pytest.raises(UnknownReferenceError) as raised:
        put_course(database, course_input(organization="MIT"), slug=OTHER)
    assert_error(raised.value, ErrorCode.UNKNOWN_ORGANIZATION)


def test_sources_own_code_wins_over_an_organization_key(database: Database, source: str) -> None:
    with database.unit_of_work() as session:
        ensure_organization(session, "HarvardX", "Harvard")
        map_organization_code(session, SOURCE, "HarvardX", "MITx")
    assert put_course(database, course_input(organization="HarvardX")).entity.key == COURSE_KEY


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"course_type": "cooking"}, ErrorCode.UNKNOWN_COURSE_TYPE),
        ({"level": "expert"}, ErrorCode.UNKNOWN_LEVEL),
        ({"subjects": ["computer-science", "astrology"]}, ErrorCode.UNKNOWN_SUBJECT),
        (
            {"entitlement": {"seat_type": "gold", "price": "1.00", "currency": "USD"}},
            ErrorCode.UNKNOWN_SEAT_TYPE,
        ),
    ],
)
def test_course_naming_an_unknown_vocabulary_value_is_refused(
    database: Database, source: str, changes: dict[str, Any], code: ErrorCode
) -> None:
    with pytest.raises(UnknownReferenceError) as raised:
        put_course(database, course_input(**changes))
    assert_error(raised.value, code)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Course)) == 0


@pytest.mark.parametrize("price", ["0.00", "0.10", "0.01", "19.99", "2800.00", "99999999.99"])
def test_entitlement_price_is_exact_after_a_round_trip(
    database: Database, source: str, price: str
) -> None:
    entitlement = {"seat_type": "paid-executive-education", "price": price, "currency": "USD"}
    put_course(database, course_input(entitlement=entitlement))
    with database.read() as session:
        stored = course_by_key(session).entitlement_price
    assert stored == Decimal(price)
    assert str(stored) == price


def test_older_course_event_is_stale_and_changes_nothing(database: Database, source: str) -> None:
    put_course(database, occurred_at=at(2027, 1, 10, 12))
    before = course_modified(database)
    with pytest.raises(StaleEventError) as raised:
        put_course(database, course_input(title="Old title"), occurred_at=at(2027, 1, 10, 11))
    assert_error(raised.value, ErrorCode.STALE)
    with database.read() as session:
        course = course_by_key(session)
        assert course.title == "Data Science for Leaders"
        assert course.modified == before
        assert course.last_occurred_at == at(2027, 1, 10, 12)


def test_stale_course_event_is_refused_before_touching_the_course(
    database: Database, source: str
) -> None:
    put_course(database, occurred_at=at(2027, 1, 10))
    with database.unit_of_work() as session:
        owner = source_id(session)
        with catalog(session, owner) as state:
            with pytest.raises(StaleEventError):
                upsert_course(
                    state,
                    course_input(title="Old title", subjects=["history"]),
                    vocabulary(session),
                    organization(session, owner),
                    occurred_at=at(2027, 1, 9),
                )
            held = state.course("xe-7001")
            assert held is not None
            assert held.title == "Data Science for Leaders"
            assert held.subjects == ["computer-science", "data-analysis-statistics"]
        # The state the refusal left is written when the block ends: the course as it was.
        course = course_by_key(session)
        assert course.title == "Data Science for Leaders"
        assert course.subjects == ["computer-science", "data-analysis-statistics"]


def test_course_event_of_the_same_or_a_later_time_is_applied(
    database: Database, source: str
) -> None:
    put_course(database, occurred_at=at(2027, 1, 10))
    same = put_course(database, course_input(title="Same time"), occurred_at=at(2027, 1, 10))
    assert same.action is Action.UPDATED
    later = put_course(database, course_input(title="Later"), occurred_at=at(2027, 1, 11))
    assert later.action is Action.UPDATED
    undated = put_course(database, course_input(title="Undated"))
    assert undated.action is Action.UPDATED
    with database.read() as session:
        course = course_by_key(session)
        assert course.title == "Undated"
        assert course.last_occurred_at == at(2027, 1, 11)


def test_identical_course_with_a_newer_event_is_unchanged_but_remembers_the_time(
    database: Database, source: str
) -> None:
    put_course(database, occurred_at=at(2027, 1, 10))
    before = course_modified(database)
    assert put_course(database, occurred_at=at(2027, 1, 12)).action is Action.UNCHANGED
    with database.read() as session:
        course = course_by_key(session)
        assert course.modified == before
        assert course.last_occurred_at == at(2027, 1, 12)
    with pytest.raises(StaleEventError):
        put_course(database, occurred_at=at(2027, 1, 11))


# --- course runs ----------------------------------------------------------------------------


@pytest.fixture
def course(database: Database, source: str) -> str:
    put_course(database)
    return COURSE_KEY


def test_new_run_gets_the_key_of_its_course_and_start_term(database: Database, course: str) -> None:
    result = put_run(database)
    assert result.action is Action.CREATED
    with database.read() as session:
        run = run_by_key(session)
        assert run.course.key == COURSE_KEY
        assert run.external_id == "variant-1"
        assert run.status is RunStatus.UNPUBLISHED
        assert (run.start, run.end) == (at(2027, 2, 1), at(2027, 3, 29, 23, 59))
        assert run.transcript_languages == ["en-US"]
        assert (run.min_effort, run.max_effort, run.weeks_to_complete) == (4, 6, 8)


def test_identical_run_upsert_is_unchanged_and_keeps_modified(
    database: Database, course: str
) -> None:
    put_run(database)
    before = run_modified(database)
    result = put_run(database)
    assert result.action is Action.UNCHANGED
    assert run_modified(database) == before


def test_same_run_sent_in_another_time_zone_is_unchanged(database: Database, course: str) -> None:
    put_run(database)
    paris = timezone(timedelta(hours=1))
    same_instants = run_input(
        start=at(2027, 2, 1).astimezone(paris),
        end=at(2027, 3, 29, 23, 59).astimezone(paris),
        enrollment_end=at(2027, 1, 25).astimezone(paris),
    )
    assert put_run(database, same_instants).action is Action.UNCHANGED
    assert put_run(database, run_input(None)).action is Action.CREATED
    matched_by_dates = run_input(None, start=same_instants.start, end=same_instants.end)
    assert put_run(database, matched_by_dates).action is Action.UNCHANGED
    assert run_keys(database) == [RUN_KEY, RUN_KEY + "a"]


def test_changed_run_upsert_is_updated_and_moves_modified(database: Database, course: str) -> None:
    put_run(database)
    before = run_modified(database)
    result = put_run(database, run_input(weeks_to_complete=10))
    assert result.action is Action.UPDATED
    assert run_modified(database) > before
    with database.read() as session:
        assert run_by_key(session).weeks_to_complete == 10


def test_run_is_matched_by_external_id_and_keeps_its_key_when_dates_move(
    database: Database, course: str
) -> None:
    created = put_run(database)
    moved = put_run(database, run_input(start=at(2027, 6, 1), end=at(2027, 8, 1)))
    assert moved.action is Action.UPDATED
    assert moved.entity.id == created.entity.id
    assert run_keys(database) == [RUN_KEY]
    with database.read() as session:
        assert run_by_key(session).start == at(2027, 6, 1)


def test_run_without_external_id_is_matched_by_its_dates(database: Database, course: str) -> None:
    created = put_run(database, run_input(None))
    again = put_run(database, run_input(None, weeks_to_complete=9))
    assert again.action is Action.UPDATED
    assert again.entity.id == created.entity.id
    assert run_keys(database) == [RUN_KEY]


def test_run_without_external_id_and_other_dates_is_a_new_run(
    database: Database, course: str
) -> None:
    put_run(database, run_input(None))
    other = put_run(database, run_input(None, end=at(2027, 4, 5)))
    assert other.action is Action.CREATED
    assert run_keys(database) == [RUN_KEY, RUN_KEY + "a"]


def test_second_variant_with_the_same_dates_gets_a_key_with_suffix_a(
    database: Database, course: str
) -> None:
    put_run(database)
    second = put_run(database, run_input("variant-2"))
    assert second.action is Action.CREATED
    assert second.entity.key == RUN_KEY + "a"
    third = put_run(database, run_input("variant-3"))
    assert third.entity.key == RUN_KEY + "b"
    assert put_run(database, run_input("variant-2")).action is Action.UNCHANGED
    assert run_keys(database) == [RUN_KEY, RUN_KEY + "a", RUN_KEY + "b"]


def test_run_without_external_id_never_merges_into_a_variant_of_the_same_dates(
    database: Database, course: str
) -> None:
    put_run(database)
    plain = put_run(database, run_input(None))
    assert plain.action is Action.CREATED
    assert plain.entity.key == RUN_KEY + "a"


def test_run_matched_by_dates_adopts_the_external_id_sent(database: Database, course: str) -> None:
    created = put_run(database, run_input(None))
    adopted = put_run(database, run_input("variant-7"))
    assert adopted.action is Action.UPDATED
    assert adopted.entity.id == created.entity.id
    with database.read() as session:
        run = run_by_key(session)
        assert run.external_id == "variant-7"
    assert put_run(database, run_input("variant-7")).action is Action.UNCHANGED
    assert run_keys(database) == [RUN_KEY]


def test_runs_of_the_same_term_in_two_courses_do_not_clash(database: Database, course: str) -> None:
    put_course(database, course_input(external_id="xe-7002", number="DS102"))
    put_run(database)
    other = put_run(database, course="xe-7002")
    assert other.entity.key == "course-v1:MITx+DS102+1T2027"


def test_run_staff_are_the_sources_instructors_in_order(database: Database, course: str) -> None:
    put_instructor(database, instructor_input("in-1"))
    put_instructor(database, instructor_input("in-2", given_name="Grace"))
    put_run(database, run_input(staff=["in-2", "in-1"]))
    with database.read() as session:
        assert [i.external_id for i in run_by_key(session).staff] == ["in-2", "in-1"]


def test_reordering_run_staff_is_an_update_keeping_the_new_order(
    database: Database, course: str
) -> None:
    put_instructor(database, instructor_input("in-1"))
    put_instructor(database, instructor_input("in-2", given_name="Grace"))
    put_run(database, run_input(staff=["in-1", "in-2"]))
    assert put_run(database, run_input(staff=["in-1", "in-2"])).action is Action.UNCHANGED
    result = put_run(database, run_input(staff=["in-2", "in-1"]))
    assert result.action is Action.UPDATED
    with database.read() as session:
        assert [i.external_id for i in run_by_key(session).staff] == ["in-2", "in-1"]


def test_run_staff_naming_an_unknown_instructor_is_refused(database: Database, course: str) -> None:
    put_instructor(database, instructor_input("in-1"))
    with pytest.raises(UnknownReferenceError) as raised:
        put_run(database, run_input(staff=["in-1", "in-404"]))
    assert_error(raised.value, ErrorCode.UNKNOWN_INSTRUCTOR, "staff")
    assert "in-404" in raised.value.message
    assert run_keys(database) == []


def test_run_staff_cannot_name_another_sources_instructor(database: Database, course: str) -> None:
    put_instructor(database, instructor_input("in-9"), slug=OTHER)
    with pytest.raises(UnknownReferenceError) as raised:
        put_run(database, run_input(staff=["in-9"]))
    assert_error(raised.value, ErrorCode.UNKNOWN_INSTRUCTOR)


def test_run_type_not_allowed_for_the_course_type_is_refused(
    database: Database, course: str
) -> None:
    with pytest.raises(UnknownReferenceError) as raised:
        put_run(database, run_input(run_type="verified-audit"))
    assert_error(raised.value, ErrorCode.RUN_TYPE_NOT_ALLOWED, "run_type")
    assert run_keys(database) == []


def test_unknown_run_type_is_refused(database: Database, course: str) -> None:
    with pytest.raises(UnknownReferenceError) as raised:
        put_run(database, run_input(run_type="gold"))
    assert_error(raised.value, ErrorCode.UNKNOWN_RUN_TYPE, "run_type")


@pytest.mark.parametrize("end", [at(2027, 2, 1), at(2027, 1, 31, 23, 59)], ids=["equal", "before"])
def test_run_that_does_not_end_after_it_starts_is_refused(
    database: Database, course: str, end: datetime
) -> None:
    with pytest.raises(InvalidValueError) as raised:
        put_run(database, run_input(end=end))
    assert_error(raised.value, ErrorCode.INVALID_DATE, "end")
    assert run_keys(database) == []


def test_run_prices_are_exact_after_a_round_trip(database: Database, course: str) -> None:
    put_run(database, run_input(fixed_price_usd="99999999.99"))
    with database.read() as session:
        assert str(run_by_key(session).fixed_price_usd) == "99999999.99"


def test_older_run_event_is_stale_and_changes_nothing(database: Database, course: str) -> None:
    put_run(database, occurred_at=at(2027, 1, 10))
    before = run_modified(database)
    with pytest.raises(StaleEventError):
        put_run(database, run_input(weeks_to_complete=12), occurred_at=at(2027, 1, 9))
    with database.read() as session:
        run = run_by_key(session)
        assert run.weeks_to_complete == 8
        assert run.modified == before


# --- seats ----------------------------------------------------------------------------------


@pytest.fixture
def audit_run(database: Database, source: str) -> str:
    """A verified-and-audit course with one run, and no seats yet."""
    data = course_input("vx-1", number="CS50", course_type="verified-audit", entitlement=None)
    put_course(database, data)
    put_run(database, run_input("v-1", run_type="verified-audit", seats=[]), course="vx-1")
    return "course-v1:MITx+CS50+1T2027"


def audit_seats(verified_price: str = "49.00") -> list[SeatInput]:
    return [
        seat_input("0.00", type="audit"),
        seat_input(verified_price, type="verified"),
        seat_input("45.00", type="verified", currency="EUR"),
    ]


def seats_of(database: Database, run: str) -> list[tuple[str, str, Decimal, str | None]]:
    with database.read() as session:
        return [
            (seat.type, seat.currency, seat.price, seat.sku)
            for seat in run_by_key(session, run).seats
        ]


def test_sync_seats_creates_the_seats_sent(database: Database, audit_run: str) -> None:
    changes = put_seats(database, audit_seats(), run=audit_run)
    assert [s.action for s in changes.seats] == [Action.CREATED] * 3
    assert changes.removed == []
    assert seats_of(database, audit_run) == [
        ("audit", "USD", Decimal("0.00"), None),
        ("verified", "USD", Decimal("49.00"), None),
        ("verified", "EUR", Decimal("45.00"), None),
    ]


def test_identical_seats_are_unchanged_and_keep_the_runs_modified(
    database: Database, audit_run: str
) -> None:
    put_seats(database, audit_seats(), run=audit_run)
    before = run_modified(database, audit_run)
    changes = put_seats(database, audit_seats(), run=audit_run)
    assert not changes.changed
    assert [s.action for s in changes.seats] == [Action.UNCHANGED] * 3
    assert run_modified(database, audit_run) == before


def test_seat_price_change_updates_the_seat_keeps_its_sku_and_moves_the_run(
    database: Database, audit_run: str
) -> None:
    put_seats(database, audit_seats(), run=audit_run)
    with database.unit_of_work() as session:
        for seat in run_by_key(session, audit_run).seats:
            seat.sku = f"SKU-{seat.type}-{seat.currency}"
    before = run_modified(database, audit_run)
    changes = put_seats(database, audit_seats(verified_price="59.00"), run=audit_run)
    assert [s.action for s in changes.seats] == [Action.UNCHANGED, Action.UPDATED, Action.UNCHANGED]
    assert ("verified", "USD", Decimal("59.00"), "SKU-verified-USD") in seats_of(
        database, audit_run
    )
    assert run_modified(database, audit_run) > before


def test_sync_seats_removes_the_seats_not_sent(database: Database, audit_run: str) -> None:
    put_seats(database, audit_seats(), run=audit_run)
    before = run_modified(database, audit_run)
    changes = put_seats(database, [seat_input("49.00", type="verified")], run=audit_run)
    assert sorted((s.type, s.currency) for s in changes.removed) == [
        ("audit", "USD"),
        ("verified", "EUR"),
    ]
    assert seats_of(database, audit_run) == [("verified", "USD", Decimal("49.00"), None)]
    assert run_modified(database, audit_run) > before
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Seat)) == 1


def test_sync_seats_with_no_seats_removes_them_all(database: Database, audit_run: str) -> None:
    put_seats(database, audit_seats(), run=audit_run)
    assert len(put_seats(database, [], run=audit_run).removed) == 3
    assert seats_of(database, audit_run) == []


def test_seat_type_not_allowed_for_the_run_type_is_refused(database: Database, course: str) -> None:
    put_run(database)
    with pytest.raises(UnknownReferenceError) as raised:
        put_seats(database, [seat_input("49.00", type="verified")])
    assert_error(raised.value, ErrorCode.SEAT_TYPE_NOT_ALLOWED, "type")
    assert seats_of(database, RUN_KEY) == []


def test_unknown_seat_type_is_refused(database: Database, course: str) -> None:
    put_run(database)
    with pytest.raises(UnknownReferenceError) as raised:
        put_seats(database, [seat_input("49.00", type="platinum")])
    assert_error(raised.value, ErrorCode.UNKNOWN_SEAT_TYPE)


def test_two_seats_of_the_same_type_and_currency_are_refused(
    database: Database, audit_run: str
) -> None:
    put_seats(database, [seat_input("0.00", type="audit")], run=audit_run)
    duplicate = [seat_input("49.00", type="verified"), seat_input("59.00", type="verified")]
    with pytest.raises(ConflictError) as raised:
        put_seats(database, duplicate, run=audit_run)
    assert_error(raised.value, ErrorCode.DUPLICATE_SEAT, "seats")
    assert seats_of(database, audit_run) == [("audit", "USD", Decimal("0.00"), None)]


@pytest.mark.parametrize("price", ["0.00", "0.10", "0.01", "19.99", "99999999.99"])
def test_seat_price_is_exact_after_a_round_trip(
    database: Database, course: str, price: str
) -> None:
    put_run(database)
    put_seats(database, [seat_input(price)])
    [(_, _, stored, _)] = seats_of(database, RUN_KEY)
    assert stored == Decimal(price)
    assert str(stored) == price
    assert not put_seats(database, [seat_input(price)]).changed


# --- retirement -----------------------------------------------------------------------------


def publish_run(database: Database, key: str = RUN_KEY) -> None:
    with database.unit_of_work() as session:
        transition(run_by_key(session, key), RunStatus.PUBLISHED)


def test_retire_course_archives_the_course_and_every_run(database: Database, course: str) -> None:
    put_run(database)
    put_run(database, run_input("variant-2", start=at(2027, 9, 1), end=at(2027, 11, 1)))
    publish_run(database)
    before = run_modified(database)
    result = retire(database)
    assert result.action is Action.UPDATED
    with database.read() as session:
        retired = course_by_key(session)
        assert retired.product_status is ProductStatus.ARCHIVED
        assert [run.status for run in retired.runs] == [RunStatus.ARCHIVED] * 2
        assert run_by_key(session).modified > before


def test_retiring_a_retired_course_is_unchanged(database: Database, course: str) -> None:
    put_run(database)
    retire(database)
    before = course_modified(database)
    assert retire(database).action is Action.UNCHANGED
    assert course_modified(database) == before


def test_retirement_older_than_the_last_event_is_stale(database: Database, source: str) -> None:
    put_course(database, occurred_at=at(2027, 1, 10))
    with pytest.raises(StaleEventError):
        retire(database, occurred_at=at(2027, 1, 9))
    with database.read() as session:
        assert course_by_key(session).product_status is ProductStatus.PUBLISHED


def test_retired_course_sent_again_comes_back_published_with_its_runs_unpublished(
    database: Database, course: str
) -> None:
    put_run(database)
    publish_run(database)
    retire(database)
    restored = put_course(database)
    assert restored.action is Action.UPDATED
    run = put_run(database)
    assert run.action is Action.UPDATED
    with database.read() as session:
        course_row = course_by_key(session)
        assert course_row.product_status is ProductStatus.PUBLISHED
        assert [r.status for r in course_row.runs] == [RunStatus.UNPUBLISHED]
        assert course_row.key == COURSE_KEY
        assert [r.key for r in course_row.runs] == [RUN_KEY]


# --- degrees --------------------------------------------------------------------------------


@pytest.fixture
def two_courses(database: Database, source: str) -> list[str]:
    put_course(database)
    put_course(database, course_input("xe-7002", number="DS102"))
    return ["xe-7001", "xe-7002"]


def degree_course_keys(database: Database, slug: str = "masters-data-science") -> list[str]:
    with database.read() as session:
        degree = session.scalars(select(Degree).where(Degree.marketing_slug == slug)).one()
        return [c.key for c in degree.courses]


def test_new_degree_is_created_with_its_courses_in_order(
    database: Database, two_courses: list[str]
) -> None:
    result = put_degree(database, degree_input(courses=["xe-7002", "xe-7001"]))
    assert result.action is Action.CREATED
    assert degree_course_keys(database) == ["MITx+DS102", "MITx+DS101"]
    with database.read() as session:
        degree = stored_degree(session)
        assert degree.id == result.entity.id
        assert degree.organization.key == "MITx"
        assert degree.specializations == ["Machine Learning"]
        assert degree.product_status is ProductStatus.PUBLISHED


def test_identical_degree_upsert_is_unchanged_and_keeps_modified(
    database: Database, two_courses: list[str]
) -> None:
    first = put_degree(database, degree_input(courses=two_courses))
    second = put_degree(database, degree_input(courses=two_courses))
    assert second.action is Action.UNCHANGED
    with database.read() as session:
        assert session.get_one(Degree, first.entity.id).modified == first.entity.modified


def test_reordering_degree_courses_is_an_update_keeping_the_new_order(
    database: Database, two_courses: list[str]
) -> None:
    first = put_degree(database, degree_input(courses=["xe-7001", "xe-7002"]))
    result = put_degree(database, degree_input(courses=["xe-7002", "xe-7001"]))
    assert result.action is Action.UPDATED
    assert degree_course_keys(database) == ["MITx+DS102", "MITx+DS101"]
    with database.read() as session:
        assert session.get_one(Degree, first.entity.id).modified > first.entity.modified


def test_degree_courses_may_be_named_by_course_key(
    database: Database, two_courses: list[str]
) -> None:
    put_degree(database, degree_input(courses=["MITx+DS102", "xe-7001"]))
    assert degree_course_keys(database) == ["MITx+DS102", "MITx+DS101"]


def test_degree_naming_an_unknown_course_is_refused(
    database: Database, two_courses: list[str]
) -> None:
    with pytest.raises(UnknownReferenceError) as raised:
        put_degree(database, degree_input(courses=["xe-7001", "xe-404"]))
    assert_error(raised.value, ErrorCode.UNKNOWN_COURSE, "courses")
    assert "xe-404" in raised.value.message
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Degree)) == 0


def test_degree_cannot_name_another_sources_course_by_its_external_id(
    database: Database, source: str
) -> None:
    put_course(database, course_input("theirs-1", number="BC1"), slug=OTHER)
    with pytest.raises(UnknownReferenceError) as raised:
        put_degree(database, degree_input(courses=["theirs-1"]))
    assert_error(raised.value, ErrorCode.UNKNOWN_COURSE)


def test_degree_marketing_slug_taken_by_the_same_source_is_a_conflict(
    database: Database, source: str
) -> None:
    put_degree(database)
    with pytest.raises(ConflictError) as raised:
        put_degree(database, degree_input("deg-2"))
    assert_error(raised.value, ErrorCode.MARKETING_SLUG_TAKEN, "marketing_slug")
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Degree)) == 1


def test_degree_marketing_slug_of_another_source_is_not_owned(
    database: Database, source: str
) -> None:
    put_degree(database, slug=OTHER)
    with pytest.raises(NotOwnerError) as raised:
        put_degree(database, degree_input("deg-2"))
    assert_error(raised.value, ErrorCode.NOT_OWNER)


def test_degree_may_move_to_a_free_marketing_slug(database: Database, source: str) -> None:
    first = put_degree(database)
    moved = put_degree(database, degree_input(marketing_slug="ms-data-science"))
    assert moved.action is Action.UPDATED
    assert moved.entity.id == first.entity.id
    taken_back = put_degree(database, degree_input("deg-2"))
    assert taken_back.action is Action.CREATED


def test_degree_naming_an_unknown_program_type_is_refused(database: Database, source: str) -> None:
    with pytest.raises(UnknownReferenceError) as raised:
        put_degree(database, degree_input(program_type="diploma"))
    assert_error(raised.value, ErrorCode.UNKNOWN_PROGRAM_TYPE, "program_type")


def test_retired_degree_sent_again_is_published(database: Database, source: str) -> None:
    put_degree(database)
    with database.unit_of_work() as session, catalog(session, source_id(session)) as state:
        degree = find_degree(state, "deg-1")
        assert retire_degree(state, degree).action is Action.UPDATED
    with database.read() as session:
        archived = stored_degree(session)
        assert archived.product_status is ProductStatus.ARCHIVED
    assert put_degree(database).action is Action.UPDATED
    with database.read() as session:
        restored = stored_degree(session)
        assert restored.product_status is ProductStatus.PUBLISHED


def test_older_degree_event_is_stale_and_changes_nothing(database: Database, source: str) -> None:
    put_degree(database, occurred_at=at(2027, 1, 10))
    with pytest.raises(StaleEventError):
        put_degree(database, degree_input(title="Old"), occurred_at=at(2027, 1, 9))
    with database.read() as session:
        assert stored_degree(session).title == "Master of Data Science"
