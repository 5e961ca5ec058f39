"""Catalog reads: filtered, paginated, and loaded in a fixed number of queries per page."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    Degree,
    DegreeCourse,
    Instructor,
    Organization,
    ProductStatus,
    RunStaff,
    RunStatus,
)
from catalog_gateway.catalog.pagination import Page, paginate
from catalog_gateway.errors import NotFoundError
from catalog_gateway.sources.models import Source

RowT = TypeVar("RowT")

_RUN_DETAILS = (
    selectinload(CourseRun.seats),
    selectinload(CourseRun.staff_links).selectinload(RunStaff.instructor),
)
_COURSE_DETAILS = (
    selectinload(Course.source),
    selectinload(Course.organization),
    selectinload(Course.subject_links),
    selectinload(Course.runs).selectinload(CourseRun.seats),
    selectinload(Course.runs).selectinload(CourseRun.staff_links).selectinload(RunStaff.instructor),
)
_DEGREE_DETAILS = (
    selectinload(Degree.source),
    selectinload(Degree.organization),
    selectinload(Degree.course_links).selectinload(DegreeCourse.course),
)


@dataclass(frozen=True, slots=True)
class CatalogFilter:
    """Filters shared by the catalog lists; None means 'any'."""

    source: str | None = None
    organization: str | None = None
    modified_since: datetime | None = None


def list_courses(
    session: Session,
    filters: CatalogFilter,
    *,
    status: ProductStatus | None = None,
    cursor: str | None,
    limit: int,
) -> Page[Course]:
    """Courses with their runs, seats and staff."""
    query = _filtered(select(Course), Course, filters).options(*_COURSE_DETAILS)
    if status is not None:
        query = query.where(Course.product_status == status)
    return paginate(session, query, Course.id, cursor=cursor, limit=limit)


def get_course(session: Session, key: str) -> Course:
    """One course by key."""
    course = session.scalar(select(Course).where(Course.key == key).options(*_COURSE_DETAILS))
    if course is None:
        raise NotFoundError(f"no course {key!r}")
    return course


def list_course_runs(
    session: Session,
    filters: CatalogFilter,
    *,
    status: RunStatus | None = None,
    course: str | None = None,
    cursor: str | None,
    limit: int,
) -> Page[CourseRun]:
    """Course runs with their seats and staff."""
    query = (
        select(CourseRun)
        .join(Course, CourseRun.course_id == Course.id)
        .options(selectinload(CourseRun.course), *_RUN_DETAILS)
    )
    query = _filtered(query, Course, filters, modified=CourseRun.modified)
    if status is not None:
        query = query.where(CourseRun.status == status)
    if course is not None:
        query = query.where(Course.key == course)
    return paginate(session, query, CourseRun.id, cursor=cursor, limit=limit)


def get_course_run(session: Session, key: str) -> CourseRun:
    """One course run by key."""
    run = session.scalar(
        select(CourseRun)
        .where(CourseRun.key == key)
        .options(selectinload(CourseRun.course), *_RUN_DETAILS)
    )
    if run is None:
        raise NotFoundError(f"no course run {key!r}")
    return run


def get_instructor(session: Session, instructor_uuid: uuid.UUID) -> Instructor:
    """One instructor by uuid."""
    instructor = session.scalar(
        select(Instructor)
        .where(Instructor.uuid == instructor_uuid)
        .options(selectinload(Instructor.source))
    )
    if instructor is None:
        raise NotFoundError(f"no instructor {instructor_uuid}")
    return instructor


def list_degrees(
    session: Session,
    filters: CatalogFilter,
    *,
    status: ProductStatus | None = None,
    cursor: str | None,
    limit: int,
) -> Page[Degree]:
    """Degrees with their courses, in order."""
    query = _filtered(select(Degree), Degree, filters).options(*_DEGREE_DETAILS)
    if status is not None:
        query = query.where(Degree.product_status == status)
    return paginate(session, query, Degree.id, cursor=cursor, limit=limit)


def get_degree(session: Session, marketing_slug: str) -> Degree:
    """One degree by marketing slug."""
    degree = session.scalar(
        select(Degree).where(Degree.marketing_slug == marketing_slug).options(*_DEGREE_DETAILS)
    )
    if degree is None:
        raise NotFoundError(f"no degree {marketing_slug!r}")
    return degree


def list_organizations(
    session: Session, *, modified_since: datetime | None, cursor: str | None, limit: int
) -> Page[Organization]:
    """Organizations."""
    query = select(Organization)
    if modified_since is not None:
        query = query.where(Organization.modified >= modified_since)
    return paginate(session, query, Organization.id, cursor=cursor, limit=limit)


def _filtered(
    query: Select[RowT],
    owner: type[Course] | type[Degree],
    filters: CatalogFilter,
    *,
    modified: InstrumentedAttribute[datetime] | None = None,
) -> Select[RowT]:
    """Apply source, organization and modified_since, read through `owner`'s columns."""
    if filters.source is not None:
        query = query.where(
            owner.source_id.in_(select(Source.id).where(Source.slug == filters.source))
        )
    if filters.organization is not None:
        query = query.where(
            owner.organization_id.in_(
                select(Organization.id).where(Organization.key == filters.organization)
            )
        )
    if filters.modified_since is not None:
        column = modified if modified is not None else owner.modified
        query = query.where(column >= filters.modified_since)
    return query
