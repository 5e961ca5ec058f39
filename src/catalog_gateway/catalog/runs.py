"""Course-run and seat upserts.

A run is matched inside its course by the source's variant id (`external_id`); without one, by
its (start, end). Its key is derived from the start date when it is created and kept after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

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
from catalog_gateway.catalog.models import RunStatus
from catalog_gateway.catalog.reference import ECOMMERCE_CURRENCY
from catalog_gateway.catalog.state import CatalogState, CourseRow, InstructorRow, RunRow, SeatRow
from catalog_gateway.catalog.status import transition
from catalog_gateway.catalog.vocabulary import Vocabulary


@dataclass(frozen=True, slots=True)
class SeatChanges:
    """What syncing a run's seats did: one result per seat sent, and the seats removed."""

    seats: list[Upserted[SeatRow]]
    removed: list[SeatRow]
    pending: int = 0  # new prices that wait for ecommerce to accept them

    @property
    def changed(self) -> bool:
        """True if any seat was created, updated or removed."""
        return bool(self.removed) or any(s.action is not Action.UNCHANGED for s in self.seats)


def match_run(course: CourseRow, data: CourseRunInput) -> RunRow | None:
    """The existing run `data` describes: by external id; else (or if none has it) by dates.

    A run matched by dates only when it has no external id of its own, so two variants of
    the same dates never merge. A course's runs are always held with it.
    """
    return match_loaded_run(course.runs, data)


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
    state: CatalogState,
    course: CourseRow,
    data: CourseRunInput,
    vocabulary: Vocabulary,
    *,
    occurred_at: datetime | None = None,
) -> Upserted[RunRow]:
    """Create or update a run of `course` (seats are synced separately, see `sync_seats`)."""
    _check(course, data, vocabulary)
    staff = _resolve_staff(state, data.staff)
    run = match_run(course, data)
    created = run is None
    if run is None:
        key = course_run_key(course.key, data.start, lambda k: any(r.key == k for r in course.runs))
        run = RunRow(
            course=course,
            key=key,
            start=data.start,
            end=data.end,
            pacing=data.pacing,
            run_type=data.run_type,
        )
        state.touch(course)
        course.runs.append(run)
        state.created(run)
    else:
        ensure_not_stale(run, occurred_at, f"course run {run.key}")
        state.touch(run)
    changed = assign_changed(run, _run_values(data))
    changed |= _sync_staff(run, staff)
    if run.status == RunStatus.ARCHIVED:
        changed |= transition(run, RunStatus.UNPUBLISHED)
    # Of the run with its staff and seats: `sync_seats` makes the seats `data.seats` in the same
    # transaction.
    run.fingerprint = fingerprint(data)
    note_occurred_at(run, occurred_at)
    return Upserted(run, settle(run, created=created, changed=changed))


def sync_seats(
    state: CatalogState,
    run: RunRow,
    seats: Sequence[SeatInput],
    vocabulary: Vocabulary,
    *,
    staged: bool = False,
) -> SeatChanges:
    """Make the run's seats exactly `seats`: create, update, and remove those not sent.

    A seat keeps its SKU across price changes; ecommerce re-publishes it under the same SKU.
    `staged` (a published run that ecommerce is about to be told about): a new price of a seat
    ecommerce sells waits in `pending_price`, and `price` keeps the one checkout knows, until
    ecommerce accepts it (`confirm_prices`). A price sent back to the confirmed one clears it.
    """
    for wanted in seats:
        vocabulary.require_seat_type(run.run_type, wanted.type)
    for _index, violation in rules.duplicate_seats((seat.type, seat.currency) for seat in seats):
        raise violation.error()
    state.touch(run)
    existing = {(seat.type, seat.currency): seat for seat in run.seats}
    results: list[Upserted[SeatRow]] = []
    pending = 0
    for wanted in seats:
        seat = existing.pop((wanted.type, wanted.currency), None)
        values: dict[str, object] = {
            "price": wanted.price,
            "pending_price": None,
            "upgrade_deadline": wanted.upgrade_deadline,
        }
        if (
            staged
            and seat is not None
            and seat.type in vocabulary.paid_seat_types
            and seat.currency == ECOMMERCE_CURRENCY
            and wanted.price != seat.price
        ):
            values["price"], values["pending_price"] = seat.price, wanted.price
            pending += 1
        if seat is None:
            seat = SeatRow(
                type=wanted.type,
                currency=wanted.currency,
                price=wanted.price,
                upgrade_deadline=wanted.upgrade_deadline,
            )
            state.created(seat)
            results.append(Upserted(seat, Action.CREATED))
        else:
            state.touch(seat)
            changed = assign_changed(seat, values)
            results.append(Upserted(seat, Action.UPDATED if changed else Action.UNCHANGED))
    removed = list(existing.values())
    # In creation order, as the catalog lists them: the seats kept, then the new ones.
    run.seats = [seat for seat in run.seats if seat not in removed] + [
        result.entity for result in results if result.action is Action.CREATED
    ]
    changes = SeatChanges(results, removed, pending)
    if changes.changed:
        settle(run, created=False, changed=True)
    return changes


def _check(course: CourseRow, data: CourseRunInput, vocabulary: Vocabulary) -> None:
    violation = rules.run_ends_after_start(data.start, data.end)
    if violation is not None:
        raise violation.error()
    vocabulary.require_run_type(course.course_type, data.run_type)


def _resolve_staff(state: CatalogState, external_ids: list[str]) -> list[InstructorRow]:
    wanted = list(dict.fromkeys(external_ids))
    found = {i: row for i in wanted if (row := state.instructor(i)) is not None}
    for _index, violation in rules.unknown_staff(wanted, set(found)):
        raise violation.error()
    return [found[external_id] for external_id in wanted]


def _sync_staff(run: RunRow, staff: list[InstructorRow]) -> bool:
    if run.staff == staff:
        return False
    run.staff = list(staff)
    return True


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
