"""Rows an event will touch, loaded in a few queries before its steps run.

Each step would otherwise look up its own rows one by one (the course, each run by external id
and then by dates, each run's seats and staff, each instructor): a dozen round trips for one
product. Loading them together costs the same handful of queries whatever the product's size.
What a step creates is added here too, so later steps of the same event find it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
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


def prefetch(
    session: Session,
    source_id: int,
    *,
    instructor_ids: Iterable[str] = (),
    course_ids: Iterable[str] = (),
) -> Prefetched:
    """Load the source's instructors and courses (runs, seats, staff and subjects included)."""
    found = Prefetched()
    wanted_instructors = set(instructor_ids)
    if wanted_instructors:
        found.instructors = dict.fromkeys(wanted_instructors)
        for instructor in session.scalars(
            select(Instructor).where(
                Instructor.source_id == source_id,
                Instructor.external_id.in_(wanted_instructors),
            )
        ):
            found.instructors[instructor.external_id] = instructor
    wanted_courses = set(course_ids)
    if wanted_courses:
        found.courses = dict.fromkeys(wanted_courses)
        runs = selectinload(Course.runs)
        for course in session.scalars(
            select(Course)
            .where(Course.source_id == source_id, Course.external_id.in_(wanted_courses))
            .options(
                selectinload(Course.subject_links),
                runs.selectinload(CourseRun.seats),
                runs.selectinload(CourseRun.staff_links),
            )
        ):
            found.courses[course.external_id] = course
    return found
