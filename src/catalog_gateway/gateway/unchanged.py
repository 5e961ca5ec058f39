"""The unchanged fast path: an event that would write every entity as it already is.

A daily full re-sync sends the whole catalog again, almost all of it unchanged. Such an event is
recognised from a light load, made once for every event of a request (three queries whatever
their number): for each instructor, course and run it names, the fingerprint of the content last
written (`catalog.fingerprints`), the time of the newest event applied, and the status. When
every fingerprint matches, nothing is stale, nothing is retired and no run would be published,
the event's steps answer `unchanged` from this load: no row is loaded into the ORM and no
column is compared; the only writes are the clocks (`last_occurred_at`, as the full path moves
them) and the event-log row. The trace is the one the full path gives.

An event that misses any condition takes the full path. What the full path writes makes the
loaded state of those entities untrue for the rest of the request: they are marked `touched`,
and a later event naming them takes the full path too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Update, bindparam, or_, select, update
from sqlalchemy.orm import Session

from catalog_gateway.catalog.courses import course_fingerprint
from catalog_gateway.catalog.fingerprints import fingerprint
from catalog_gateway.catalog.inputs import CourseInput, CourseRunInput, InstructorInput
from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    Instructor,
    ProductStatus,
    RunStatus,
)
from catalog_gateway.catalog.runs import match_loaded_run
from catalog_gateway.catalog.state import Names
from catalog_gateway.catalog.status import is_published
from catalog_gateway.db.base import table_of
from catalog_gateway.errors import CatalogGatewayError
from catalog_gateway.events.payloads import (
    CourseReference,
    CourseRunUpsert,
    CourseUpsert,
    InstructorUpsert,
    Payload,
    ProductUpsert,
)
from catalog_gateway.gateway.names import names_of

# Resolves a source's organization code to the organization's id (raises when it cannot).
OrganizationIds = Callable[[str], int]


@dataclass(slots=True)
class LoadedInstructor:
    id: int
    uuid: uuid.UUID
    fingerprint: str | None
    last_occurred_at: datetime | None


@dataclass(slots=True)
class LoadedRun:
    id: int
    key: str
    external_id: str | None
    start: datetime
    end: datetime
    go_live_date: datetime | None
    status: RunStatus
    fingerprint: str | None
    last_occurred_at: datetime | None


@dataclass(slots=True)
class LoadedCourse:
    id: int
    key: str
    external_id: str
    fingerprint: str | None
    last_occurred_at: datetime | None
    product_status: ProductStatus
    runs: list[LoadedRun] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Unchanged:
    """An event found unchanged: what each of its steps reports, and the clocks to move."""

    instructors: dict[str, LoadedInstructor]  # the instructors it sends, by external id
    course: LoadedCourse | None  # the course it sends (not one it only names)
    runs: dict[int, LoadedRun]  # its runs, by index in the event


@dataclass(slots=True)
class Snapshot:
    """The fingerprint state of what a request's events name, by external id."""

    instructors: dict[str, LoadedInstructor] = field(default_factory=dict)
    courses: dict[str, LoadedCourse] = field(default_factory=dict)
    course_keys: dict[str, str] = field(default_factory=dict)  # key → external id
    touched_instructors: set[str] = field(default_factory=set)
    touched_courses: set[str] = field(default_factory=set)  # external ids or keys
    # What was looked for: an id looked for, not found and not touched since does not exist.
    sought_instructors: set[str] = field(default_factory=set)
    sought_courses: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session, source_id: int, names: Names) -> Snapshot:
        """Load, in at most three queries, the state of what the events name."""
        instructor_ids, course_ids, course_keys = (
            names.instructors,
            names.courses,
            names.course_keys,
        )
        snapshot = cls(sought_instructors=set(instructor_ids), sought_courses=set(course_ids))
        connection = session.connection()  # plain rows: no ORM object is built
        if instructor_ids:
            rows = connection.execute(
                _INSTRUCTORS, {"source_id": source_id, "external_ids": list(instructor_ids)}
            )
            for external_id, id_, uuid_, fingerprint_, last in rows:
                snapshot.instructors[external_id] = LoadedInstructor(id_, uuid_, fingerprint_, last)
        if course_ids or course_keys:
            courses = connection.execute(
                _COURSES,
                {
                    "source_id": source_id,
                    "external_ids": list(course_ids),
                    "keys": list(course_keys),
                },
            )
            by_id = {}
            for values in courses:
                course = LoadedCourse(*values)
                by_id[course.id] = snapshot.courses[course.external_id] = course
                snapshot.course_keys[course.key] = course.external_id
            if by_id:
                for course_id, *run in connection.execute(_RUNS, {"course_ids": list(by_id)}):
                    by_id[course_id].runs.append(LoadedRun(*run))
        return snapshot

    def absent_instructors(self, external_ids: Iterable[str]) -> set[str]:
        """Those of `external_ids` known not to exist."""
        return {
            i
            for i in external_ids
            if i in self.sought_instructors
            and i not in self.instructors
            and i not in self.touched_instructors
        }

    def absent_courses(self, external_ids: Iterable[str]) -> set[str]:
        """Those of the course `external_ids` known not to exist."""
        return {
            i
            for i in external_ids
            if i in self.sought_courses and i not in self.courses and i not in self.touched_courses
        }

    def course_exists(self, external_id: str) -> bool | None:
        """Whether the source has the course, if this load knows (see `validation.Known`)."""
        if external_id not in self.sought_courses or external_id in self.touched_courses:
            return None
        return external_id in self.courses

    def touch(self, payload: dict[str, Any]) -> None:
        """What an event taking the full path names may change: never match it again here."""
        names = names_of([payload])
        self.touched_instructors |= names.instructors
        self.touched_courses |= names.courses | names.course_keys
        self.touched_courses.update(
            self.course_keys[key] for key in names.course_keys if key in self.course_keys
        )

    def match(
        self,
        payload: Payload,
        occurred_at: datetime,
        now: datetime,
        organization_id: OrganizationIds,
    ) -> Unchanged | None:
        """The event's state if applying it would change nothing, else None."""
        if isinstance(payload, ProductUpsert | CourseUpsert):
            course = self._course(payload.course.external_id)
            if course is None or not self._same_course(
                course, payload.course, occurred_at, organization_id
            ):
                return None
            if isinstance(payload, CourseUpsert):
                return Unchanged({}, course, {})
            return self._with_runs(
                payload.instructors, course, course, payload.course_runs, occurred_at, now
            )
        if isinstance(payload, CourseRunUpsert):
            named = self._referenced(payload.course)
            if named is None:
                return None
            return self._with_runs(
                payload.instructors, None, named, [payload.run], occurred_at, now
            )
        if isinstance(payload, InstructorUpsert):
            return self._with_runs([payload.instructor], None, None, [], occurred_at, now)
        return None

    def moved_clocks(self, found: Unchanged, occurred_at: datetime) -> None:
        """Remember that `found`'s clocks now read at least `occurred_at` (a later event of the
        request that is older must be stale)."""
        entities: list[LoadedInstructor | LoadedCourse | LoadedRun] = [
            *found.instructors.values(),
            *found.runs.values(),
        ]
        if found.course is not None:
            entities.append(found.course)
        for entity in entities:
            if entity.last_occurred_at is None or entity.last_occurred_at < occurred_at:
                entity.last_occurred_at = occurred_at

    # --- matching ---------------------------------------------------------------------------

    def _course(self, external_id: str) -> LoadedCourse | None:
        if external_id in self.touched_courses:
            return None
        return self.courses.get(external_id)

    def _referenced(self, reference: CourseReference) -> LoadedCourse | None:
        if reference.external_id is not None:
            return self._course(reference.external_id)
        if reference.key is None or reference.key in self.touched_courses:
            return None
        external_id = self.course_keys.get(reference.key)
        return self._course(external_id) if external_id is not None else None

    @staticmethod
    def _same_course(
        course: LoadedCourse,
        data: CourseInput,
        occurred_at: datetime,
        organization_id: OrganizationIds,
    ) -> bool:
        if not (
            course.fingerprint is not None
            and course.product_status is ProductStatus.PUBLISHED
            and _fresh(course.last_occurred_at, occurred_at)
        ):
            return False
        try:
            organization = organization_id(data.organization)
        except CatalogGatewayError:  # the full path says why
            return False
        return course.fingerprint == course_fingerprint(data, organization)

    def _with_runs(
        self,
        instructors: list[InstructorInput],
        course: LoadedCourse | None,
        runs_of: LoadedCourse | None,
        runs: list[CourseRunInput],
        occurred_at: datetime,
        now: datetime,
    ) -> Unchanged | None:
        found_instructors = {}
        for data in instructors:
            instructor = self.instructors.get(data.external_id)
            if (
                instructor is None
                or data.external_id in self.touched_instructors
                or not _fresh(instructor.last_occurred_at, occurred_at)
                or instructor.fingerprint != fingerprint(data)
            ):
                return None
            found_instructors[data.external_id] = instructor
        found_runs: dict[int, LoadedRun] = {}
        for index, run_data in enumerate(runs):
            run = match_loaded_run(runs_of.runs, run_data) if runs_of is not None else None
            if (
                run is None
                or run in found_runs.values()
                or run.status is RunStatus.ARCHIVED
                or not is_published(run, now)
                or not _fresh(run.last_occurred_at, occurred_at)
                or run.fingerprint != fingerprint(run_data)
            ):
                return None
            found_runs[index] = run
        return Unchanged(found_instructors, course, found_runs)


