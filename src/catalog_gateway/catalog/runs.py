"""Course-run and seat upserts.

A run is matched inside its course by the source's variant id (`external_id`); without one, by
its (start, end). Its key is derived from the start date when it is created and kept after.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import exists, inspect, select
from sqlalchemy.orm import Session

from catalog_gateway.catalog import rules
from catalog_gateway.catalog.changes import (
    Action,
    Upserted,
    assign_changed,
    ensure_not_stale,
    note_occurred_at,
    settle,
)
from catalog_gateway.catalog.fingerprints import fingerprint
from catalog_gateway.catalog.inputs import CourseRunInput, SeatInput
from catalog_gateway.catalog.keys import course_run_key
from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    Instructor,
    RunStaff,
    RunStatus,
    Seat,
)
from catalog_gateway.catalog.prefetch import Prefetched
from catalog_gateway.catalog.status import transition
from catalog_gateway.catalog.vocabulary import Vocabulary


@dataclass(frozen=True, slots=True)
class SeatChanges:
    """What syncing a run's seats did: one result per seat sent, and the seats removed."""

    seats: list[Upserted[Seat]]
    removed: list[Seat]

    @property
    def changed(self) -> bool:
        """True if any seat was created, updated or removed."""
        return bool(self.removed) or any(s.action is not Action.UNCHANGED for s in self.seats)


def match_run(session: Session, course: Course, data: CourseRunInput) -> CourseRun | None:
    """The existing run `data` describes: by external id; else (or if none has it) by dates.

    A run matched by dates only when it has no external id of its own, so two variants of
    the same dates never merge. When the course's runs are loaded already (or the course is
    new), they are searched in memory.
    """
    if course.id is None or "runs" not in inspect(course).unloaded:
        return match_loaded_run(course.runs, data)
    if data.external_id is not None:
        run = session.scalar(
            select(CourseRun).where(
                CourseRun.course_id == course.id, CourseRun.external_id == data.external_id
            )
        )
        if run is not None:
            return run
    return session.scalar(
        select(CourseRun)
        .where(
            CourseRun.course_id == course.id,
            CourseRun.start == data.start,
            CourseRun.end == data.end,
            CourseRun.external_id.is_(None),
        )
        .order_by(CourseRun.id)
        .limit(1)
    )


class MatchableRun(Protocol):
    """What matching a run looks at (a row, or a loaded summary of one)."""

    @property
    def id(self) -> int | None: ...

    @property
    def external_id(self) -> str | None: ...

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


MatchableT = TypeVar("MatchableT", bound=MatchableRun)


def match_loaded_run(runs: Sequence[MatchableT], data: CourseRunInput) -> MatchableT | None:
    """Among a course's loaded runs, the one `data` describes (see `match_run`)."""
    if data.external_id is not None:
        for run in runs:
            if run.external_id == data.external_id:
                return run
    by_dates = [
        run
        for run in runs
        if run.external_id is None and run.start == data.start and run.end == data.end
    ]
    return min(by_dates, key=lambda run: run.id or 0, default=None)


def upsert_course_run(
    session: Session,
    course: Course,
    data: CourseRunInput,
    vocabulary: Vocabulary,
    *,
    occurred_at: datetime | None = None,
    prefetched: Prefetched | None = None,
) -> Upserted[CourseRun]:
    """Create or update a run of `course` (seats are synced separately, see `sync_seats`).

    The row is written at the next flush (at the latest when the transaction commits).
    """
    _check(course, data, vocabulary)
    # `course.source.id`: a course created in this transaction has no source_id before a flush.
    staff = _resolve_staff(session, course.source.id, data.staff, prefetched)
    run = match_run(session, course, data)
    created = run is None
    if run is None:
        key = course_run_key(course.key, data.start, lambda k: _run_key_taken(session, course, k))
        # Empty collections, not unloaded ones: a new run's seats and staff need no query.
        run = CourseRun(
            uuid=uuid.uuid4(),
            key=key,
            course=course,
            status=RunStatus.UNPUBLISHED,
            seats=[],
            staff_links=[],
        )
        session.add(run)
    else:
        ensure_not_stale(run, occurred_at, f"course run {run.key}")
    changed = assign_changed(run, _run_values(data))
    changed |= _sync_staff(run, staff)
    if run.status == RunStatus.ARCHIVED:
        changed |= transition(run, RunStatus.UNPUBLISHED)
    # Of the run with its staff and seats: `sync_seats` makes the seats `data.seats` in the same
    # transaction.
    run.fingerprint = fingerprint(data)
    note_occurred_at(run, occurred_at)
    return Upserted(run, settle(run, created=created, changed=changed))


