"""The event engine: one path for a single event and for a batch (a single event is a batch of
one).

    screen → claim → transform → one transaction [validate, plan, lock, catalog steps, and,
    when no external call is needed, publication and the answers] → external steps →
    publication → answers

The policy decides how events share transactions:
- `independent`: each event in a transaction of its own, as if sent alone;
- `all_or_nothing`: every event in ONE transaction; if any is refused, it is rolled back, the
  claims are released (nothing is written, not even the event log), the culprit is answered
  with its errors and every other event `batch_aborted`. External steps and publication run
  after the commit, per event, as for a single event.

Events are applied dependency-first (DESIGN §4): instructors, then courses and products, then
runs, then degrees, then retirements; within a group, and so always for one product, in the
order given. Validation runs inside the transaction that writes, so what it checked is what is
written, and an event sees what the events before it in the same transaction wrote.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from catalog_gateway.errors import DownstreamUnavailableError, ErrorCode
from catalog_gateway.events import log
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.results import EventAnswer, EventStatus, refusal
from catalog_gateway.events.types import EventType
from catalog_gateway.gateway.context import StepContext
from catalog_gateway.gateway.executor import (
    Execution,
    after_commit,
    database_failure,
    fail_catalog,
    failed_step,
    publish_in_transaction,
    run_catalog_steps,
)
from catalog_gateway.gateway.locks import lock_products
from catalog_gateway.gateway.plans import EventPlan
from catalog_gateway.gateway.service import EventGateway, Handled, Prepared, SourceProfile

APPLICATION_GROUP = {
    EventType.INSTRUCTOR_UPSERT: 0,
    EventType.COURSE_UPSERT: 1,
    EventType.PRODUCT_UPSERT: 1,
    EventType.COURSE_RUN_UPSERT: 2,
    EventType.DEGREE_UPSERT: 3,
    EventType.PRODUCT_RETIRE: 4,
}
# A unique-key race between two processes creating the same product is resolved by running the
# transaction once more: the second time, the winner's row is found and updated instead.
_TRANSACTION_ATTEMPTS = 2


class ErrorPolicy(StrEnum):
    """What one refused event means for the rest of its batch."""

    INDEPENDENT = "independent"
    ALL_OR_NOTHING = "all_or_nothing"


def application_order(envelopes: list[Envelope]) -> list[int]:
    """Indexes of `envelopes` in the order they are applied."""
    return sorted(
        range(len(envelopes)), key=lambda i: (APPLICATION_GROUP[envelopes[i].event_type], i)
    )


def apply_events(
    gateway: EventGateway,
    source: SourceProfile,
    envelopes: list[Envelope],
    policy: ErrorPolicy = ErrorPolicy.INDEPENDENT,
    *,
    dry_run: bool = False,
) -> list[Handled]:
    """Answer every event, in the order given.

    A dry run plans each event on its own against the catalog as it is (an event that needs
    another event of the same batch applied first is planned as if that one were not sent).
    """
    if dry_run:
        return [Handled(gateway.dry_run(source, envelope)) for envelope in envelopes]
    return _EventSet(gateway, source, envelopes, policy).run()


@dataclass(slots=True)
class _Event:
    """An event claimed for this request, as it goes through the engine."""

    index: int
    envelope: Envelope
    started: float
    claim: log.Claim
    transformed: Prepared
    prepared: Prepared | None = None
    context: StepContext | None = None
    answer: EventAnswer | None = None
    stored: bool = False  # the answer was stored in the transaction that applied the event

    @property
    def record_id(self) -> int:
        assert self.claim.record_id is not None
        return self.claim.record_id

    def running(self) -> tuple[Prepared, EventPlan, StepContext]:
        """What an event whose catalog steps ran has: its preparation, plan and context."""
        prepared, context = self.prepared, self.context
        if prepared is None or prepared.plan is None or context is None:
            raise RuntimeError(f"event {self.envelope.event_id} has not run")
        return prepared, prepared.plan, context


class _RollbackError(Exception):
    """Roll the transaction back: `culprit` was refused."""

    def __init__(self, culprit: _Event) -> None:
        super().__init__("roll back")
        self.culprit = culprit


class _EventSet:
    """The events of one request, applied under one policy."""

    def __init__(
        self,
        gateway: EventGateway,
        source: SourceProfile,
        envelopes: list[Envelope],
        policy: ErrorPolicy,
    ) -> None:
        self.gateway = gateway
        self.source = source
        self.envelopes = envelopes
        self.policy = policy
        self.handled: dict[int, Handled] = {}
        self.claimed: list[_Event] = []
        self.culprit: int | None = None
        self.applied: list[_Event] = []  # under all_or_nothing: what ran before the culprit
        self.current: _Event | None = None  # whose steps the open transaction is running

    def run(self) -> list[Handled]:
        self._claim_all()
        self.gateway.vocabulary()  # loaded before a transaction opens
        pending = list(self.claimed)
        try:
            if self.culprit is None:
                if self.policy is ErrorPolicy.INDEPENDENT:
                    while pending:
                        self._apply([pending[0]])
                        pending.pop(0)
                else:
                    self._apply(pending)
                    pending = []
        except BaseException:
            for event in pending:
                log.release(self.gateway.database, event.claim)
            raise
        if self.culprit is not None and self.policy is ErrorPolicy.ALL_OR_NOTHING:
            self._abort()
        return [self.handled[i] for i in range(len(self.envelopes))]

    # --- claiming ---------------------------------------------------------------------------

    def _claim_all(self) -> None:
        """Screen and claim each event in application order; the answers of those that will not
        run (refused, a stored answer again, a conflict). Under `all_or_nothing`, the first
        refusal stops the claiming: nothing of the batch will run."""
        gateway, source = self.gateway, self.source
        for i in application_order(self.envelopes):
            envelope, started = self.envelopes[i], time.perf_counter()
            refused = gateway.screen(source, envelope, started)
            if refused is not None:
                if self._refuse(i, refused):
                    return
                continue
            claim = log.claim(gateway.database, source.id, envelope, gateway.lease)
            if claim.kind is log.ClaimKind.REPLAY:
                assert claim.stored is not None
                self.handled[i] = Handled(claim.stored, replayed=True)
            elif claim.kind in (log.ClaimKind.REUSED, log.ClaimKind.IN_PROGRESS):
                reused = claim.kind is log.ClaimKind.REUSED
                if self._refuse(i, gateway.conflict(source, envelope, started, reused=reused)):
                    return
            else:
                transformed = gateway.transform(source, envelope)
                self.claimed.append(_Event(i, envelope, started, claim, transformed))

    def _refuse(self, index: int, answer: EventAnswer) -> bool:
        """Answer an event that will not run; True when that ends the batch."""
        self.handled[index] = Handled(answer)
        if self.policy is ErrorPolicy.ALL_OR_NOTHING:
            self.culprit = index
            return True
        return False

    # --- applying ---------------------------------------------------------------------------

    def _apply(self, events: list[_Event]) -> None:
        """Apply `events` in one transaction, then their external steps; answer each."""
        for attempt in range(1, _TRANSACTION_ATTEMPTS + 1):
            try:
                with self.gateway.database.unit_of_work() as session:
                    self._write(session, events)
                break
            except _RollbackError as rollback:
                self._refused(events, rollback.culprit)
                return
            except IntegrityError:
                if attempt == _TRANSACTION_ATTEMPTS:
                    self._database_failed(events)
                    return
            except SQLAlchemyError:
                self._database_failed(events)
                return
        for event in events:
            if event.stored:
                assert event.answer is not None
                self.handled[event.index] = Handled(event.answer)
            else:
                self._finish(event)

    def _write(self, session: Session, events: list[_Event]) -> None:
        """Validate, plan and run the catalog steps of each event; then, for those that need no
        external call, the publication and the stored answer, in the same transaction."""
        gateway, source = self.gateway, self.source
        for event in events:
            self.current = event
            event.stored, event.answer = False, None
            prepared = gateway.validate_and_plan(source, event.envelope, event.transformed, session)
            event.prepared = prepared
            plan = prepared.plan
            if plan is None:
                event.answer = gateway.answer(
                    source, event.envelope, event.started, prepared, EventStatus.REJECTED
                )
                raise _RollbackError(event)
            ecommerce = gateway.ecommerce
            if plan.external and ecommerce is not None and ecommerce.breaker.is_open():
                raise DownstreamUnavailableError(
                    "ecommerce is failing, so no event that publishes to it is started; "
                    "nothing was changed: send the event again after Retry-After seconds",
                    retry_after=ecommerce.breaker.retry_after(),
                )
            event.context = gateway.context(source, event.envelope)
            lock_products(session, plan.lock_names(session))
            execution = run_catalog_steps(session, plan, event.context, prepared.trace)
            if execution.status is not None:
                event.answer = self._conclude(event, execution)
                raise _RollbackError(event)
        for event in events:
            prepared, plan, context = event.running()
            if context.publisher is None or not plan.external:
                publish_in_transaction(session, plan, context, prepared.trace)
                event.answer = self._conclude(event, Execution())
                log.record_answer(session, event.record_id, event.answer, prepared.canonical)
                event.stored = True

    def _finish(self, event: _Event) -> None:
        """External steps and publication after the commit, then the stored answer."""
        prepared, plan, context = event.running()
        execution = after_commit(self.gateway.database, plan, context, prepared.trace)
        event.answer = self._conclude(event, execution)
        self._store(event)

    def _conclude(self, event: _Event, execution: Execution) -> EventAnswer:
        prepared, context = event.prepared or event.transformed, event.context
        if context is None:  # it failed before its steps could run
            context = self.gateway.context(self.source, event.envelope)
        answer, _canonical = self.gateway.conclude(
            self.source, event.envelope, event.started, prepared, context, execution
        )
        return answer

    def _store(self, event: _Event) -> None:
        assert event.answer is not None
        canonical = event.prepared.canonical if event.prepared else event.transformed.canonical
        log.finish(self.gateway.database, event.record_id, event.answer, canonical)
        self.handled[event.index] = Handled(event.answer)

    # --- refusals and failures --------------------------------------------------------------

    def _refused(self, events: list[_Event], culprit: _Event) -> None:
        """`culprit` was refused inside the transaction, which was rolled back."""
        assert culprit.answer is not None
        if self.policy is ErrorPolicy.INDEPENDENT:
            self._store(culprit)  # a refusal is an answer the event log keeps
            return
        self.handled[culprit.index] = Handled(culprit.answer)
        self.culprit = culprit.index
        self.applied = events[: events.index(culprit)]

    def _database_failed(self, events: list[_Event]) -> None:
        """The database failed while the transaction ran: nothing of it was written."""
        if self.policy is ErrorPolicy.INDEPENDENT:
            (event,) = events
            prepared = event.prepared or event.transformed
            failure = database_failure(failed_step(prepared.trace))
            if prepared.plan is not None:
                fail_catalog(prepared.plan, prepared.trace, failure)
            event.answer = self._conclude(event, failure)
            self._store(event)
            return
        failing = self.current or events[0]
        (finding,) = database_failure().errors
        self.handled[failing.index] = Handled(
            refusal(
                event_id=failing.envelope.event_id,
                event_type=failing.envelope.event_type.value,
                source=self.source.slug,
                code=finding.code,
                message=finding.message,
                step=finding.step,
                status=EventStatus.FAILED,
                retryable=True,
            )
        )
        self.culprit = failing.index
        self.applied = events[: events.index(failing)]

    def _abort(self) -> None:
        """Release every claim and answer every event not answered yet `batch_aborted`."""
        assert self.culprit is not None
        culprit = self.envelopes[self.culprit].event_id
        for event in self.claimed:
            log.release(self.gateway.database, event.claim)
        reason = f"event {culprit} of this all_or_nothing batch was refused"
        ran = {event.index: event for event in self.applied}
        for i, envelope in enumerate(self.envelopes):
            if i in self.handled:  # the culprit, or a replay of an earlier (still true) answer
                continue
            steps = []
            if i in ran:
                prepared, plan, _context = ran[i].running()
                fail_catalog(plan, prepared.trace, Execution(), reason=reason)
                steps = prepared.trace.steps
            self.handled[i] = Handled(
                refusal(
                    event_id=envelope.event_id,
                    event_type=envelope.event_type.value,
                    source=self.source.slug,
                    code=ErrorCode.BATCH_ABORTED,
                    message=f"not applied: event {culprit} of this all_or_nothing batch was "
                    "refused, so nothing of the batch was written",
                    step="batch",
                    steps=steps,
                )
            )
