"""Catalog reads: courses, runs, instructors, degrees, organizations (cursor-paginated), and
the subjects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from catalog_gateway.api.dependencies import Paging, ReadSession, catalog_reader
from catalog_gateway.api.problems import problem_responses
from catalog_gateway.api.protection import ThrottledReads
from catalog_gateway.api.representations import (
    CourseOut,
    CourseRunOut,
    DegreeOut,
    InstructorOut,
    OrganizationOut,
    PageOut,
    SubjectOut,
    course_out,
    course_run_out,
    degree_out,
    instructor_out,
    organization_out,
)
from catalog_gateway.catalog import queries
from catalog_gateway.catalog.models import ProductStatus, RunStatus
from catalog_gateway.catalog.subjects import list_subjects

router = APIRouter(
    prefix="/api/v1",
    tags=["catalog"],
    dependencies=[Depends(catalog_reader), ThrottledReads],
    responses=problem_responses(400, 401, 429),
)


def catalog_filter(
    source: Annotated[str | None, Query(description="Owner source slug.")] = None,
    organization: Annotated[str | None, Query(description="Organization key.")] = None,
    modified_since: Annotated[
        datetime | None, Query(description="Only what changed at or after this time (RFC 3339).")
    ] = None,
) -> queries.CatalogFilter:
    """The filters every catalog list shares."""
    return queries.CatalogFilter(
        source=source, organization=organization, modified_since=modified_since
    )


Filters = Annotated[queries.CatalogFilter, Depends(catalog_filter)]


@router.get("/courses", summary="List courses with their runs and seats")
def list_courses(
    session: ReadSession,
    filters: Filters,
    paging: Paging,
    status: Annotated[ProductStatus | None, Query(description="Product status.")] = None,
) -> PageOut[CourseOut]:
    page = queries.list_courses(
        session, filters, status=status, cursor=paging.cursor, limit=paging.limit
    )
    return PageOut(results=[course_out(course) for course in page.results], next=page.next)


@router.get("/courses/{key}", summary="One course by key", responses=problem_responses(404))
def get_course(session: ReadSession, key: str) -> CourseOut:
    return course_out(queries.get_course(session, key))


@router.get("/course-runs", summary="List course runs with their seats")
def list_course_runs(
    session: ReadSession,
    filters: Filters,
    paging: Paging,
    status: Annotated[RunStatus | None, Query(description="Run status.")] = None,
    course: Annotated[str | None, Query(description="Course key.")] = None,
) -> PageOut[CourseRunOut]:
    page = queries.list_course_runs(
        session, filters, status=status, course=course, cursor=paging.cursor, limit=paging.limit
    )
    return PageOut(
        results=[course_run_out(run, run.course.key) for run in page.results], next=page.next
    )


@router.get("/course-runs/{key}", summary="One course run by key", responses=problem_responses(404))
def get_course_run(session: ReadSession, key: str) -> CourseRunOut:
    run = queries.get_course_run(session, key)
    return course_run_out(run, run.course.key)


@router.get(
    "/instructors/{instructor_uuid}",
    summary="One instructor by uuid",
    responses=problem_responses(404),
)
def get_instructor(session: ReadSession, instructor_uuid: uuid.UUID) -> InstructorOut:
    return instructor_out(queries.get_instructor(session, instructor_uuid))


@router.get("/degrees", summary="List degrees")
def list_degrees(
    session: ReadSession,
    filters: Filters,
    paging: Paging,
    status: Annotated[ProductStatus | None, Query(description="Product status.")] = None,
) -> PageOut[DegreeOut]:
    page = queries.list_degrees(
        session, filters, status=status, cursor=paging.cursor, limit=paging.limit
    )
    return PageOut(results=[degree_out(degree) for degree in page.results], next=page.next)


@router.get(
    "/degrees/{slug}", summary="One degree by marketing slug", responses=problem_responses(404)
)
def get_degree(session: ReadSession, slug: str) -> DegreeOut:
    return degree_out(queries.get_degree(session, slug))


@router.get("/organizations", summary="List organizations")
def list_organizations(
    session: ReadSession,
    paging: Paging,
    modified_since: Annotated[datetime | None, Query()] = None,
) -> PageOut[OrganizationOut]:
    page = queries.list_organizations(
        session, modified_since=modified_since, cursor=paging.cursor, limit=paging.limit
    )
    return PageOut(
        results=[organization_out(organization) for organization in page.results],
        next=page.next,
    )


@router.get("/subjects", summary="List subjects")
def list_subject_reference(session: ReadSession) -> PageOut[SubjectOut]:
    """Every subject, by slug, on one page (`next` is always null): the values a course's
    `subjects` and a degree's `primary_subject` take. Operators add and rename them with
    `catalog-gateway subjects`."""
    return PageOut(
        results=[SubjectOut(slug=s.slug, name=s.name) for s in list_subjects(session)],
        next=None,
    )
