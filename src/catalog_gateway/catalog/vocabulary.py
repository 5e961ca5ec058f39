"""The reference vocabularies in memory, for checks that must not hit the database per field."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from catalog_gateway.catalog.reference import (
    CourseType,
    Level,
    ProgramType,
    RunType,
    SeatType,
    Subject,
)
from catalog_gateway.errors import ErrorCode, UnknownReferenceError


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Known slugs, and which run types a course type allows and which seats a run type allows."""

    run_types_by_course_type: dict[str, frozenset[str]]
    seat_types_by_run_type: dict[str, frozenset[str]]
    paid_seat_types: frozenset[str]
    seat_types: frozenset[str]
    subjects: dict[str, str]
    levels: frozenset[str]
    program_types: frozenset[str]
    level_names: dict[str, str] = field(default_factory=dict)
    _subject_by_key: dict[str, str] = field(init=False, repr=False, compare=False)
    _level_by_key: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_subject_by_key", _index(self.subjects))
        names = {slug: self.level_names.get(slug, slug) for slug in self.levels}
        object.__setattr__(self, "_level_by_key", _index(names))

    def resolve_subject(self, text: str) -> str | None:
        """The slug of the subject `text` names (its slug, or its English name or slug written
        any case, with any punctuation, `&` for `and`), or None."""
        return text if text in self.subjects else self._subject_by_key.get(reference_key(text))

    def resolve_level(self, text: str) -> str | None:
        """The slug of the level `text` names (its slug or name, as loosely as subjects)."""
        return text if text in self.levels else self._level_by_key.get(reference_key(text))

    def require_course_type(self, slug: str) -> None:
        """Raise unless the course type is known."""
        if slug not in self.run_types_by_course_type:
            raise UnknownReferenceError(
                f"unknown course type {slug!r}; known: {_listing(self.run_types_by_course_type)}",
                code=ErrorCode.UNKNOWN_COURSE_TYPE,
                field="course_type",
            )

    def require_run_type(self, course_type: str, run_type: str) -> None:
        """Raise unless the run type is known and allowed for the course type."""
        if run_type not in self.seat_types_by_run_type:
            raise UnknownReferenceError(
                f"unknown run type {run_type!r}; known: {_listing(self.seat_types_by_run_type)}",
                code=ErrorCode.UNKNOWN_RUN_TYPE,
                field="run_type",
            )
        allowed = self.run_types_by_course_type.get(course_type, frozenset())
        if run_type not in allowed:
            raise UnknownReferenceError(
                f"run type {run_type!r} is not allowed for course type {course_type!r}; "
                f"allowed: {_listing(allowed)}",
                code=ErrorCode.RUN_TYPE_NOT_ALLOWED,
                field="run_type",
            )

    def require_known_seat_type(self, seat_type: str, field: str = "type") -> None:
        """Raise unless the seat type is known."""
        if seat_type not in self.seat_types:
            raise UnknownReferenceError(
                f"unknown seat type {seat_type!r}; known: {_listing(self.seat_types)}",
                code=ErrorCode.UNKNOWN_SEAT_TYPE,
                field=field,
            )

    def require_seat_type(self, run_type: str, seat_type: str) -> None:
        """Raise unless the seat type is known and allowed for the run type."""
        self.require_known_seat_type(seat_type)
        allowed = self.seat_types_by_run_type.get(run_type, frozenset())
        if seat_type not in allowed:
            raise UnknownReferenceError(
                f"seat type {seat_type!r} is not allowed for run type {run_type!r}; "
                f"allowed: {_listing(allowed)}",
                code=ErrorCode.SEAT_TYPE_NOT_ALLOWED,
                field="type",
            )

    def require_subject(self, slug: str) -> None:
        """Raise unless the subject is known."""
        if slug not in self.subjects:
            raise UnknownReferenceError(
                f"unknown subject {slug!r}", code=ErrorCode.UNKNOWN_SUBJECT, field="subjects"
            )

    def require_level(self, slug: str | None) -> None:
        """Raise unless the level is absent or known."""
        if slug is not None and slug not in self.levels:
            raise UnknownReferenceError(
                f"unknown level {slug!r}; known: {_listing(self.levels)}",
                code=ErrorCode.UNKNOWN_LEVEL,
                field="level",
            )

    def require_program_type(self, slug: str) -> None:
        """Raise unless the program type is known."""
        if slug not in self.program_types:
            raise UnknownReferenceError(
                f"unknown program type {slug!r}; known: {_listing(self.program_types)}",
                code=ErrorCode.UNKNOWN_PROGRAM_TYPE,
                field="program_type",
            )


def load_vocabulary(session: Session) -> Vocabulary:
    """Read every vocabulary in a handful of queries."""
    course_types = session.scalars(
        select(CourseType).options(selectinload(CourseType.run_types))
    ).all()
    run_types = session.scalars(select(RunType).options(selectinload(RunType.seat_types))).all()
    seat_types = session.scalars(select(SeatType)).all()
    level_names: dict[str, str] = dict(session.execute(select(Level.slug, Level.name)).all())
    return Vocabulary(
        run_types_by_course_type={
            course_type.slug: frozenset(run.slug for run in course_type.run_types)
            for course_type in course_types
        },
        seat_types_by_run_type={
            run_type.slug: frozenset(seat.slug for seat in run_type.seat_types)
            for run_type in run_types
        },
        paid_seat_types=frozenset(seat.slug for seat in seat_types if seat.is_paid),
        seat_types=frozenset(seat.slug for seat in seat_types),
        subjects=dict(session.execute(select(Subject.slug, Subject.name)).all()),
        levels=frozenset(level_names),
        level_names=level_names,
        program_types=frozenset(session.scalars(select(ProgramType.slug)).all()),
    )


def reference_key(text: str) -> str:
    """`text` folded for matching a reference value loosely: accents dropped, case folded,
    `&` read as `and`, and every run of other characters one space ("Art & Culture",
    "art and culture" and "art-and-culture" → "art and culture")."""
    decomposed = unicodedata.normalize("NFKD", text.replace("&", " and "))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_WORD.findall(bare.casefold()))


_WORD = re.compile(r"[^\W_]+")


def _index(names: dict[str, str]) -> dict[str, str]:
    """Loose key → slug, for each slug and each name. A key two values share (which `subjects
    create` refuses) is left to the one whose own name it is."""
    index: dict[str, str] = {}
    for slug in sorted(names):
        index.setdefault(reference_key(slug), slug)
    for slug, name in sorted(names.items()):
        index[reference_key(name)] = slug
    return index


def _listing(slugs: object) -> str:
    return ", ".join(sorted(slugs)) if isinstance(slugs, dict | frozenset) else str(slugs)