def move_clocks(session: Session, found: Unchanged, occurred_at: datetime) -> None:
    """Move the clocks of an unchanged event's entities to `occurred_at` where it is newer, as
    the full path does (one UPDATE per table)."""
    connection = session.connection()
    for statement, ids in (
        (_MOVE_CLOCKS[Instructor], [i.id for i in found.instructors.values()]),
        (_MOVE_CLOCKS[Course], [found.course.id] if found.course is not None else []),
        (_MOVE_CLOCKS[CourseRun], [run.id for run in found.runs.values()]),
    ):
        if ids:
            connection.execute(statement, {"ids": ids, "occurred_at": occurred_at})


# The statements are built once: building and keying a statement costs more than running it.
_INSTRUCTORS = select(
    Instructor.external_id,
    Instructor.id,
    Instructor.uuid,
    Instructor.fingerprint,
    Instructor.last_occurred_at,
).where(
    Instructor.source_id == bindparam("source_id"),
    Instructor.external_id.in_(bindparam("external_ids", expanding=True)),
)
_COURSES = select(
    Course.id,
    Course.key,
    Course.external_id,
    Course.fingerprint,
    Course.last_occurred_at,
    Course.product_status,
).where(
    Course.source_id == bindparam("source_id"),
    or_(
        Course.external_id.in_(bindparam("external_ids", expanding=True)),
        Course.key.in_(bindparam("keys", expanding=True)),
    ),
)
_RUNS = (
    select(
        CourseRun.course_id,
        CourseRun.id,
        CourseRun.key,
        CourseRun.external_id,
        CourseRun.start,
        CourseRun.end,
        CourseRun.go_live_date,
        CourseRun.status,
        CourseRun.fingerprint,
        CourseRun.last_occurred_at,
    )
    .where(CourseRun.course_id.in_(bindparam("course_ids", expanding=True)))
    .order_by(CourseRun.start, CourseRun.id)
)


def _move_clocks(model: type[Instructor | Course | CourseRun]) -> Update:
    table = table_of(model)
    occurred_at = bindparam("occurred_at", type_=table.c.last_occurred_at.type)
    return (
        update(table)
        .where(
            table.c.id.in_(bindparam("ids", expanding=True)),
            or_(table.c.last_occurred_at.is_(None), table.c.last_occurred_at < occurred_at),
        )
        .values(last_occurred_at=occurred_at)
    )


_MOVE_CLOCKS = {model: _move_clocks(model) for model in (Instructor, Course, CourseRun)}


def _fresh(last: datetime | None, occurred_at: datetime) -> bool:
    """True if an event of `occurred_at` is not stale for an entity last changed at `last`."""
    return last is None or occurred_at >= last
