"""Rows an event will touch, loaded in a few queries before its steps run.

Each step would otherwise look up its own rows one by one (the course, each run by external id
and then by dates, each run's seats and staff, each instructor): a dozen round trips for one
product. Loading them together costs the same handful of queries whatever the product's size.
What a step creates is added here too, so later steps of the same event find it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from catalog_gateway.catalog.models import Course, CourseRun, Instructor


@dataclass(slots=True)
class Prefetched:
    """The source's instructors and courses of one event, by external id.

    A lookup answers only for ids that were loaded (`None`: known not to exist); any other id
    raises KeyError so callers fall back to a query instead of mistaking "not loaded" for
    "does not exist".
    """

    instructors: dict[str, Instructor | None] = field(default_factory=dict)
    courses: dict[str, Course | None] = field(default_factory=dict)

    def knows_instructor(self, external_id: str) -> bool:
        """True if the instructor's row (or its absence) is known."""
        return external_id in self.instructors

    def knows_course(self, external_id: str) -> bool:
        """True if the course's row (or its absence) is known."""
        return external_id in self.courses


class Absent(Protocol):
    """What is known not to exist (e.g. from a lighter load of the same request)."""

    def absent_instructors(self, external_ids: Iterable[str]) -> set[str]: ...

    def absent_courses(self, external_ids: Iterable[str]) -> set[str]: ...


def prefetch(
    session: Session,
    source_id: int,
    *,
    instructor_ids: Iterable[str] = (),
    course_ids: Iterable[str] = (),
    absent: Absent | None = None,
) -> Prefetched:
    """Load the source's instructors and courses (runs, seats, staff and subjects included);
    those `absent` knows not to exist are known as such without a query."""
    found = Prefetched()
    wanted_instructors = set(instructor_ids)
    if wanted_instructors:
        found.instructors = dict.fromkeys(wanted_instructors)
        if absent is not None:
            wanted_instructors -= absent.absent_instructors(wanted_instructors)
    if wanted_instructors:
        for instructor in session.scalars(
            _INSTRUCTORS, {"source_id": source_id, "external_ids": list(wanted_instructors)}
        ):
            found.instructors[instructor.external_id] = instructor
    wanted_courses = set(course_ids)
    if wanted_courses:
        found.courses = dict.fromkeys(wanted_courses)
        if absent is not None:
            wanted_courses -= absent.absent_courses(wanted_courses)
    if wanted_courses:
        for course in session.scalars(
            _COURSES, {"source_id": source_id, "external_ids": list(wanted_courses)}
        ):
            found.courses[course.external_id] = course
    return found


# Built once: building and keying a statement costs more than running it.
_INSTRUCTORS = select(Instructor).where(
    Instructor.source_id == bindparam("source_id"),
    Instructor.external_id.in_(bindparam("external_ids", expanding=True)),
)
_RUNS = selectinload(Course.runs)
_COURSES = (
    select(Course)
    .where(
        Course.source_id == bindparam("source_id"),
        Course.external_id.in_(bindparam("external_ids", expanding=True)),
    )
    .options(
        selectinload(Course.subject_links),
        _RUNS.selectinload(CourseRun.seats),
        _RUNS.selectinload(CourseRun.staff_links),
    )
)
