"""Reading catalog rows into a `CatalogState` with SQLAlchemy Core: a fixed number of queries
for any number of names (IN lists), and plain rows, no ORM objects.

    instructors          1 query (by the source's external ids)
    courses              1 query (by the source's external ids or by key), then their subjects,
                         runs, the runs' seats and staff: 4 more, and 1 for staff not held yet
    degrees              1 query, its course links 1, and the courses they name (as above)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Executable, bindparam, or_, select

from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    CourseSubject,
    Degree,
    DegreeCourse,
    Instructor,
    RunStaff,
    Seat,
)
from catalog_gateway.catalog.state import (
    CourseRow,
    DegreeRow,
    InstructorRow,
    Loader,
    RunRow,
    SeatRow,
)
from catalog_gateway.db.base import table_of


class CoreLoader(Loader):
    """Loads rows on one connection (the transaction's)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _rows(self, statement: Executable, **parameters: Any) -> Sequence[Any]:
        return self.connection.execute(statement, parameters).mappings().all()

    def instructors(self, source_id: int, external_ids: Iterable[str]) -> list[InstructorRow]:
        ids = list(external_ids)
        if not ids:
            return []
        return [
            _saved(InstructorRow(**row))
            for row in self._rows(_INSTRUCTORS, source_id=source_id, external_ids=ids)
        ]

    def instructors_by_id(self, ids: Iterable[int]) -> list[InstructorRow]:
        wanted = list(ids)
        if not wanted:
            return []
        return [_saved(InstructorRow(**row)) for row in self._rows(_INSTRUCTORS_BY_ID, ids=wanted)]

    def courses(
        self,
        source_id: int,
        external_ids: Iterable[str],
        keys: Iterable[str],
        instructors: dict[int, InstructorRow],
        slugs: Iterable[str] = (),
    ) -> list[CourseRow]:
        ids, wanted_keys, wanted_slugs = list(external_ids), list(keys), list(slugs)
        if not (ids or wanted_keys or wanted_slugs):
            return []
        rows = self._rows(
            _COURSES, source_id=source_id, external_ids=ids, keys=wanted_keys, slugs=wanted_slugs
        )
        return self._complete([CourseRow(**row) for row in rows], instructors)

    def courses_by_id(
        self, ids: Iterable[int], instructors: dict[int, InstructorRow]
    ) -> list[CourseRow]:
        wanted = list(ids)
        if not wanted:
            return []
        rows = self._rows(_COURSES_BY_ID, ids=wanted)
        return self._complete([CourseRow(**row) for row in rows], instructors)

    def _complete(
        self, courses: list[CourseRow], held: dict[int, InstructorRow]
    ) -> list[CourseRow]:
        """Add the courses' subjects and runs (with seats and staff); mark them stored."""
        if not courses:
            return courses
        by_id = {course.id: course for course in courses}
        for row in self._rows(_SUBJECTS, course_ids=list(by_id)):
            by_id[row["course_id"]].subjects.append(row["subject"])
        runs: dict[int, RunRow] = {}
        for row in self._rows(_RUNS, course_ids=list(by_id)):
            values = dict(row)
            course = by_id[values.pop("course_id")]
            run = RunRow(course=course, **values)
            course.runs.append(run)
            assert run.id is not None
            runs[run.id] = run
        if runs:
            for row in self._rows(_SEATS, run_ids=list(runs)):
                values = dict(row)
                runs[values.pop("run_id")].seats.append(SeatRow(**values))
            staff: dict[int, list[int]] = defaultdict(list)
            for row in self._rows(_STAFF, run_ids=list(runs)):
                staff[row["run_id"]].append(row["instructor_id"])
            missing = {i for ids in staff.values() for i in ids if i not in held}
            people = dict(held) | {i.id: i for i in self.instructors_by_id(missing) if i.id}
            for run_id, instructor_ids in staff.items():
                runs[run_id].staff = [people[i] for i in instructor_ids]
        for course in courses:
            course.mark_saved()
            for run in course.runs:
                run.mark_saved()
        return courses

    def degrees(
        self,
        source_id: int,
        external_ids: Iterable[str],
        slugs: Iterable[str],
        instructors: dict[int, InstructorRow],
    ) -> list[DegreeRow]:
        ids, wanted_slugs = list(external_ids), list(slugs)
        if not (ids or wanted_slugs):
            return []
        rows = self._rows(_DEGREES, source_id=source_id, external_ids=ids, slugs=wanted_slugs)
        degrees = {row["id"]: DegreeRow(**row) for row in rows}
        if degrees:
            links = self._rows(_DEGREE_COURSES, degree_ids=list(degrees))
            named = {row["course_id"] for row in links}
            courses = {c.id: c for c in self.courses_by_id(named, instructors)}
            for row in links:
                degrees[row["degree_id"]].courses.append(courses[row["course_id"]])
        for degree in degrees.values():
            degree.mark_saved()
        return list(degrees.values())


def _saved(row: InstructorRow) -> InstructorRow:
    row.mark_saved()
    return row


def _columns(model: Any, *names: str) -> list[Any]:
    table = table_of(model)
    return [table.c[name] for name in names]


# Built once: building and keying a statement costs more than running it.
_INSTRUCTORS = select(*_columns(Instructor, *InstructorRow.COLUMNS)).where(
    Instructor.source_id == bindparam("source_id"),
    Instructor.external_id.in_(bindparam("external_ids", expanding=True)),
)
_INSTRUCTORS_BY_ID = select(*_columns(Instructor, *InstructorRow.COLUMNS)).where(
    Instructor.id.in_(bindparam("ids", expanding=True))
)
_COURSES = select(*_columns(Course, *CourseRow.COLUMNS)).where(
    or_(
        (Course.source_id == bindparam("source_id"))
        & Course.external_id.in_(bindparam("external_ids", expanding=True)),
        Course.key.in_(bindparam("keys", expanding=True)),
        Course.slug.in_(bindparam("slugs", expanding=True)),
    )
)
_COURSES_BY_ID = select(*_columns(Course, *CourseRow.COLUMNS)).where(
    Course.id.in_(bindparam("ids", expanding=True))
)
_SUBJECTS = (
    select(CourseSubject.course_id, CourseSubject.subject)
    .where(CourseSubject.course_id.in_(bindparam("course_ids", expanding=True)))
    .order_by(CourseSubject.course_id, CourseSubject.position)
)
_RUNS = (
    select(*_columns(CourseRun, "course_id", *RunRow.COLUMNS))
    .where(CourseRun.course_id.in_(bindparam("course_ids", expanding=True)))
    .order_by(CourseRun.start, CourseRun.id)
)
_SEATS = (
    select(*_columns(Seat, "run_id", "id", *SeatRow.COLUMNS))
    .where(Seat.run_id.in_(bindparam("run_ids", expanding=True)))
    .order_by(Seat.id)
)
_STAFF = (
    select(RunStaff.run_id, RunStaff.instructor_id)
    .where(RunStaff.run_id.in_(bindparam("run_ids", expanding=True)))
    .order_by(RunStaff.run_id, RunStaff.position)
)
_DEGREES = select(*_columns(Degree, *DegreeRow.COLUMNS)).where(
    or_(
        (Degree.source_id == bindparam("source_id"))
        & Degree.external_id.in_(bindparam("external_ids", expanding=True)),
        Degree.marketing_slug.in_(bindparam("slugs", expanding=True)),
    )
)
_DEGREE_COURSES = (
    select(DegreeCourse.degree_id, DegreeCourse.course_id)
    .where(DegreeCourse.degree_id.in_(bindparam("degree_ids", expanding=True)))
    .order_by(DegreeCourse.degree_id, DegreeCourse.position)
)
