"""Plans: the ordered steps each event type needs (DESIGN §6).

Steps are grouped by kind and always listed in this order: instructor upserts, the course, the
runs, their seats (all in one database transaction), the ecommerce publications, then the run
publications. A plan is built from the validated payload before anything runs, so a failure
can list every later step as `skipped`, and a dry run can show the whole plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from catalog_gateway.catalog.changes import Action
from catalog_gateway.catalog.courses import find_course, retire_course, upsert_course
from catalog_gateway.catalog.degrees import find_degree, retire_degree, upsert_degree
from catalog_gateway.catalog.inputs import CourseInput, CourseRunInput, InstructorInput
from catalog_gateway.catalog.instructors import upsert_instructor
from catalog_gateway.catalog.models import CourseRun, RunStatus
from catalog_gateway.catalog.reference import SOLD_BY_SOURCE_RUN_TYPES
from catalog_gateway.catalog.runs import match_run, sync_seats, upsert_course_run
from catalog_gateway.catalog.state import RunRow
from catalog_gateway.catalog.status import publish
from catalog_gateway.errors import StaleEventError
from catalog_gateway.events.payloads import (
    CourseReference,
    CourseRunUpsert,
    CourseUpsert,
    DegreeUpsert,
    InstructorUpsert,
    Payload,
    ProductRetire,
    ProductUpsert,
)
from catalog_gateway.events.results import StepStatus, System
from catalog_gateway.gateway.context import StepContext
from catalog_gateway.gateway.publication import PublicationError
from catalog_gateway.gateway.trace import Outcome, StepSpec
from catalog_gateway.gateway.validation import Finding
from catalog_gateway.pointers import join
from catalog_gateway.text import counted

ValueT = TypeVar("ValueT")
StepFunction = Callable[[StepContext, Outcome], None]
ECOMMERCE_NOT_CONFIGURED = "ecommerce not configured"
SOLD_BY_SOURCE = "sold by the source"


@dataclass(slots=True)
class PlannedStep:
    """A step and the code that performs it; `path` locates its data in the canonical payload."""

    spec: StepSpec
    perform: StepFunction
    path: str | None = None
    run_index: int | None = None
    calls_out: bool = True  # an external step that calls the external system


@dataclass(slots=True)
class EventPlan:
    """The three phases of an event: catalog steps, external steps, publication."""

    catalog: list[PlannedStep] = field(default_factory=list)
    external: list[PlannedStep] = field(default_factory=list)
    publication: list[PlannedStep] = field(default_factory=list)

    @property
    def calls_out(self) -> bool:
        """True if an external step will call an external system (after the commit)."""
        return any(step.calls_out for step in self.external)

    @property
    def steps(self) -> list[PlannedStep]:
        """Every step, in trace order."""
        return [*self.catalog, *self.external, *self.publication]


def build_plan(payload: Payload, paid_seat_types: frozenset[str]) -> EventPlan:
    """The plan for a validated canonical payload."""
    if isinstance(payload, ProductUpsert):
        return _product_plan(payload, paid_seat_types)
    if isinstance(payload, CourseRunUpsert):
        return _course_run_plan(payload, paid_seat_types)
    if isinstance(payload, CourseUpsert):
        course = payload.course
        return EventPlan(
            catalog=[_course_step(course)],
        )
    if isinstance(payload, InstructorUpsert):
        instructor = payload.instructor
        return EventPlan(
            catalog=[_instructor_step(instructor, "/instructor", root=True)],
        )
    if isinstance(payload, DegreeUpsert):
        return _degree_plan(payload)
    return _retire_plan(payload)


# --- plans ------------------------------------------------------------------------------


def _product_plan(payload: ProductUpsert, paid_seat_types: frozenset[str]) -> EventPlan:
    runs = list(enumerate(payload.course_runs))
    return EventPlan(
        catalog=[
            *(
                _instructor_step(instructor, join("/instructors", index), root=False)
                for index, instructor in enumerate(payload.instructors)
            ),
            _course_step(payload.course),
            *(
                _run_step(run, index, join("/course_runs", index), root=False)
                for index, run in runs
            ),
            *(_seats_step(run, index, join("/course_runs", index)) for index, run in runs),
        ],
        external=[
            _external_step(run, index, join("/course_runs", index))
            for index, run in runs
            if _sold_by_source(run) or _is_paid(run, paid_seat_types)
        ],
        publication=[_publish_step(run, index) for index, run in runs],
    )


def _course_run_plan(payload: CourseRunUpsert, paid_seat_types: frozenset[str]) -> EventPlan:
    run = payload.run

    return EventPlan(
        catalog=[
            *(
                _instructor_step(instructor, join("/instructors", index), root=False)
                for index, instructor in enumerate(payload.instructors)
            ),
            _run_step(run, 0, "/run", root=True, course_reference=payload.course),
            _seats_step(run, 0, "/run"),
        ],
        external=(
            [_external_step(run, 0, "/run")]
            if _sold_by_source(run) or _is_paid(run, paid_seat_types)
            else []
        ),
        publication=[_publish_step(run, 0)],
    )


def _degree_plan(payload: DegreeUpsert) -> EventPlan:
    degree = payload.degree

    def perform(ctx: StepContext, outcome: Outcome) -> None:
        result = upsert_degree(
            ctx.catalog,
            degree,
            ctx.vocabulary,
            ctx.organization(degree.organization),
            occurred_at=ctx.occurred_at,
        )
        outcome.action = result.action.value
        outcome.target = f"degree:{result.entity.marketing_slug}"
        ctx.note(ctx.products.degrees, result.entity.marketing_slug)

    spec = StepSpec("degree.upsert", System.CATALOG, f"degree:{degree.marketing_slug}")
    return EventPlan(
        catalog=[PlannedStep(spec, perform, "/degree")],
    )


def _retire_plan(payload: ProductRetire) -> EventPlan:
    if payload.degree is not None:
        external_id = payload.degree.external_id

        def retire_the_degree(ctx: StepContext, outcome: Outcome) -> None:
            degree = find_degree(ctx.catalog, external_id)
            result = retire_degree(ctx.catalog, degree, occurred_at=ctx.occurred_at)
            outcome.action = result.action.value
            outcome.target = f"degree:{degree.marketing_slug}"
            ctx.note(ctx.products.degrees, degree.marketing_slug)

        spec = StepSpec("degree.retire", System.CATALOG, f"degree:{external_id}")
        return EventPlan(
            catalog=[PlannedStep(spec, retire_the_degree, "/degree")],
        )
    reference = payload.course
    assert reference is not None

    def retire_the_course(ctx: StepContext, outcome: Outcome) -> None:
        course = find_course(ctx.catalog, external_id=reference.external_id, key=reference.key)
        archived_before = sum(1 for run in course.runs if run.status is RunStatus.ARCHIVED)
        result = retire_course(ctx.catalog, course, occurred_at=ctx.occurred_at)
        archived = sum(1 for run in course.runs if run.status is RunStatus.ARCHIVED)
        outcome.action = result.action.value
        outcome.target = f"course:{course.key}"
        outcome.detail = f"{counted(archived - archived_before, 'course run')} archived"
        ctx.note(ctx.products.courses, course.key)
        # In start order, whether the runs were loaded (ordered) or created in this transaction.
        for run in sorted(course.runs, key=lambda run: (run.start, run.key)):
            ctx.note(ctx.products.course_runs, run.key)

    spec = StepSpec("course.retire", System.CATALOG, _course_label(reference))
    return EventPlan(
        catalog=[PlannedStep(spec, retire_the_course, "/course")],
    )


# --- steps ------------------------------------------------------------------------------


def _instructor_step(data: InstructorInput, path: str, *, root: bool) -> PlannedStep:
    def perform(ctx: StepContext, outcome: Outcome) -> None:
        if ctx.unchanged is not None:
            loaded = ctx.unchanged.instructors[data.external_id]
            outcome.action = Action.UNCHANGED.value
            ctx.note(ctx.products.instructors, str(loaded.uuid))
            return
        try:
            result = upsert_instructor(ctx.catalog, data, occurred_at=ctx.occurred_at)
        except StaleEventError:
            if root:
                raise
            outcome.action = Action.UNCHANGED.value
            outcome.detail = ctx.keep_newer(
                f"instructor {data.external_id}", path, "instructor.upsert"
            )
            return
        outcome.action = result.action.value
        ctx.note(ctx.products.instructors, str(result.entity.uuid))

    spec = StepSpec("instructor.upsert", System.CATALOG, f"instructor:{data.external_id}")
    return PlannedStep(spec, perform, path)


def _course_step(data: CourseInput) -> PlannedStep:
    def perform(ctx: StepContext, outcome: Outcome) -> None:
        if ctx.unchanged is not None:
            key = _require(ctx.unchanged.course).key
            outcome.action = Action.UNCHANGED.value
            outcome.target = f"course:{key}"
            ctx.note(ctx.products.courses, key)
            return
        result = upsert_course(
            ctx.catalog,
            data,
            ctx.vocabulary,
            ctx.organization(data.organization),
            occurred_at=ctx.occurred_at,
        )
        ctx.course = result.entity
        outcome.action = result.action.value
        outcome.target = f"course:{result.entity.key}"
        ctx.note(ctx.products.courses, result.entity.key)

    spec = StepSpec("course.upsert", System.CATALOG, f"course:{data.external_id}")
    return PlannedStep(spec, perform, "/course")


def _run_step(
    data: CourseRunInput,
    index: int,
    path: str,
    *,
    root: bool,
    course_reference: CourseReference | None = None,
) -> PlannedStep:
    def perform(ctx: StepContext, outcome: Outcome) -> None:
        if ctx.unchanged is not None:
            loaded = ctx.runs[index] = ctx.unchanged.runs[index]
            outcome.action = Action.UNCHANGED.value
            outcome.target = f"course_run:{loaded.key}"
            ctx.note(ctx.products.course_runs, loaded.key)
            return
        if course_reference is not None:
            ctx.course = find_course(
                ctx.catalog, external_id=course_reference.external_id, key=course_reference.key
            )
        course = _require(ctx.course)
        try:
            result = upsert_course_run(
                ctx.catalog, course, data, ctx.vocabulary, occurred_at=ctx.occurred_at
            )
        except StaleEventError:
            if root:
                raise
            kept = _require(match_run(course, data))
            ctx.runs[index] = kept
            ctx.kept_runs.add(index)
            outcome.action = Action.UNCHANGED.value
            outcome.target = f"course_run:{kept.key}"
            outcome.detail = ctx.keep_newer(f"course run {kept.key}", path, "course_run.upsert")
            return
        run = result.entity
        ctx.runs[index] = run
        outcome.action = result.action.value
        outcome.target = f"course_run:{run.key}"
        ctx.note(ctx.products.course_runs, run.key)

    spec = StepSpec("course_run.upsert", System.CATALOG, _run_label(data))
    return PlannedStep(spec, perform, path, index)


def _seats_step(data: CourseRunInput, index: int, path: str) -> PlannedStep:
    def perform(ctx: StepContext, outcome: Outcome) -> None:
        run = ctx.runs[index]
        outcome.target = f"course_run:{run.key}"
        if index in ctx.kept_runs:
            outcome.action = Action.UNCHANGED.value
            outcome.detail = "seats kept with their run's newer data"
            return
        counts = dict.fromkeys(Action, 0)
        if ctx.unchanged is not None:  # the run's seats are those sent
            counts[Action.UNCHANGED] = len(data.seats)
            outcome.detail = _seats_detail(counts, removed=0)
            outcome.action = Action.UNCHANGED.value
            return
        # A published run's new prices wait for ecommerce to accept them (its step comes next).
        staged = (
            ctx.publisher is not None
            and run.status is RunStatus.PUBLISHED
            and not _sold_by_source(data)
        )
        changes = sync_seats(ctx.catalog, run, data.seats, ctx.vocabulary, staged=staged)
        for seat in changes.seats:
            counts[seat.action] += 1
        outcome.detail = _seats_detail(counts, removed=len(changes.removed))
        if changes.pending:
            outcome.detail += "; " + (
                "1 new price waits for ecommerce to accept it"
                if changes.pending == 1
                else f"{changes.pending} new prices wait for ecommerce to accept them"
            )
        if not changes.changed:
            outcome.action = Action.UNCHANGED.value
        elif counts[Action.CREATED] == len(changes.seats) and not changes.removed:
            outcome.action = Action.CREATED.value
        else:
            outcome.action = Action.UPDATED.value

    spec = StepSpec("seat.upsert", System.CATALOG, _run_label(data))
    return PlannedStep(spec, perform, join(path, "seats"), index)


def _ecommerce_step(data: CourseRunInput, index: int, path: str) -> PlannedStep:
    """Publish the run to ecommerce; a failure names the run (`path`), so it can be traced
    back to the source's own variant."""

    def perform(ctx: StepContext, outcome: Outcome) -> None:
        run = ctx.runs[index]
        outcome.target = f"course_run:{run.key}"
        if ctx.publisher is None:
            outcome.status = StepStatus.SKIPPED
            outcome.detail = ECOMMERCE_NOT_CONFIGURED
            return
        try:
            result = ctx.publisher.publish_run(_require(run.id), budget=ctx.budget_left())
        except PublicationError as error:
            outcome.detail = error.detail
            raise ExternalStepError(
                Finding(error.code, error.message, path, "ecommerce.publish", error.detail),
                retryable=error.retryable,
            ) from error
        outcome.action = (Action.UPDATED if result.changed else Action.UNCHANGED).value
        outcome.detail = result.detail

    spec = StepSpec("ecommerce.publish", System.ECOMMERCE, _run_label(data))
    return PlannedStep(spec, perform, path, index)


