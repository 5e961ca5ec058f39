"""Catalog reads: cursor pagination and the source / organization / status / modified_since
filters of the course, course-run and degree lists."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog_gateway.catalog.courses import find_course, retire_course, upsert_course
from catalog_gateway.catalog.degrees import find_degree, retire_degree, upsert_degree
from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    Degree,
    Organization,
    ProductStatus,
    RunStatus,
)
from catalog_gateway.catalog.organizations import ensure_organization
from catalog_gateway.catalog.pagination import Page, decode_cursor, encode_cursor
from catalog_gateway.catalog.queries import (
    CatalogFilter,
    list_course_runs,
    list_courses,
    list_degrees,
    list_organizations,
)
from catalog_gateway.catalog.runs import upsert_course_run
from catalog_gateway.catalog.status import transition
from catalog_gateway.db.engine import Database
from catalog_gateway.errors import ErrorCode, InvalidValueError
from catalog_gateway.sources.service import get_source
from tests.factories import (
    at,
    course_input,
    degree_input,
    make_organization,
    make_source,
    run_input,
    vocabulary,
)
from tests.factories import catalog as catalog_state
from tests.factories import organization as organization_of

EVERYTHING = CatalogFilter()


def add_courses(
    database: Database, numbers: Sequence[str], *, slug: str = "exec-ed", organization: str = "MITx"
) -> None:
    with database.unit_of_work() as session:
        source_id = get_source(session, slug).id
        words = vocabulary(session)
        owner = organization_of(session, source_id, organization)
        with catalog_state(session, source_id) as state:
            for number in numbers:
                data = course_input(f"{slug}-{number}", number=number, organization=organization)
                course = upsert_course(state, data, words, owner).entity
                upsert_course_run(state, course, run_input(), words)


def set_modified(
    database: Database, model: type[Course | CourseRun | Degree], key: str, when: datetime
) -> None:
    column = {Course: Course.key, CourseRun: CourseRun.key, Degree: Degree.marketing_slug}[model]
    with database.unit_of_work() as session:
        session.execute(update(model).where(column == key).values(modified=when))
        assert session.scalar(select(model.modified).where(column == key)) == when


def all_pages(
    database: Database,
    fetch: Callable[[Session, str | None], Page[Any]],
    key: Callable[[Any], str],
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    with database.read() as session:
        while True:
            page = fetch(session, cursor)
            pages.append([key(row) for row in page.results])
            if page.next is None:
                return pages
            cursor = page.next
            assert len(pages) < 20, "pagination does not end"


def course_keys(
    database: Database, filters: CatalogFilter = EVERYTHING, **options: Any
) -> list[str]:
    with database.read() as session:
        page = list_courses(session, filters, cursor=None, limit=100, **options)
        return [course.key for course in page.results]


def run_keys(database: Database, filters: CatalogFilter = EVERYTHING, **options: Any) -> list[str]:
    with database.read() as session:
        page = list_course_runs(session, filters, cursor=None, limit=100, **options)
        return [run.key for run in page.results]


def degree_slugs(
    database: Database, filters: CatalogFilter = EVERYTHING, **options: Any
) -> list[str]:
    with database.read() as session:
        page = list_degrees(session, filters, cursor=None, limit=100, **options)
        return [degree.marketing_slug for degree in page.results]


@pytest.fixture
def catalog(database: Database) -> Database:
    """exec-ed: MITx+A1..A4 and HarvardX+H1; bootcamps: MITx+B1, MITx+B2 (one run each)."""
    with database.unit_of_work() as session:
        make_organization(session)
        make_source(session, "exec-ed", rate="50/second", burst=100)
        make_source(session, "bootcamps", rate="50/second", burst=100)
        ensure_organization(session, "HarvardX", "Harvard")
    add_courses(database, ["A1", "A2", "A3", "A4"])
    add_courses(database, ["H1"], organization="HarvardX")
    add_courses(database, ["B1", "B2"], slug="bootcamps")
    return database


ALL_COURSES = ["MITx+A1", "MITx+A2", "MITx+A3", "MITx+A4", "HarvardX+H1", "MITx+B1", "MITx+B2"]


def run_key(course: str) -> str:
    return f"course-v1:{course}+1T2027"


# --- pagination -----------------------------------------------------------------------------


def test_seven_courses_by_three_are_pages_of_three_three_and_one(catalog: Database) -> None:
    pages = all_pages(
        catalog,
        lambda session, cursor: list_courses(session, EVERYTHING, cursor=cursor, limit=3),
        lambda course: course.key,
    )
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [key for page in pages for key in page] == ALL_COURSES


def test_a_page_exactly_full_at_the_end_has_no_next(catalog: Database) -> None:
    with catalog.read() as session:
        page = list_courses(session, EVERYTHING, cursor=None, limit=7)
        assert len(page.results) == 7
        assert page.next is None
        short = list_courses(session, EVERYTHING, cursor=None, limit=6)
        assert short.next is not None


def test_pagination_of_runs_and_degrees_covers_every_row_once(catalog: Database) -> None:
    with catalog.unit_of_work() as session:
        source_id, words = get_source(session, "exec-ed").id, vocabulary(session)
        mitx = organization_of(session, source_id)
        with catalog_state(session, source_id) as state:
            for n in range(5):
                data = degree_input(f"d{n}", marketing_slug=f"deg-{n}")
                upsert_degree(state, data, words, mitx)
    runs = all_pages(
        catalog,
        lambda session, cursor: list_course_runs(session, EVERYTHING, cursor=cursor, limit=2),
        lambda run: run.key,
    )
    assert [len(page) for page in runs] == [2, 2, 2, 1]
    assert [key for page in runs for key in page] == [run_key(c) for c in ALL_COURSES]
    degrees = all_pages(
        catalog,
        lambda session, cursor: list_degrees(session, EVERYTHING, cursor=cursor, limit=2),
        lambda degree: degree.marketing_slug,
    )
    assert degrees == [["deg-0", "deg-1"], ["deg-2", "deg-3"], ["deg-4"]]


def test_rows_added_between_pages_neither_repeat_nor_shift_the_next_page(
    catalog: Database,
) -> None:
    with catalog.read() as session:
        first = list_courses(session, EVERYTHING, cursor=None, limit=3)
        seen = [course.key for course in first.results]
    add_courses(catalog, ["A5"])
    rest = all_pages(
        catalog,
        lambda session, cursor: list_courses(
            session, EVERYTHING, cursor=cursor or first.next, limit=3
        ),
        lambda course: course.key,
    )
    assert seen + [key for page in rest for key in page] == [*ALL_COURSES, "MITx+A5"]


def test_pagination_works_with_a_filter(catalog: Database) -> None:
    filters = CatalogFilter(source="exec-ed")
    pages = all_pages(
        catalog,
        lambda session, cursor: list_courses(session, filters, cursor=cursor, limit=2),
        lambda course: course.key,
    )
    assert pages == [["MITx+A1", "MITx+A2"], ["MITx+A3", "MITx+A4"], ["HarvardX+H1"]]


def test_cursor_round_trips_a_row_id() -> None:
    assert decode_cursor(encode_cursor(0)) == 0
    assert decode_cursor(encode_cursor(123456)) == 123456


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "",
        "%%%",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _b64({"after": -1}),
        _b64({"after": "12"}),
        _b64({"after": 1.5}),
        _b64({"after": True}),
        _b64({"before": 3}),
        _b64([3]),
        _b64(3),
    ],
)
def test_invalid_cursor_is_refused(catalog: Database, cursor: str) -> None:
    with pytest.raises(InvalidValueError) as raised, catalog.read() as session:
        list_courses(session, EVERYTHING, cursor=cursor, limit=3)
    assert raised.value.code == ErrorCode.INVALID_CURSOR
    assert raised.value.field == "cursor"


@pytest.mark.parametrize("after", [2**63, 10**30], ids=["2**63", "10**30"])
def test_cursor_beyond_any_row_id_is_an_invalid_cursor_not_a_database_error(
    catalog: Database, after: int
) -> None:
    # Well-formed JSON, but no id this service can hand out is that large: a tampered cursor.
    with pytest.raises(InvalidValueError) as raised, catalog.read() as session:
        list_courses(session, EVERYTHING, cursor=_b64({"after": after}), limit=3)
    assert raised.value.code == ErrorCode.INVALID_CURSOR


def test_cursor_beyond_the_id_column_range_is_not_a_database_error(catalog: Database) -> None:
    # 2**31 is past PostgreSQL's INTEGER ids: an empty last page or invalid_cursor are both fine.
    def outcome() -> object:
        try:
            with catalog.read() as session:
                page = list_courses(session, EVERYTHING, cursor=_b64({"after": 2**31}), limit=3)
                return (list(page.results), page.next)
        except InvalidValueError as error:
            return error.code

    assert outcome() in [([], None), ErrorCode.INVALID_CURSOR]


# --- courses --------------------------------------------------------------------------------


def test_list_courses_filters_by_source(catalog: Database) -> None:
    assert course_keys(catalog, CatalogFilter(source="bootcamps")) == ["MITx+B1", "MITx+B2"]
    assert course_keys(catalog, CatalogFilter(source="nobody")) == []


def test_list_courses_filters_by_organization(catalog: Database) -> None:
    assert course_keys(catalog, CatalogFilter(organization="HarvardX")) == ["HarvardX+H1"]
    assert course_keys(catalog, CatalogFilter(source="exec-ed", organization="MITx")) == [
        "MITx+A1",
        "MITx+A2",
        "MITx+A3",
        "MITx+A4",
    ]


def test_list_courses_filters_by_status(catalog: Database) -> None:
    with (
        catalog.unit_of_work() as session,
        catalog_state(session, get_source(session, "exec-ed").id) as state,
    ):
        retire_course(state, find_course(state, key="MITx+A2"))
    assert course_keys(catalog, status=ProductStatus.ARCHIVED) == ["MITx+A2"]
    published = course_keys(catalog, status=ProductStatus.PUBLISHED)
    assert published == [key for key in ALL_COURSES if key != "MITx+A2"]


def test_list_courses_filters_by_modified_since_inclusively(catalog: Database) -> None:
    for key in ALL_COURSES:
        set_modified(catalog, Course, key, at(2026, 1, 1))
    set_modified(catalog, Course, "MITx+A3", at(2026, 6, 1))
    set_modified(catalog, Course, "MITx+B1", at(2026, 7, 1))
    assert course_keys(catalog, CatalogFilter(modified_since=at(2026, 6, 1))) == [
        "MITx+A3",
        "MITx+B1",
    ]
    assert course_keys(catalog, CatalogFilter(modified_since=at(2026, 6, 1, 0, 1))) == ["MITx+B1"]
    assert len(course_keys(catalog, CatalogFilter(modified_since=at(2025, 1, 1)))) == 7


def test_list_courses_loads_runs_with_each_course(catalog: Database) -> None:
    with catalog.read() as session:
        page = list_courses(session, CatalogFilter(source="bootcamps"), cursor=None, limit=10)
        assert [[run.key for run in course.runs] for course in page.results] == [
            [run_key("MITx+B1")],
            [run_key("MITx+B2")],
        ]


# --- course runs ----------------------------------------------------------------------------


def test_list_course_runs_filters_by_the_courses_source_and_organization(
    catalog: Database,
) -> None:
    assert run_keys(catalog, CatalogFilter(source="bootcamps")) == [
        run_key("MITx+B1"),
        run_key("MITx+B2"),
    ]
    assert run_keys(catalog, CatalogFilter(organization="HarvardX")) == [run_key("HarvardX+H1")]
    assert run_keys(catalog, CatalogFilter(source="bootcamps", organization="HarvardX")) == []


def test_list_course_runs_filters_by_status_and_course(catalog: Database) -> None:
    with catalog.unit_of_work() as session:
        for key in (run_key("MITx+A1"), run_key("MITx+B2")):
            run = session.scalars(select(CourseRun).where(CourseRun.key == key)).one()
            transition(run, RunStatus.PUBLISHED)
    assert run_keys(catalog, status=RunStatus.PUBLISHED) == [
        run_key("MITx+A1"),
        run_key("MITx+B2"),
    ]
    assert len(run_keys(catalog, status=RunStatus.UNPUBLISHED)) == 5
    assert run_keys(catalog, course="MITx+A4") == [run_key("MITx+A4")]
    assert run_keys(catalog, status=RunStatus.PUBLISHED, course="MITx+A4") == []


def test_list_course_runs_modified_since_reads_the_runs_own_modified(catalog: Database) -> None:
    for key in ALL_COURSES:
        set_modified(catalog, Course, key, at(2026, 1, 1))
        set_modified(catalog, CourseRun, run_key(key), at(2026, 1, 1))
    set_modified(catalog, Course, "MITx+A1", at(2026, 9, 1))
    set_modified(catalog, CourseRun, run_key("MITx+A2"), at(2026, 9, 1))
    assert run_keys(catalog, CatalogFilter(modified_since=at(2026, 8, 1))) == [run_key("MITx+A2")]


# --- degrees --------------------------------------------------------------------------------


@pytest.fixture
def degrees(catalog: Database) -> Database:
    with catalog.unit_of_work() as session:
        words = vocabulary(session)
        exec_ed, bootcamps = get_source(session, "exec-ed").id, get_source(session, "bootcamps").id
        with catalog_state(session, exec_ed) as state:
            upsert_degree(
                state,
                degree_input("d1", marketing_slug="mit-1"),
                words,
                organization_of(session, exec_ed),
            )
            upsert_degree(
                state,
                degree_input("d2", marketing_slug="harvard-1", organization="HarvardX"),
                words,
                organization_of(session, exec_ed, "HarvardX"),
            )
        with catalog_state(session, bootcamps) as state:
            upsert_degree(
                state,
                degree_input("d3", marketing_slug="boot-1"),
                words,
                organization_of(session, bootcamps),
            )
    return catalog


def test_list_degrees_filters_by_source_and_organization(degrees: Database) -> None:
    assert degree_slugs(degrees, CatalogFilter(source="exec-ed")) == ["mit-1", "harvard-1"]
    assert degree_slugs(degrees, CatalogFilter(organization="MITx")) == ["mit-1", "boot-1"]
    assert degree_slugs(degrees, CatalogFilter(source="bootcamps", organization="MITx")) == [
        "boot-1"
    ]
    assert degree_slugs(degrees, CatalogFilter(organization="NopeX")) == []


def test_list_degrees_filters_by_status(degrees: Database) -> None:
    with (
        degrees.unit_of_work() as session,
        catalog_state(session, get_source(session, "exec-ed").id) as state,
    ):
        retire_degree(state, find_degree(state, "d2"))
    assert degree_slugs(degrees, status=ProductStatus.ARCHIVED) == ["harvard-1"]
    assert degree_slugs(degrees, status=ProductStatus.PUBLISHED) == ["mit-1", "boot-1"]


def test_list_degrees_filters_by_modified_since(degrees: Database) -> None:
    for slug in ("mit-1", "harvard-1", "boot-1"):
        set_modified(degrees, Degree, slug, at(2026, 1, 1))
    set_modified(degrees, Degree, "boot-1", at(2026, 3, 1))
    assert degree_slugs(degrees, CatalogFilter(modified_since=at(2026, 2, 1))) == ["boot-1"]
    assert degree_slugs(degrees, CatalogFilter(modified_since=at(2026, 1, 1))) == [
        "mit-1",
        "harvard-1",
        "boot-1",
    ]


# --- organizations --------------------------------------------------------------------------


def test_list_organizations_paginates_and_filters_by_modified_since(catalog: Database) -> None:
    with catalog.unit_of_work() as session:
        ensure_organization(session, "BerkeleyX", "Berkeley")
    with catalog.read() as session:
        first = list_organizations(session, modified_since=None, cursor=None, limit=2)
        assert [o.key for o in first.results] == ["MITx", "HarvardX"]
        second = list_organizations(session, modified_since=None, cursor=first.next, limit=2)
        assert [o.key for o in second.results] == ["BerkeleyX"]
        assert second.next is None
    with catalog.unit_of_work() as session:
        for organization in session.scalars(select(Organization)):
            organization.modified = at(2026, 1, 1)
        session.scalars(
            select(Organization).where(Organization.key == "HarvardX")
        ).one().modified = at(2026, 5, 1)
    with catalog.read() as session:
        recent = list_organizations(session, modified_since=at(2026, 4, 1), cursor=None, limit=10)
        assert [o.key for o in recent.results] == ["HarvardX"]
