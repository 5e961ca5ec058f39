"""The catalog as one request's events see it: plain rows, loaded together, changed in memory,
written together.

The event engine loads, with a fixed number of queries, every row the request's events name
(`catalog.loading`); the upserts change these rows in memory; `catalog.writing` then writes what
changed with one INSERT, UPDATE and DELETE per table. An event sees what the events before it
changed, and an event that is refused is undone in memory (`begin_event`, `undo_event`), so the
others still go out in the same bulk writes.

Rows mirror the tables' columns by name (`_mirror` checks it on import). A row keeps
its column values as they were stored (`saved`; None for a row not stored yet): the writer
compares the two.
"""

from __future__ import annotations

import uuid as uuids
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    Degree,
    Instructor,
    Pacing,
    ProductStatus,
    Restriction,
    RunStatus,
    Seat,
)
from catalog_gateway.db.base import Base, table_of, utcnow


class Row:
    """A table row held in memory."""

    COLUMNS: ClassVar[tuple[str, ...]]
    saved: dict[str, Any] | None

    def columns(self) -> dict[str, Any]:
        """The row's column values as they are now."""
        return {name: getattr(self, name) for name in self.COLUMNS}

    def changed(self) -> dict[str, Any]:
        """The columns whose value differs from the stored one (all of them for a new row)."""
        now = self.columns()
        if self.saved is None:
            return now
        return {name: value for name, value in now.items() if self.saved[name] != value}

    def mark_saved(self) -> None:
        """The row is stored as it is now."""
        self.saved = self.columns()


@dataclass(eq=False)
class InstructorRow(Row):
    source_id: int
    external_id: str
    id: int | None = None
    uuid: uuids.UUID = field(default_factory=uuids.uuid4)
    given_name: str = ""
    family_name: str | None = None
    email: str | None = None
    bio: str | None = None
    image_url: str | None = None
    position_title: str | None = None
    position_organization: str | None = None
    fingerprint: str | None = None
    last_occurred_at: datetime | None = None
    created: datetime = field(default_factory=utcnow)
    modified: datetime = field(default_factory=utcnow)
    saved: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(eq=False)
class CourseRow(Row):
    source_id: int
    external_id: str
    key: str
    id: int | None = None
    uuid: uuids.UUID = field(default_factory=uuids.uuid4)
    organization_id: int = 0
    number: str = ""
    title: str = ""
    short_description: str | None = None
    full_description: str | None = None
    outcome: str | None = None
    syllabus: str | None = None
    prerequisites: str | None = None
    faq: str | None = None
    learner_testimonials: str | None = None
    level: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    course_type: str = ""
    marketing: dict[str, Any] | None = None
    entitlement_seat_type: str | None = None
    entitlement_price: Decimal | None = None
    entitlement_currency: str | None = None
    entitlement_sku: str | None = None
    organization_short_code_override: str | None = None
    organization_logo_override: str | None = None
    product_status: ProductStatus = ProductStatus.PUBLISHED
    seo: dict[str, Any] | None = None
    slug: str | None = None
    inquiry: dict[str, Any] | None = None
    fingerprint: str | None = None
    last_occurred_at: datetime | None = None
    created: datetime = field(default_factory=utcnow)
    modified: datetime = field(default_factory=utcnow)
    saved: dict[str, Any] | None = field(default=None, repr=False)
    # Children: subject slugs (primary first) and the runs, in (start, id) order when loaded.
    subjects: list[str] = field(default_factory=list)
    saved_subjects: list[str] | None = field(default=None, repr=False)
    runs: list[RunRow] = field(default_factory=list)

    def mark_saved(self) -> None:
        super().mark_saved()
        self.saved_subjects = list(self.subjects)


@dataclass(eq=False)
class SeatRow(Row):
    """A seat: (run, type, currency) is its identity, so a seat needs no id to be written."""

    type: str
    currency: str
    price: Decimal
    upgrade_deadline: datetime | None = None
    sku: str | None = None
    pending_price: Decimal | None = None  # a new price ecommerce has not accepted yet
    id: int | None = None
    saved: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(eq=False)
