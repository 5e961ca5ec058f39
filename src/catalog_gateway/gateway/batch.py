"""Batches: many events in one request, each answered, applied dependency-first.

Order (DESIGN §4): instructors, then courses and products, then runs, then degrees, then
retirements; within a group, and so always for one product, in the order given.

- `independent`: each event is handled as if sent alone.
- `all_or_nothing`: the catalog steps of every event run in ONE transaction; if any event is
  refused, the transaction is rolled back, nothing is written (not even the event log) and
  every event is answered — the culprit with its errors, the others `batch_aborted`. External
  steps and publication run after the commit, per event, as for a single event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.exc import SQLAlchemyError

from catalog_gateway.errors import ErrorCode
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
    run_catalog_steps,
)
from catalog_gateway.gateway.locks import lock_products
from catalog_gateway.gateway.service import EventGateway, Handled, Prepared, SourceProfile

APPLICATION_GROUP = {
    EventType.INSTRUCTOR_UPSERT: 0,
    EventType.COURSE_UPSERT: 1,
    EventType.PRODUCT_UPSERT: 1,
    EventType.COURSE_RUN_UPSERT: 2,
    EventType.DEGREE_UPSERT: 3,
    EventType.PRODUCT_RETIRE: 4,
}


class ErrorPolicy(StrEnum):
    """What one refused event means for the rest of its batch."""

    INDEPENDENT = "independent"
    ALL_OR_NOTHING = "all_or_nothing"


def application_order(envelopes: list[Envelope]) -> list[int]:
    """Indexes of `envelopes` in the order they are applied."""
    return sorted(
        range(len(envelopes)), key=lambda i: (APPLICATION_GROUP[envelopes[i].event_type], i)
    )


def handle_batch(
    gateway: EventGateway,
    source: SourceProfile,
    envelopes: list[Envelope],
    policy: ErrorPolicy,
    *,
    dry_run: bool = False,
) -> list[Handled]:
    """Answer every event, in the order given.

    A dry run plans each event on its own against the catalog as it is (an event that needs
    another event of the same batch applied first is planned as if that one were not sent).
    """
    if dry_run:
        return [gateway.handle(source, envelope, dry_run=True) for envelope in envelopes]
    if policy is ErrorPolicy.INDEPENDENT:
        handled = {i: gateway.handle(source, envelopes[i]) for i in application_order(envelopes)}
        return [handled[i] for i in range(len(envelopes))]
    return _AllOrNothing(gateway, source, envelopes).run()


@dataclass(slots=True)
class _Applied:
    """An event whose catalog steps ran inside the batch's transaction."""

    record_id: int
    started: float
    prepared: Prepared
    context: StepContext


class _AbortError(Exception):
    """Roll the batch's transaction back."""


class _AllOrNothing:
    def __init__(
        self, gateway: EventGateway, source: SourceProfile, envelopes: list[Envelope]
    ) -> None:
        self.gateway = gateway
        self.source = source
        self.envelopes = envelopes
        self.order = application_order(envelopes)
        self.handled: dict[int, Handled] = {}
        self.claims: dict[int, log.Claim] = {}
        self.applied: dict[int, _Applied] = {}
        self.culprit: int | None = None

    def run(self) -> list[Handled]:
        self.gateway.vocabulary()  # loaded before the transaction opens
        if self._claim_all():
            self._apply_all()
        if self.culprit is not None:
            self._abort()
        else:
            self._finish_all()
        return [self.handled[i] for i in range(len(self.envelopes))]

    def _claim_all(self) -> bool:
        for i in self.order:
            envelope, started = self.envelopes[i], time.perf_counter()
            refused = self.gateway.screen(self.source, envelope, started)
            if refused is not None:
                return self._refuse(i, refused)
            claim = log.claim(self.gateway.database, self.source.id, envelope, self.gateway.lease)
            if claim.kind is log.ClaimKind.REPLAY:
                assert claim.stored is not None
                self.handled[i] = Handled(claim.stored, replayed=True)
            elif claim.kind in (log.ClaimKind.REUSED, log.ClaimKind.IN_PROGRESS):
                reused = claim.kind is log.ClaimKind.REUSED
                answer = self.gateway.conflict(self.source, envelope, started, reused=reused)
                return self._refuse(i, answer)
            else:
                assert claim.record_id is not None
                self.claims[i] = claim
        return True

    def _apply_all(self) -> None:
        current: int | None = None
        try:
            with self.gateway.database.unit_of_work() as session:
                for i, claim in sorted(self.claims.items(), key=lambda c: self.order.index(c[0])):
                    current = i
                    envelope, started = self.envelopes[i], time.perf_counter()
                    prepared = self.gateway.prepare(self.source, envelope, session)
                    if prepared.plan is None:
                        answer = self.gateway.answer(
                            self.source, envelope, started, prepared, EventStatus.REJECTED
                        )
                        self._refuse(i, answer)
                        raise _AbortError
                    context = self.gateway.context(self.source, envelope)
                    lock_products(session, prepared.plan.lock_names(session))
                    execution = run_catalog_steps(session, prepared.plan, context, prepared.trace)
                    if execution.status is not None:
                        answer, _ = self.gateway.conclude(
                            self.source, envelope, started, prepared, context, execution
                        )
                        self._refuse(i, answer)
                        raise _AbortError
                    assert claim.record_id is not None
                    self.applied[i] = _Applied(claim.record_id, started, prepared, context)
        except _AbortError:
            pass
        except SQLAlchemyError:
            failing = current if current is not None else next(iter(self.claims))
            envelope = self.envelopes[failing]
            (finding,) = database_failure().errors
            self._refuse(
                failing,
                refusal(
                    event_id=envelope.event_id,
                    event_type=envelope.event_type.value,
                    source=self.source.slug,
                    code=finding.code,
                    message=finding.message,
                    step=finding.step,
                    status=EventStatus.FAILED,
                    retryable=True,
                ),
            )

    def _refuse(self, index: int, answer: EventAnswer) -> bool:
        self.culprit = index
        self.handled[index] = Handled(answer)
        return False

    def _abort(self) -> None:
        assert self.culprit is not None
        culprit = self.envelopes[self.culprit].event_id
        for claim in self.claims.values():
            log.release(self.gateway.database, claim)
        reason = f"rolled back: event {culprit} of this all_or_nothing batch was refused"
        for i, envelope in enumerate(self.envelopes):
            if i in self.handled:  # the culprit, or a replay of an earlier (still true) answer
                continue
            steps = []
            if i in self.applied:
                applied = self.applied[i]
                plan = applied.prepared.plan
                assert plan is not None
                fail_catalog(plan, applied.prepared.trace, Execution(), reason=reason)
                steps = applied.prepared.trace.steps
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

    def _finish_all(self) -> None:
        database = self.gateway.database
        for i, applied in self.applied.items():
            plan = applied.prepared.plan
            assert plan is not None
            execution = after_commit(database, plan, applied.context, applied.prepared.trace)
            answer, canonical = self.gateway.conclude(
                self.source,
                self.envelopes[i],
                applied.started,
                applied.prepared,
                applied.context,
                execution,
            )
            log.finish(database, applied.record_id, answer, canonical)
            self.handled[i] = Handled(answer)
