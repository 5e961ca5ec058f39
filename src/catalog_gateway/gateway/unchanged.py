"""The unchanged fast path: an event that would write every entity as it already is.

A daily full re-sync sends the whole catalog again, almost all of it unchanged. Every entity an
upsert writes keeps the fingerprint of the content it was given (`catalog.fingerprints`), so such
an event is recognised by comparing fingerprints with the catalog state the request loaded (as
the events before it left it): when every fingerprint matches, nothing is stale, nothing is
retired, no run would be published and no price waits for ecommerce, the event's steps
answer `unchanged` from the state, with no column compared; the only change is to the clocks
(`last_occurred_at`, moved as the full path moves them), written with the rest of the request.
The trace is the one the full path gives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from catalog_gateway.catalog.changes import note_occurred_at
from catalog_gateway.catalog.courses import course_fingerprint
from catalog_gateway.catalog.fingerprints import fingerprint
from catalog_gateway.catalog.inputs import CourseInput, CourseRunInput, InstructorInput
from catalog_gateway.catalog.models import ProductStatus, RunStatus
from catalog_gateway.catalog.runs import match_run
from catalog_gateway.catalog.state import CatalogState, CourseRow, InstructorRow, RunRow
from catalog_gateway.catalog.status import is_published
from catalog_gateway.errors import CatalogGatewayError
from catalog_gateway.events.payloads import (
    CourseReference,
    CourseRunUpsert,
    CourseUpsert,
    InstructorUpsert,
    Payload,
    ProductUpsert,
)

# Resolves a source's organization code to the organization's id (raises when it cannot).
OrganizationIds = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class Unchanged:
    """An event found unchanged: the rows each of its steps reports on."""

    instructors: dict[str, InstructorRow]  # the instructors it sends, by external id
    course: CourseRow | None  # the course it sends (not one it only names)
    runs: dict[int, RunRow]  # its runs, by index in the event

    def move_clocks(self, occurred_at: datetime) -> None:
        """The event is applied: its rows' clocks move to it where it is newer (as the full
        path moves them; written with the rest of the request)."""
        rows: list[InstructorRow | CourseRow | RunRow] = [
            *self.instructors.values(),
            *self.runs.values(),
        ]
        if self.course is not None:
            rows.append(self.course)
        for row in rows:
            note_occurred_at(row, occurred_at)


def find_unchanged(
    state: CatalogState,
    payload: Payload,
    occurred_at: datetime,
    now: datetime,
    organization_id: OrganizationIds,
) -> Unchanged | None:
    """The event's rows if applying it would change nothing, else None."""
    if isinstance(payload, ProductUpsert | CourseUpsert):
        course = state.course(payload.course.external_id)
        if course is None or not _same_course(course, payload.course, occurred_at, organization_id):
            return None
        if isinstance(payload, CourseUpsert):
            return Unchanged({}, course, {})
        return _with_runs(
            state, payload.instructors, course, course, payload.course_runs, occurred_at, now
        )
    if isinstance(payload, CourseRunUpsert):
        named = _referenced(state, payload.course)
        if named is None:
            return None
        return _with_runs(state, payload.instructors, None, named, [payload.run], occurred_at, now)
    if isinstance(payload, InstructorUpsert):
        return _with_runs(state, [payload.instructor], None, None, [], occurred_at, now)
    return None


def _referenced(state: CatalogState, reference: CourseReference) -> CourseRow | None:
    if reference.external_id is not None:
        return state.course(reference.external_id)
    course = state.course_by_key(str(reference.key))
    return course if course is not None and course.source_id == state.source_id else None


def _same_course(
    course: CourseRow, data: CourseInput, occurred_at: datetime, organization_id: OrganizationIds
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
    state: CatalogState,
    instructors: list[InstructorInput],
    course: CourseRow | None,
    runs_of: CourseRow | None,
    runs: list[CourseRunInput],
    occurred_at: datetime,
    now: datetime,
) -> Unchanged | None:
    found_instructors = {}
    for data in instructors:
        instructor = state.instructor(data.external_id)
        if (
            instructor is None
            or not _fresh(instructor.last_occurred_at, occurred_at)
            or instructor.fingerprint != fingerprint(data)
        ):
            return None
        found_instructors[data.external_id] = instructor
    found_runs: dict[int, RunRow] = {}
    for index, run_data in enumerate(runs):
        run = match_run(runs_of, run_data) if runs_of is not None else None
        if (
            run is None
            or any(run is other for other in found_runs.values())
            or run.status is RunStatus.ARCHIVED
            or not is_published(run, now)
            or not _fresh(run.last_occurred_at, occurred_at)
            or run.fingerprint != fingerprint(run_data)
            or any(seat.pending_price is not None for seat in run.seats)  # ecommerce confirms
        ):
            return None
        found_runs[index] = run
    return Unchanged(found_instructors, course, found_runs)


def _fresh(last: datetime | None, occurred_at: datetime) -> bool:
    """True if an event of `occurred_at` is not stale for an entity last changed at `last`."""
    return last is None or occurred_at >= last