class RunRow(Row):
    course: CourseRow
    key: str
    start: datetime
    end: datetime
    pacing: Pacing
    run_type: str
    id: int | None = None
    uuid: uuids.UUID = field(default_factory=uuids.uuid4)
    external_id: str | None = None
    enrollment_start: datetime | None = None
    enrollment_end: datetime | None = None
    go_live_date: datetime | None = None
    min_effort: int | None = None
    max_effort: int | None = None
    weeks_to_complete: int | None = None
    content_language: str | None = None
    transcript_languages: list[str] = field(default_factory=list)
    status: RunStatus = RunStatus.UNPUBLISHED
    restriction: Restriction | None = None
    fixed_price_usd: Decimal | None = None
    fingerprint: str | None = None
    last_occurred_at: datetime | None = None
    created: datetime = field(default_factory=utcnow)
    modified: datetime = field(default_factory=utcnow)
    saved: dict[str, Any] | None = field(default=None, repr=False)
    # Children: seats in creation order, and the instructors in display order.
    seats: list[SeatRow] = field(default_factory=list)
    saved_seats: list[SeatRow] = field(default_factory=list, repr=False)
    staff: list[InstructorRow] = field(default_factory=list)
    saved_staff: list[InstructorRow] | None = field(default=None, repr=False)

    def mark_saved(self) -> None:
        super().mark_saved()
        for seat in self.seats:
            seat.mark_saved()
        self.saved_seats = list(self.seats)
        self.saved_staff = list(self.staff)


@dataclass(eq=False)
class DegreeRow(Row):
    source_id: int
    external_id: str
    marketing_slug: str
    id: int | None = None
    uuid: uuids.UUID = field(default_factory=uuids.uuid4)
    title: str = ""
    subtitle: str | None = None
    program_type: str = ""
    organization_id: int = 0
    overview: str | None = None
    card_image_url: str | None = None
    specializations: list[str] = field(default_factory=list)
    level: str | None = None
    primary_subject: str | None = None
    content_language: str | None = None
    external_url: str | None = None
    organic_url: str | None = None
    lead_capture_form_url: str | None = None
    organization_short_code_override: str | None = None
    product_status: ProductStatus = ProductStatus.PUBLISHED
    last_occurred_at: datetime | None = None
    created: datetime = field(default_factory=utcnow)
    modified: datetime = field(default_factory=utcnow)
    saved: dict[str, Any] | None = field(default=None, repr=False)
    courses: list[CourseRow] = field(default_factory=list)
    saved_courses: list[CourseRow] | None = field(default=None, repr=False)

    def mark_saved(self) -> None:
        super().mark_saved()
        self.saved_courses = list(self.courses)


def _mirror(row: type[Row], model: type[Base], *, held_apart: tuple[str, ...] = ()) -> None:
    """Give `row` the columns of `model`'s table as `COLUMNS` (those `held_apart` are not
    fields: a parent's id, written from the parent; a seat's id, never written)."""
    columns = tuple(c.name for c in table_of(model).columns if c.name not in held_apart)
    missing = set(columns) - {f.name for f in fields(row)}  # type: ignore[arg-type]
    if missing:
        raise TypeError(f"{row.__name__} lacks the columns {sorted(missing)}")
    row.COLUMNS = columns


_mirror(InstructorRow, Instructor)
_mirror(CourseRow, Course)
_mirror(RunRow, CourseRun, held_apart=("course_id",))
_mirror(SeatRow, Seat, held_apart=("id", "run_id"))
_mirror(DegreeRow, Degree)


@dataclass(slots=True)
class Names:
    """What a set of events names, to load it all at once (any part may be empty)."""

    instructors: set[str] = field(default_factory=set)  # external ids
    courses: set[str] = field(default_factory=set)  # external ids
    course_keys: set[str] = field(default_factory=set)
    course_slugs: set[str] = field(default_factory=set)
    degrees: set[str] = field(default_factory=set)  # external ids
    degree_slugs: set[str] = field(default_factory=set)


class Loader:
    """How a state reads the rows it does not hold yet (see `catalog.loading`)."""

    def instructors(self, source_id: int, external_ids: Iterable[str]) -> list[InstructorRow]:
        raise NotImplementedError

    def courses(
        self,
        source_id: int,
        external_ids: Iterable[str],
        keys: Iterable[str],
        instructors: dict[int, InstructorRow],
        slugs: Iterable[str] = (),
    ) -> list[CourseRow]:
        """The courses, complete; their runs' staff are the `instructors` held, or read."""
        raise NotImplementedError

    def degrees(
        self,
        source_id: int,
        external_ids: Iterable[str],
        slugs: Iterable[str],
        instructors: dict[int, InstructorRow],
    ) -> list[DegreeRow]:
        """The degrees, their courses complete (see `courses`)."""
        raise NotImplementedError


Saved = dict[str, Any]
RowT = TypeVar("RowT", bound=Row)


