"""Runs a plan's phases: the catalog steps (in a transaction the engine opens), then external
steps, then publication.

A failing catalog step rolls the whole transaction back (nothing is written) and every later
step is `skipped`. External steps run after the commit; a run is published only if its
external steps succeeded, so nothing is ever published with a price ecommerce does not know.
When no external call will be made (no ecommerce configured, or no run to publish to it), the
external steps are only recorded as skipped, and the publication joins the catalog
transaction (`publish_in_transaction`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from catalog_gateway.catalog.state import CatalogState
from catalog_gateway.db.engine import Database
from catalog_gateway.errors import CatalogGatewayError, ErrorCode, StaleEventError
from catalog_gateway.events.results import EventStatus, StepStatus, System
from catalog_gateway.gateway.context import StepContext
from catalog_gateway.gateway.plans import EventPlan, ExternalStepError, PlannedStep
from catalog_gateway.gateway.trace import Trace
from catalog_gateway.gateway.validation import Finding
from catalog_gateway.pointers import join


@dataclass(slots=True)
class Execution:
    """How a plan ended: a status (None = every step succeeded) and the errors."""

    status: EventStatus | None = None
    retryable: bool = False
    errors: list[Finding] = field(default_factory=list)


def run_catalog_steps(
    session: Session, state: CatalogState, plan: EventPlan, context: StepContext, trace: Trace
) -> Execution:
    """The catalog steps, on `state` (the catalog rows, written later with the rest of the
    request); a domain error ends them (the caller undoes what they changed)."""
    current: PlannedStep | None = None
    context.open(session, state)
    try:
        for current in plan.catalog:
            with trace.step(current.spec) as outcome:
                current.perform(context, outcome)
    except StaleEventError as error:
        return fail_catalog(
            plan, trace, Execution(EventStatus.STALE, errors=[_finding(error, current)]), current
        )
    except CatalogGatewayError as error:
        return fail_catalog(
            plan, trace, Execution(EventStatus.REJECTED, errors=[_finding(error, current)]), current
        )
    finally:
        context.session = None
        context.state = None
    return Execution()


def after_commit(
    database: Database, plan: EventPlan, context: StepContext, trace: Trace
) -> Execution:
    """External steps, then the publication of every run whose external steps succeeded.

    A failed external step fails the event (`failed`, HTTP 502); it is retryable when every
    failure was (sending the same event again then resumes).
    """
    failures: list[ExternalStepError] = []
    try:
        publishable = _external_phase(plan, context, trace, failures)
    except SQLAlchemyError:  # reading what to send
        _skip_the_rest(plan, trace, "the catalog database failed")
        return database_failure(failed_step(trace), "while publishing to ecommerce")
    try:
        _publication_phase(database, plan, context, trace, publishable)
    except SQLAlchemyError:
        published = sum(1 for r in trace.steps if r.name == "course_run.publish")
        trace.annotate_rolled_back({"course_run.publish"}, "the catalog database failed")
        trace.skip_all(
            [step.spec for step in plan.publication[published:]], "the catalog database failed"
        )
        return database_failure(failed_step(trace), "while publishing the runs")
    if not failures:
        return Execution()
    return Execution(
        EventStatus.FAILED,
        retryable=all(failure.retryable for failure in failures),
        errors=[failure.finding for failure in failures],
    )


def _external_phase(
    plan: EventPlan, context: StepContext, trace: Trace, failures: list[ExternalStepError]
) -> set[int]:
    """Run external steps; the run indexes whose external steps all succeeded or were skipped."""
    failed: set[int] = set()
    for step in plan.external:
        try:
            with trace.step(step.spec) as outcome:
                step.perform(context, outcome)
        except ExternalStepError as failure:
            failures.append(failure)
            if step.run_index is not None:
                failed.add(step.run_index)
    return set(context.runs) - failed


def publish_in_transaction(
    session: Session, state: CatalogState, plan: EventPlan, context: StepContext, trace: Trace
) -> None:
    """When no external call will be made: record the external steps as skipped and publish
    the runs in the catalog transaction (one commit, the event applied whole or not at all)."""
    publishable = _external_phase(plan, context, trace, [])
    _publish_in(session, state, plan, context, trace, publishable)


def _publication_phase(
    database: Database,
    plan: EventPlan,
    context: StepContext,
    trace: Trace,
    publishable: set[int],
) -> None:
    with database.unit_of_work() as session:
        _publish_in(session, None, plan, context, trace, publishable)


def _publish_in(
    session: Session,
    state: CatalogState | None,
    plan: EventPlan,
    context: StepContext,
    trace: Trace,
    publishable: set[int],
) -> None:
    """The publication steps on `session` and `state` (the runs not in `publishable` are
    skipped)."""
    context.open(session, state)
    try:
        for step in plan.publication:
            if step.run_index is not None and step.run_index not in publishable:
                trace.add(step.spec, StepStatus.SKIPPED, "its ecommerce step failed")
                continue
            with trace.step(step.spec) as outcome:
                step.perform(context, outcome)
    finally:
        context.session = None
        context.state = None


def fail_catalog(
    plan: EventPlan,
    trace: Trace,
    execution: Execution,
    failed: PlannedStep | None = None,
    reason: str | None = None,
) -> Execution:
    """Mark the steps that ran in the rolled-back transaction (the catalog steps, and a
    publication that joined them) as rolled back, and every later step as skipped."""
    cause = reason or f"{failed.spec.name if failed else 'catalog'} failed"
    undone = {step.spec.name for step in (*plan.catalog, *plan.publication)}
    trace.annotate_rolled_back(undone, cause)
    remaining = plan.steps[plan.steps.index(failed) + 1 :] if failed else _not_run(plan, trace)
    trace.skip_all([step.spec for step in remaining], cause)
    return execution


def _skip_the_rest(plan: EventPlan, trace: Trace, reason: str) -> None:
    """Record every step of `plan` not in the trace yet as skipped, for `reason`."""
    trace.skip_all([step.spec for step in _not_run(plan, trace)], reason)


def _not_run(plan: EventPlan, trace: Trace) -> list[PlannedStep]:
    """The steps of `plan` after those already in the trace."""
    done = sum(1 for record in trace.steps if record.system is not System.GATEWAY)
    return plan.steps[done:]


def failed_step(trace: Trace) -> str:
    """The name of the step that failed last, for errors raised outside a step's own code."""
    return next(
        (record.name for record in reversed(trace.steps) if record.status is StepStatus.FAILED),
        "catalog",
    )