def sync_seats(run: CourseRun, seats: Sequence[SeatInput], vocabulary: Vocabulary) -> SeatChanges:
    """Make the run's seats exactly `seats`: create, update, and remove those not sent.

    A seat keeps its SKU across price changes; ecommerce re-publishes it under the same SKU.
    """
    for wanted in seats:
        vocabulary.require_seat_type(run.run_type, wanted.type)
    for _index, violation in rules.duplicate_seats((seat.type, seat.currency) for seat in seats):
        raise violation.error()
    existing = {(seat.type, seat.currency): seat for seat in run.seats}
    results: list[Upserted[Seat]] = []
    for wanted in seats:
        seat = existing.pop((wanted.type, wanted.currency), None)
        values = {"price": wanted.price, "upgrade_deadline": wanted.upgrade_deadline}
        if seat is None:
            seat = Seat(type=wanted.type, currency=wanted.currency, **values)
            run.seats.append(seat)
            results.append(Upserted(seat, Action.CREATED))
        else:
            changed = assign_changed(seat, values)
            results.append(Upserted(seat, Action.UPDATED if changed else Action.UNCHANGED))
    removed = list(existing.values())
    for seat in removed:
        run.seats.remove(seat)
    changes = SeatChanges(results, removed)
    if changes.changed:
        settle(run, created=False, changed=True)
    return changes


def _check(course: Course, data: CourseRunInput, vocabulary: Vocabulary) -> None:
    violation = rules.run_ends_after_start(data.start, data.end)
    if violation is not None:
        raise violation.error()
    vocabulary.require_run_type(course.course_type, data.run_type)


def _resolve_staff(
    session: Session, source_id: int, external_ids: list[str], prefetched: Prefetched | None
) -> list[Instructor]:
    wanted = list(dict.fromkeys(external_ids))
    if not wanted:
        return []
    known = prefetched.instructors if prefetched is not None else {}
    found = {
        external_id: instructor
        for external_id in wanted
        if (instructor := known.get(external_id)) is not None
    }
    unknown = [external_id for external_id in wanted if external_id not in known]
    if unknown:
        found.update(
            (instructor.external_id, instructor)
            for instructor in session.scalars(
                select(Instructor).where(
                    Instructor.source_id == source_id, Instructor.external_id.in_(unknown)
                )
            )
        )
    for _index, violation in rules.unknown_staff(wanted, set(found)):
        raise violation.error()
    return [found[external_id] for external_id in wanted]


def _sync_staff(run: CourseRun, staff: list[Instructor]) -> bool:
    if [link.instructor_id for link in run.staff_links] == [i.id for i in staff]:
        return False
    run.staff_links = [
        RunStaff(instructor=instructor, position=position)
        for position, instructor in enumerate(staff)
    ]
    return True


def _run_key_taken(session: Session, course: Course, key: str) -> bool:
    """True if a run already has `key`.

    A run key starts with its course's key, and course keys are unique and never change, so
    only the course's own runs can hold it: when they are loaded, they are searched in memory
    (the database's unique index still guards the write).
    """
    if course.id is None or "runs" not in inspect(course).unloaded:
        return any(run.key == key for run in course.runs)
    return bool(session.scalar(select(exists().where(CourseRun.key == key))))


def _run_values(data: CourseRunInput) -> dict[str, Any]:
    return {
        "external_id": data.external_id,
        "start": data.start,
        "end": data.end,
        "enrollment_start": data.enrollment_start,
        "enrollment_end": data.enrollment_end,
        "go_live_date": data.go_live_date,
        "pacing": data.pacing,
        "run_type": data.run_type,
        "min_effort": data.min_effort,
        "max_effort": data.max_effort,
        "weeks_to_complete": data.weeks_to_complete,
        "content_language": data.content_language,
        "transcript_languages": list(data.transcript_languages),
        "restriction": data.restriction,
        "fixed_price_usd": data.fixed_price_usd,
    }
