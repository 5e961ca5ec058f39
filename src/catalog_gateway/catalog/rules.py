"""The catalog's rules, written once.

Each rule looks at the catalog (and the data sent) and says what is wrong, or nothing. The
gateway's validation collects every violation with its place in the payload; the catalog's
upserts, which are also called on their own, raise the same violation as an error. Both say
the same thing in the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from catalog_gateway.catalog.state import CatalogState, CourseRow, DegreeRow
from catalog_gateway.errors import (
    CatalogGatewayError,
    ConflictError,
    ErrorCode,
    InvalidValueError,
    NotFoundError,
    NotOwnerError,
    UnknownReferenceError,
)


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken rule: its code, a message for the integrator, and the field it is about."""

    code: ErrorCode
    message: str
    field: str | None = None
    raises: type[CatalogGatewayError] = ConflictError

    def error(self) -> CatalogGatewayError:
        """The violation as the error a catalog upsert raises."""
        return self.raises(self.message, code=self.code, field=self.field)


def course_key_holder(state: CatalogState, key: str) -> Violation | None:
    """A new course may not take a key that another course holds."""
    holder = state.course_by_key(key)
    if holder is None:
        return None
    if holder.source_id != state.source_id:
        message = f"course {key} belongs to another source"
        return Violation(ErrorCode.NOT_OWNER, message, "number", NotOwnerError)
    return Violation(
        ErrorCode.COURSE_KEY_TAKEN,
        f"course key {key} is already used by this source's course with external id "
        f"{holder.external_id!r}",
        "number",
    )


def course_slug_holder(state: CatalogState, slug: str, external_id: str) -> Violation | None:
    """A course's URL slug is its own: no other course of the catalog may hold it."""
    holder = state.course_by_slug(slug)
    held = holder is not None and holder.slug == slug  # not if it moved to another slug
    return _holder(
        state,
        holder if held else None,
        external_id,
        taken=(ErrorCode.COURSE_SLUG_TAKEN, f"slug {slug}", "course"),
        elsewhere=f"slug {slug} belongs to another source's course",
        field="slug",
    )


def referenced_course(
    state: CatalogState, *, external_id: str | None, key: str | None
) -> tuple[CourseRow | None, Violation | None]:
    """The course an event names, by the source's external id or by key: it must exist and be
    the source's own."""
    if external_id is not None:
        course = state.course(external_id)
        label, field = f"external id {external_id!r}", "external_id"
    elif key is not None:
        course = state.course_by_key(key)
        label, field = f"key {key!r}", "key"
    else:
        raise ValueError("a course is named by an external_id or a key")
    if course is None:
        message = f"no course of this source has {label}"
        return None, Violation(ErrorCode.UNKNOWN_COURSE, message, field, NotFoundError)
    if course.source_id != state.source_id:
        message = f"course {course.key} belongs to another source"
        return None, Violation(ErrorCode.NOT_OWNER, message, field, NotOwnerError)
    return course, None


def course_by_reference(state: CatalogState, reference: str) -> CourseRow | None:
    """A degree's course: the source's course with that external id, else the course with
    that key."""
    return state.course(reference) or state.course_by_key(reference)


def unknown_degree_course(reference: str) -> Violation:
    """A degree names a course the catalog does not have."""
    return Violation(
        ErrorCode.UNKNOWN_COURSE,
        f"course {reference!r} is neither this source's course external id nor a course key "
        "in the catalog",
        "courses",
        UnknownReferenceError,
    )


def marketing_slug_holder(
    state: CatalogState, slug: str, external_id: str | None
) -> Violation | None:
    """A degree's marketing slug is its own: no other degree may hold it."""
    holder = state.degree_by_slug(slug)
    held = holder is not None and holder.marketing_slug == slug  # not if it moved since
    return _holder(
        state,
        holder if held else None,
        external_id,
        taken=(ErrorCode.MARKETING_SLUG_TAKEN, f"marketing slug {slug}", "degree"),
        elsewhere=f"degree {slug} belongs to another source",
        field="marketing_slug",
    )


def _holder(
    state: CatalogState,
    holder: CourseRow | DegreeRow | None,
    external_id: str | None,
    *,
    taken: tuple[ErrorCode, str, str],
    elsewhere: str,
    field: str,
) -> Violation | None:
    """What a product's unique name held by `holder` means for the product `external_id`:
    nothing (free, or its own), another source's (not owner), or another of its own (taken)."""
    if holder is None or (
        holder.source_id == state.source_id and holder.external_id == external_id
    ):
        return None
    if holder.source_id != state.source_id:
        return Violation(ErrorCode.NOT_OWNER, elsewhere, field, NotOwnerError)
    code, name, kind = taken
    return Violation(
        code,
        f"{name} is already used by this source's {kind} with external id {holder.external_id!r}",
        field,
    )


def run_ends_after_start(start: datetime, end: datetime) -> Violation | None:
    """A run ends after it starts."""
    if end > start:
        return None
    return Violation(ErrorCode.INVALID_DATE, "end must be after start", "end", InvalidValueError)


def duplicate_seats(seats: Iterable[tuple[str, str]]) -> list[tuple[int, Violation]]:
    """Seats are unique by (type, currency) in a run: (index, violation) for each repeat."""
    seen: set[tuple[str, str]] = set()
    repeats = []
    for index, (seat_type, currency) in enumerate(seats):
        if (seat_type, currency) in seen:
            message = f"a second {seat_type} seat in {currency}"
            repeats.append((index, Violation(ErrorCode.DUPLICATE_SEAT, message, "seats")))
        seen.add((seat_type, currency))
    return repeats


def unknown_staff(wanted: Sequence[str], known: set[str]) -> list[tuple[int, Violation]]:
    """Staff must name instructors sent with the event or already in the catalog for the
    source: (index, violation) for each that is neither."""
    return [
        (
            index,
            Violation(
                ErrorCode.UNKNOWN_INSTRUCTOR,
                f"staff names instructor {external_id!r}, who is neither in this event's "
                "instructors nor already in the catalog for this source",
                "staff",
                UnknownReferenceError,
            ),
        )
        for index, external_id in enumerate(wanted)
        if external_id not in known
    ]