def _finding(error: CatalogGatewayError, step: PlannedStep | None) -> Finding:
    base = step.path if step else None
    path = join(base, error.field) if base is not None and error.field else base
    return Finding(error.code, error.message, path, step.spec.name if step else "catalog")


UNEXPECTED_AFTER_COMMIT = (
    "the gateway failed unexpectedly after this event's catalog writes were committed (it has "
    "been logged); the catalog writes are kept, send the same event again to finish"
)


def unexpected_failure(plan: EventPlan, trace: Trace) -> Execution:
    """The answer when the gateway itself failed (a bug) after the catalog writes were
    committed: they are kept, the steps not run are skipped, and sending the same event again
    resumes it."""
    _skip_the_rest(plan, trace, "the gateway failed unexpectedly")
    finding = Finding(ErrorCode.INTERNAL_ERROR, UNEXPECTED_AFTER_COMMIT, None, failed_step(trace))
    return Execution(EventStatus.FAILED, retryable=True, errors=[finding])


def database_failure(step: str = "catalog", during: str | None = None) -> Execution:
    """The answer when the database itself failed: worth sending the same event again.

    During the catalog phase nothing was written; `during` names a later phase, after the
    catalog writes were committed.
    """
    if during is None:
        message = (
            "the catalog database failed while applying this event; nothing was written, "
            "send the same event again"
        )
    else:
        message = (
            f"the catalog database failed {during}; the catalog writes are kept, "
            "send the same event again to finish"
        )
    finding = Finding(ErrorCode.CATALOG_WRITE_FAILED, message, None, step)
    return Execution(EventStatus.FAILED, retryable=True, errors=[finding])