def _seats_detail(counts: dict[Action, int], *, removed: int) -> str:
    return (
        f"{counts[Action.CREATED]} created, {counts[Action.UPDATED]} updated, "
        f"{counts[Action.UNCHANGED]} unchanged, {removed} removed"
    )


def _external_step(data: CourseRunInput, index: int, path: str) -> PlannedStep:
    """The run's ecommerce step: publishing its paid seats, or, for a run the source sells
    itself, a step that says so and calls nothing."""
    if not _sold_by_source(data):
        return _ecommerce_step(data, index, path)

    def perform(ctx: StepContext, outcome: Outcome) -> None:
        outcome.target = f"course_run:{ctx.runs[index].key}"
        outcome.status = StepStatus.SKIPPED
        outcome.detail = SOLD_BY_SOURCE

    spec = StepSpec("ecommerce.publish", System.ECOMMERCE, _run_label(data))
    return PlannedStep(spec, perform, path, index, calls_out=False)


class ExternalStepError(Exception):
    """An external step failed; the event goes on with its other runs, then answers `failed`."""

    def __init__(self, finding: Finding, *, retryable: bool) -> None:
        super().__init__(finding.message)
        self.finding = finding
        self.retryable = retryable


def _publish_step(data: CourseRunInput, index: int) -> PlannedStep:
    def perform(ctx: StepContext, outcome: Outcome) -> None:
        known = ctx.runs[index]
        if ctx.unchanged is not None:  # found published already
            outcome.target = f"course_run:{known.key}"
            outcome.action = Action.UNCHANGED.value
            outcome.detail = f"status {known.status.value}"
            return
        run: RunRow | CourseRun
        if ctx.state is not None:  # in the catalog transaction: written with the rest
            run = known
            ctx.state.touch(run)
        else:  # after external steps: the run as stored now, written at once
            run = _require(ctx.db.get(CourseRun, known.id))
        outcome.target = f"course_run:{run.key}"
        before = run.status
        if publish(run, ctx.now):
            if ctx.state is None:
                ctx.db.flush()  # a refusal is this step's failure, not a later step's
            outcome.action = Action.UPDATED.value
            outcome.detail = f"status {before.value} → {run.status.value}"
        else:
            outcome.action = Action.UNCHANGED.value
            outcome.detail = f"status {run.status.value}"

    spec = StepSpec("course_run.publish", System.CATALOG, _run_label(data))
    return PlannedStep(spec, perform, None, index)


# --- helpers ----------------------------------------------------------------------------


def _sold_by_source(run: CourseRunInput) -> bool:
    return run.run_type in SOLD_BY_SOURCE_RUN_TYPES


def _is_paid(run: CourseRunInput, paid_seat_types: frozenset[str]) -> bool:
    return any(seat.type in paid_seat_types for seat in run.seats)


def _run_label(run: CourseRunInput) -> str:
    return f"course_run:{run.external_id or run.start.isoformat()}"


def _course_label(reference: CourseReference) -> str:
    return f"course:{reference.key or reference.external_id}"


def _require(value: ValueT | None) -> ValueT:
    if value is None:
        raise RuntimeError("a step ran before the step it depends on")
    return value