class CatalogState:
    """The rows of one source's request, by identity; what is not held is read on demand."""

    def __init__(self, source_id: int, loader: Loader) -> None:
        self.source_id = source_id
        self.loader = loader
        # By the source's external id, or by key / slug (any source's); None: does not exist.
        self.instructors: dict[str, InstructorRow | None] = {}
        self.courses: dict[str, CourseRow | None] = {}
        self.course_keys: dict[str, CourseRow | None] = {}
        self.course_slugs: dict[str, CourseRow | None] = {}
        self.degrees: dict[str, DegreeRow | None] = {}
        self.degree_slugs: dict[str, DegreeRow | None] = {}
        self._instructors_by_id: dict[int, InstructorRow] = {}
        self._courses_by_id: dict[int, CourseRow] = {}
        self._degrees_by_id: dict[int, DegreeRow] = {}
        self._journal: dict[int, tuple[Row, Saved]] | None = None
        self._created: list[Row] = []  # by the event running (forgotten if it is undone)
        self._new: dict[int, Row] = {}  # every row not stored yet, in the order made
        self._expected: Names | None = None

    def expect(self, names: Names) -> None:
        """What to load, together, the first time the state is asked for anything."""
        self._expected = names

    def load(self, names: Names) -> None:
        """Read every named row not held yet (a fixed number of queries, whatever the names)."""
        self._load(names)

    def _load_expected(self) -> None:
        if self._expected is not None:
            names, self._expected = self._expected, None
            self.load(names)

    def _load(self, names: Names) -> None:
        instructors = [i for i in names.instructors if i not in self.instructors]
        courses = [c for c in names.courses if c not in self.courses]
        keys = [k for k in names.course_keys if k not in self.course_keys]
        slugs_of_courses = [s for s in names.course_slugs if s not in self.course_slugs]
        degrees = [d for d in names.degrees if d not in self.degrees]
        slugs = [s for s in names.degree_slugs if s not in self.degree_slugs]
        if instructors:
            self.instructors.update(dict.fromkeys(instructors))
            self.hold_instructors(self.loader.instructors(self.source_id, instructors))
        if courses or keys or slugs_of_courses:
            self.courses.update(dict.fromkeys(courses))
            self.course_keys.update(dict.fromkeys(keys))
            self.course_slugs.update(dict.fromkeys(slugs_of_courses))
            loaded = self.loader.courses(
                self.source_id, courses, keys, self._instructors_by_id, slugs_of_courses
            )
            self.hold_courses(loaded)
        if degrees or slugs:
            self.degrees.update(dict.fromkeys(degrees))
            self.degree_slugs.update(dict.fromkeys(slugs))
            loaded_degrees = self.loader.degrees(
                self.source_id, degrees, slugs, self._instructors_by_id
            )
            self.hold_degrees(loaded_degrees)

    def hold_instructors(self, rows: Iterable[InstructorRow]) -> list[InstructorRow]:
        """Keep loaded instructors (the row already held wins: it may have changed)."""
        held = []
        for row in rows:
            assert row.id is not None
            row = self._instructors_by_id.setdefault(row.id, row)
            if row.source_id == self.source_id:
                self.instructors[row.external_id] = row
            held.append(row)
        return held

    def hold_courses(self, rows: Iterable[CourseRow]) -> list[CourseRow]:
        """Keep loaded courses (with their runs, seats, staff and subjects)."""
        held = []
        for loaded in rows:
            assert loaded.id is not None
            row = self._courses_by_id.setdefault(loaded.id, loaded)
            if row is loaded:  # new to this state: its staff are the instructors held
                for run in row.runs:
                    run.staff = self.hold_instructors(run.staff)
                    run.saved_staff = list(run.staff)
            if row.source_id == self.source_id:
                self.courses[row.external_id] = row
            self.course_keys[row.key] = row
            if row.slug is not None:
                self.course_slugs[row.slug] = row
            held.append(row)
        return held

    def hold_degrees(self, rows: Iterable[DegreeRow]) -> None:
        """Keep loaded degrees (their courses are the courses held)."""
        for loaded in rows:
            assert loaded.id is not None
            row = self._degrees_by_id.setdefault(loaded.id, loaded)
            if row is loaded:
                row.courses = self.hold_courses(row.courses)
                row.saved_courses = list(row.courses)
            if row.source_id == self.source_id:
                self.degrees[row.external_id] = row
            self.degree_slugs[row.marketing_slug] = row

    # --- lookups (a row not held is read, then held) ----------------------------------------

    def instructor(self, external_id: str) -> InstructorRow | None:
        """The source's instructor with this external id."""
        return self._lookup(
            self.instructors, external_id, lambda: self.load(Names(instructors={external_id}))
        )

    def course(self, external_id: str) -> CourseRow | None:
        """The source's course with this external id."""
        return self._lookup(
            self.courses, external_id, lambda: self.load(Names(courses={external_id}))
        )

    def course_by_key(self, key: str) -> CourseRow | None:
        """The course with this key (any source's)."""
        return self._lookup(self.course_keys, key, lambda: self.load(Names(course_keys={key})))

    def course_by_slug(self, slug: str) -> CourseRow | None:
        """The course with this URL slug (any source's)."""
        return self._lookup(self.course_slugs, slug, lambda: self.load(Names(course_slugs={slug})))

    def degree(self, external_id: str) -> DegreeRow | None:
        """The source's degree with this external id."""
        return self._lookup(
            self.degrees, external_id, lambda: self.load(Names(degrees={external_id}))
        )

    def degree_by_slug(self, slug: str) -> DegreeRow | None:
        """The degree with this marketing slug (any source's)."""
        return self._lookup(self.degree_slugs, slug, lambda: self.load(Names(degree_slugs={slug})))

    def _lookup(
        self, index: dict[str, RowT | None], name: str, load: Callable[[], None]
    ) -> RowT | None:
        self._load_expected()
        if name not in index:
            load()
        return index.get(name)

    # --- new rows ---------------------------------------------------------------------------

    def add_instructor(self, row: InstructorRow) -> None:
        self.instructors[row.external_id] = row
        self.created(row)

    def add_course(self, row: CourseRow) -> None:
        self.courses[row.external_id] = row
        self.course_keys[row.key] = row
        self.created(row)

    def add_degree(self, row: DegreeRow) -> None:
        self.degrees[row.external_id] = row
        self.degree_slugs[row.marketing_slug] = row
        self.created(row)

    # --- what the writer writes -------------------------------------------------------------

    def all_instructors(self) -> list[InstructorRow]:
        """Every instructor held (new ones included)."""
        rows = {id(r): r for r in self._instructors_by_id.values()}
        rows.update((id(r), r) for r in self.instructors.values() if r is not None)
        for course in self.all_courses():
            for run in course.runs:
                rows.update((id(i), i) for i in run.staff)
        return list(rows.values())

    def all_courses(self) -> list[CourseRow]:
        """Every course held (new ones included)."""
        rows = {id(r): r for r in self._courses_by_id.values()}
        rows.update((id(r), r) for r in self.courses.values() if r is not None)
        return list(rows.values())

    def all_degrees(self) -> list[DegreeRow]:
        """Every degree held (new ones included)."""
        rows = {id(r): r for r in self._degrees_by_id.values()}
        rows.update((id(r), r) for r in self.degrees.values() if r is not None)
        return list(rows.values())

    def stored(self) -> None:
        """Everything held is now stored as it is (after the writer ran)."""
        for row in self.all_instructors():
            self._instructors_by_id[_id(row)] = row
            row.mark_saved()
        for course in self.all_courses():
            self._courses_by_id[_id(course)] = course
            course.mark_saved()
            for run in course.runs:
                run.mark_saved()
        for degree in self.all_degrees():
            self._degrees_by_id[_id(degree)] = degree
            degree.mark_saved()
        self._created.clear()
        self._new.clear()

    def made(self) -> dict[int, int]:
        """The rows made and not stored yet, `id(row)` → rank in the order they were made (the
        writer inserts them so, and their ids follow the order of the events)."""
        return {key: rank for rank, key in enumerate(self._new)}

    # --- undoing a refused event ------------------------------------------------------------

    def begin_event(self) -> None:
        """Start remembering what the next event changes, to undo it if it is refused."""
        self._journal = {}
        self._created = []

    def touch(self, row: Row) -> None:
        """`row` is about to change: remember it as it is (once per event)."""
        if self._journal is not None and id(row) not in self._journal:
            self._journal[id(row)] = (row, _copy(row))

    def created(self, row: Row) -> None:
        """`row` is new (if its event is undone, it is forgotten)."""
        self._created.append(row)
        self._new[id(row)] = row

    def end_event(self) -> None:
        """The event is applied: its changes stay."""
        self._journal = None
        self._created = []

    def undo_event(self) -> None:
        """The event is refused: put every row it changed back, and forget the rows it made."""
        for row, before in (self._journal or {}).values():
            vars(row).update(before)
        for row in self._created:
            self._forget(row)
            self._new.pop(id(row), None)
        self.end_event()

    def _forget(self, row: Row) -> None:
        """A row made by an undone event does not exist (as was known before it was made)."""
        if isinstance(row, InstructorRow) and self.instructors.get(row.external_id) is row:
            self.instructors[row.external_id] = None
        elif isinstance(row, CourseRow):
            if self.courses.get(row.external_id) is row:
                self.courses[row.external_id] = None
            if self.course_keys.get(row.key) is row:
                self.course_keys[row.key] = None
        elif isinstance(row, DegreeRow):
            if self.degrees.get(row.external_id) is row:
                self.degrees[row.external_id] = None
            if self.degree_slugs.get(row.marketing_slug) is row:
                self.degree_slugs[row.marketing_slug] = None


def _copy(row: Row) -> Saved:
    """The row's attributes, lists copied (their items are rows, journaled on their own)."""
    return {
        name: list(value) if isinstance(value, list) else value for name, value in vars(row).items()
    }


def _id(row: InstructorRow | CourseRow | DegreeRow) -> int:
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} {row.external_id} was not written")
    return row.id
