"""The event engine: one path for a single event and for a batch (a single event is a batch of
one).

    screen → one transaction [load the event log rows of every event; per event: claim,
    transform, validate, plan, lock, catalog steps, and, when no external call is needed,
    publication and the stored answer] → per event with an external call: external steps,
    publication, stored answer

Every event of a request shares that one transaction; the policy decides what a refusal costs:
- `independent`: each event runs in a savepoint of its own, so a refused event is rolled back
  alone and its answer is stored beside the others'. If the transaction itself fails (the
  database, not an event), each event is run again in a transaction of its own, which isolates
  the one that fails.
- `all_or_nothing`: if any event is refused, the transaction is rolled back: nothing is written
  (not even the event log), the culprit is answered with its errors and every other event
  `batch_aborted`.
A unique-key race with another process (two requests creating one product) runs the
transaction once more: the second time, the winner's rows are found.

Events are applied dependency-first (DESIGN §4): instructors, then courses and products, then
runs, then degrees, then retirements; within a group, and so always for one product, in the
order given. Validation runs inside the transaction that writes, so what it checked is what is
written, and an event sees what the events before it wrote.

The work comes in three stages, which the HTTP path runs on different threads (`gateway.lane`):
`prepare` (screen and transform: CPU only, no database), `commit` (the transaction; the writer
lane, which commits the sets of several requests of one source together, see `commit_together`)
and `finish` (the external steps of the events that need them, after the commit).
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from catalog_gateway.catalog.loading import CoreLoader
from catalog_gateway.catalog.organizations import resolve_organization
from catalog_gateway.catalog.state import CatalogState, Loader
from catalog_gateway.catalog.writing import write
from catalog_gateway.errors import ErrorCode
from catalog_gateway.events import log
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.results import EventAnswer, EventStatus, StepRecord, refusal
from catalog_gateway.events.types import EventType
from catalog_gateway.gateway import resumed
from catalog_gateway.gateway.context import StepContext
from catalog_gateway.gateway.executor import (
    UNEXPECTED_AFTER_COMMIT,
    Execution,
    after_commit,
    database_failure,
    fail_catalog,
    failed_step,
    publish_in_transaction,
    run_catalog_steps,
    unexpected_failure,
)
from catalog_gateway.gateway.locks import lock_products
from catalog_gateway.gateway.names import names_of
from catalog_gateway.gateway.plans import EventPlan
from catalog_gateway.gateway.resumed import carry_over
from catalog_gateway.gateway.service import (
    EventGateway,
    Handled,
    Prepared,
    References,
    SourceProfile,
)
from catalog_gateway.gateway.unchanged import Unchanged, find_unchanged
from catalog_gateway.gateway.validation import Finding

logger = logging.getLogger(__name__)

APPLICATION_GROUP = {
    EventType.INSTRUCTOR_UPSERT: 0,
    EventType.COURSE_UPSERT: 1,
    EventType.PRODUCT_UPSERT: 1,
    EventType.COURSE_RUN_UPSERT: 2,
    EventType.DEGREE_UPSERT: 3,
    EventType.PRODUCT_RETIRE: 4,
}
_TRANSACTION_ATTEMPTS = 2
_OUTAGE = 3
"""Events in a row whose transactions all lost their connection: the database is taken to be
down, and the events of the set not tried yet are answered `catalog_write_failed` at once."""


class ErrorPolicy(StrEnum):
    """What one refused event means for the rest of its batch."""

    INDEPENDENT = "independent"
    ALL_OR_NOTHING = "all_or_nothing"


class _NoLoader(Loader):
    """The state outside a transaction: it holds nothing and reads nothing."""


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
    (committed,) = commit_together([prepare_events(gateway, source, envelopes, policy)])
    return committed.finish()


def unavailable(source: str, event_id: str, event_type: str) -> EventAnswer:
    """The answer to an event the database failed before or while it ran (nothing of it was
    written): `failed`, `catalog_write_failed`, retryable."""
    (finding,) = database_failure().errors
    return _failed(source, event_id, event_type, finding)


def _failed(source: str, event_id: str, event_type: str, finding: Finding) -> EventAnswer:
    """`failed`, retryable, for the one reason `finding`, with no trace."""
    return refusal(
        event_id=event_id,
        event_type=event_type,
        source=source,
        code=finding.code,
        message=finding.message,
        step=finding.step,
        status=EventStatus.FAILED,
        retryable=True,
    )


def prepare_events(
    gateway: EventGateway,
    source: SourceProfile,
    envelopes: list[Envelope],
    policy: ErrorPolicy = ErrorPolicy.INDEPENDENT,
) -> EventSet:
    """The events screened and transformed, ready to commit (`commit_together`)."""
    events = EventSet(gateway, source, envelopes, policy)
    events.prepare()
    return events


class Committed:
    """One prepared set's share of a committed set: its events' answers once `finish`ed (or
    the unexpected error its transaction raised: a bug, raised again by `finish`)."""

    def __init__(
        self, events: EventSet, indexes: range, error: BaseException | None = None
    ) -> None:
        self._events = events
        self._indexes = indexes
        self._error = error
        # Created once the transaction has ended: which of its events committed is known.
        self._committed = [event for event in events.committed if event.index in indexes]

    @property
    def calls_out(self) -> bool:
        """True when some of its events still have external steps to run (`finish` does)."""
        return self._error is None and any(event.external for event in self._committed)

    def finish(self) -> list[Handled]:
        """Run the external steps of its committed events that need them, then answer each of
        its events, in the order they were sent."""
        if self._error is not None:
            raise self._error
        self._events.finish(self._committed)
        return [self._events.handled[i] for i in self._indexes]


def commit_together(sets: list[EventSet]) -> list[Committed]:
    """Commit prepared sets; those of one source whose events stand alone (`independent`) share
    one transaction. Returns each set's share, in the order given."""
    shares: list[Committed | None] = [None] * len(sets)
    together: dict[int, list[int]] = {}
    for position, events in enumerate(sets):
        if events.independent and events.events:
            together.setdefault(events.source.id, []).append(position)
        else:  # all_or_nothing (its own transaction), or nothing to run
            (shares[position],) = _commit(events, [range(len(events.envelopes))])
    for positions in together.values():
        merged, ranges = EventSet.merged([sets[p] for p in positions])
        for position, share in zip(positions, _commit(merged, ranges), strict=True):
            shares[position] = share
    return [share for share in shares if share is not None]


def _commit(events: EventSet, ranges: list[range]) -> list[Committed]:
    """Commit `events`; a bug raised on the way is kept for the requests it concerns only."""
    try:
        events.commit()
    except Exception as error:
        logger.exception("committing the events of %d requests failed", len(ranges))
        return [Committed(events, indexes, error) for indexes in ranges]
    return [Committed(events, indexes) for indexes in ranges]


@dataclass(slots=True)
class _Event:
    """One event of the request, as it goes through the engine."""

    index: int
    envelope: Envelope
    started: float
    digest: str
    transformed: Prepared | None = None  # kept across attempts: the transform needs no catalog
    claim: log.Claim | None = None
    prepared: Prepared | None = None
    context: StepContext | None = None
    answer: EventAnswer | None = None
    replayed: bool = False
    external: bool = False  # its external steps and publication run after the commit
    record_id: int | None = None  # its event-log record, once stored
    retry_after: int | None = None  # refused before it ran: a downstream is unavailable

    def reset(self) -> None:
        """Forget what a transaction that did not commit did."""
        self.claim = self.prepared = self.context = self.answer = None
        self.replayed = self.external = False
        self.record_id = self.retry_after = None

    def running(self) -> tuple[Prepared, EventPlan, StepContext]:
        """What an event whose catalog steps ran has: its preparation, plan and context."""
        prepared, context = self.prepared, self.context
        if prepared is None or prepared.plan is None or context is None:
            raise RuntimeError(f"event {self.envelope.event_id} has not run")
        return prepared, prepared.plan, context


class _RefusedError(Exception):
    """The event being run was refused: undo its work (its answer is set)."""


@dataclass(slots=True)
class _Outcome:
    """How a transaction over a set of events ended."""

    committed: bool
    culprit: _Event | None = None  # all_or_nothing: the refused event
    ran: list[_Event] = field(default_factory=list)  # all_or_nothing: what ran before it
    disconnected: bool = False  # the database connection was lost, on every attempt


class EventSet:
    """The events of one request (or, merged, of several requests of one source), applied under
    one policy."""

    def __init__(
        self,
        gateway: EventGateway,
        source: SourceProfile,
        envelopes: list[Envelope],
        policy: ErrorPolicy,
        *,
        references: References | None = None,
    ) -> None:
        self.gateway = gateway
        self.source = source
        self.envelopes = envelopes
        self.policy = policy
        self.independent = policy is ErrorPolicy.INDEPENDENT
        self.handled: dict[int, Handled] = {}
        self.current: _Event | None = None  # the event the open transaction is running
        self.state = CatalogState(source.id, _NoLoader())  # the catalog the events change
        self.entries: list[log.Entry] = []  # the event-log records to store
        self.seen: dict[str, _Event] = {}  # the events run so far in the transaction, by id
        # Read before any transaction opens; the request's events all resolve against it.
        self.references: References = references or gateway.references(source.id)
        self.events: list[_Event] = []  # the events to run, in application order
        self.committed: list[_Event] = []  # the events of transactions that committed

    @classmethod
    def merged(cls, sets: list[EventSet]) -> tuple[EventSet, list[range]]:
        """One set of the prepared `independent` sets of one source, and where each one's
        events are in it."""
        first = sets[0]
        merged = cls(first.gateway, first.source, [], first.policy, references=first.references)
        ranges = []
        for events in sets:
            offset = len(merged.envelopes)
            merged.envelopes.extend(events.envelopes)
            merged.handled.update({offset + i: h for i, h in events.handled.items()})
            for event in events.events:
                event.index += offset
                merged.events.append(event)
            ranges.append(range(offset, len(merged.envelopes)))
        merged.events.sort(key=lambda e: (APPLICATION_GROUP[e.envelope.event_type], e.index))
        return merged, ranges

    def prepare(self) -> None:
        """Screen and transform every event: CPU work only, no catalog and no transaction."""
        self.events = self._screen() or []
        for event in self.events:
            event.transformed = self.gateway.transform(self.source, event.envelope, self.references)

    def commit(self) -> None:
        """Run the prepared events' transaction(s); their answers, but for the external steps
        of those that need them, are then known (`finish`)."""
        if not self.events:
            return
        if self.independent:
            self._apply_independent(self.events)
        else:
            self._apply_all_or_nothing(self.events)

    def finish(self, committed: list[_Event]) -> None:
        """Answer `committed` (events of this set whose transaction committed), running the
        external steps and publication of those that need them."""
        self._after_commit(committed)

    def _screen(self) -> list[_Event] | None:
        """The events to run, in application order, after answering those refused before they
        run; None when such a refusal ends an all_or_nothing batch."""
        events = []
        for i in application_order(self.envelopes):
            envelope, started = self.envelopes[i], time.perf_counter()
            refused = self.gateway.screen(self.source, envelope, started)
            if refused is None:
                digest = log.payload_hash(envelope.event_type.value, envelope.payload)
                events.append(_Event(i, envelope, started, digest))
                continue
            self.handled[i] = Handled(refused)
            if not self.independent:
                self._abort(i, [])
                return None
        return events

    # --- policies ---------------------------------------------------------------------------

    def _apply_independent(self, events: list[_Event]) -> None:
        outcome = self._transaction(events)
        if outcome.committed:
            self.committed.extend(events)
        elif len(events) > 1:  # the database failed: find which event it fails on
            self._apply_one_by_one(events)
        else:
            self._store_database_failure(events[0])

    def _apply_one_by_one(self, events: list[_Event]) -> None:
        """Each event in a transaction of its own, which isolates one the database fails on;
        unless the database is gone (its connection lost `_OUTAGE` times in a row): the events
        not tried yet are then answered at once, rather than each waiting on it in turn."""
        lost = 0
        for position, event in enumerate(events):
            outcome = self._transaction([event])
            if outcome.committed:
                self.committed.append(event)
                lost = 0
                continue
            self._store_database_failure(event)
            lost = lost + 1 if outcome.disconnected else 0
            if lost == _OUTAGE:
                for untried in events[position + 1 :]:
                    self.handled[untried.index] = Handled(self._database_failure_answer(untried))
                return

    def _apply_all_or_nothing(self, events: list[_Event]) -> None:
        outcome = self._transaction(events)
        if outcome.committed:
            self.committed.extend(events)
            return
        culprit = outcome.culprit or self._database_failure_refusal(events)
        assert culprit.answer is not None
        self.handled[culprit.index] = Handled(culprit.answer, retry_after=culprit.retry_after)
        self._abort(culprit.index, outcome.ran)

    # --- the transaction --------------------------------------------------------------------

    def _transaction(self, events: list[_Event]) -> _Outcome:
        """Run `events` in one transaction (twice after a unique-key race): load what they
        name, apply each in memory, then write the catalog and the event log in bulk."""
        for event in events:
            if event.transformed is None:  # needs no catalog: done once, whatever the attempts
                event.transformed = self.gateway.transform(
                    self.source, event.envelope, self.references
                )
        for attempt in range(1, _TRANSACTION_ATTEMPTS + 1):
            ran: list[_Event] = []
            for event in events:
                event.reset()
            try:
                with self.gateway.database.unit_of_work() as session:
                    self._open(session, events)
                    records = log.records_of(
                        session, self.source.id, [e.envelope.event_id for e in events]
                    )
                    for event in events:
                        self.current = event
                        self._run(session, records, event)
                        ran.append(event)
                    self._write(session)
                return _Outcome(committed=True)
            except _RefusedError:  # all_or_nothing: the whole transaction is rolled back
                return _Outcome(committed=False, culprit=self.current, ran=ran)
            except IntegrityError:
                if attempt == _TRANSACTION_ATTEMPTS:
                    return _Outcome(committed=False, ran=ran)
            except DBAPIError as error:
                # A lost connection (a restart, a failover, a terminated backend): once more,
                # on a new one. Safe: the claims find whatever a commit whose reply was lost
                # wrote.
                if not error.connection_invalidated:
                    return _Outcome(committed=False, ran=ran)
                if attempt == _TRANSACTION_ATTEMPTS:
                    return _Outcome(committed=False, ran=ran, disconnected=True)
            except SQLAlchemyError:
                return _Outcome(committed=False, ran=ran)
        raise AssertionError("unreachable")

    def _open(self, session: Session, events: list[_Event]) -> None:
        """Start a transaction's state: the locks now, the catalog rows on first use."""
        payloads = [
            e.transformed.canonical for e in events if e.transformed and e.transformed.canonical
        ]
        source_id = self.source.id
        names = names_of(payloads, self.gateway.organization_keys(session, source_id))
        # Before anything is read: what is read is what the events change.
        lock_products(session, source_id, names)
        self.state = CatalogState(source_id, CoreLoader(session.connection()))
        self.state.expect(names)
        self.entries = []
        self.seen = {}

    def _write(self, session: Session) -> None:
        """Write the catalog, then the event-log records (their ids go to their events)."""
        write(self.state, session.connection())
        ids = log.save(session, self.source.id, self.entries)
        for event in self.seen.values():
            event.record_id = ids.get(event.envelope.event_id)

    def _run(self, session: Session, records: log.Records, event: _Event) -> None:
        """Claim and apply one event in the open transaction."""
        gateway = self.gateway
        if self._repeated(event):
            return
        claim = log.claim(records, event.envelope, event.digest, gateway.lease)
        event.claim = claim
        self.seen[event.envelope.event_id] = event
        if claim.kind is log.ClaimKind.REPLAY:
            event.answer, event.replayed = claim.stored, True
            return
        if claim.kind in (log.ClaimKind.REUSED, log.ClaimKind.IN_PROGRESS):
            self._conflict(event, reused=claim.kind is log.ClaimKind.REUSED)
            return
        self.state.begin_event()
        try:
            self._apply(session, event)
        except _RefusedError:
            self.state.undo_event()
            if not self.independent:
                raise
        else:
            self.state.end_event()
        if event.retry_after is None:  # an answer given before the event ran is not stored
            self._store(event)

    def _repeated(self, event: _Event) -> bool:
        """An event id sent twice in one request: the second is answered as it would be after
        the first (its answer again, or a conflict)."""
        first = self.seen.get(event.envelope.event_id)
        if first is None:
            return False
        if first.digest != event.digest:
            self._conflict(event, reused=True)
        elif first.external or first.answer is None:
            self._conflict(event, reused=False)
        elif first.retry_after is not None:  # refused before it ran: so is this one
            event.answer, event.retry_after = first.answer, first.retry_after
        else:
            event.answer, event.replayed = first.answer, True
        return True

    def _conflict(self, event: _Event, *, reused: bool) -> None:
        event.answer = self.gateway.conflict(
            self.source, event.envelope, event.started, reused=reused
        )
        if not self.independent:
            raise _RefusedError

    def _store(self, event: _Event) -> None:
        """Keep the event's record to write with the transaction: its answer, or, when its
        external steps are still to run, `in_progress` with the catalog steps it committed
        (what a process that dies before the answer leaves for the event's resumption)."""
        assert event.claim is not None
        answer = event.answer
        if event.external:
            answer = self._conclude(event, Execution()).model_copy(
                update={"status": EventStatus.IN_PROGRESS}
            )
        self.entries.append(
            log.Entry(event.envelope, event.digest, event.claim, answer, self._canonical(event))
        )

    def _apply(self, session: Session, event: _Event) -> None:
        """Validate, plan, lock and run the catalog steps; then, when no external call is
        needed, publish. Raises `_RefusedError` when refused."""
        gateway, source, state = self.gateway, self.source, self.state
        assert event.transformed is not None
        prepared = gateway.validate_and_plan(
            source, event.envelope, event.transformed, (session, state)
        )
        event.prepared = prepared
        plan = prepared.plan
        if plan is None:
            event.answer = gateway.answer(
                source, event.envelope, event.started, prepared, EventStatus.REJECTED
            )
            raise _RefusedError
        ecommerce = gateway.ecommerce
        if plan.calls_out and ecommerce is not None and ecommerce.breaker.is_open():
            self._refuse_downstream(event, prepared, ecommerce.breaker.retry_after())
        event.context = context = gateway.context(source, event.envelope)
        context.unchanged = self._unchanged(session, prepared, context)
        if context.unchanged is not None:
            context.unchanged.move_clocks(context.occurred_at)
        execution = run_catalog_steps(session, state, plan, context, prepared.trace)
        if execution.status is not None:
            event.answer = self._conclude(event, execution)
            raise _RefusedError
        if context.publisher is not None and plan.calls_out:
            event.external = True
            return
        publish_in_transaction(session, state, plan, context, prepared.trace)
        event.answer = self._conclude(event, Execution())

    def _refuse_downstream(self, event: _Event, prepared: Prepared, retry_after: int) -> None:
        """Refuse an event that would publish to ecommerce while its breaker is open, before
        anything of it runs: answered `failed`, `downstream_unavailable`, retryable; not stored
        (the next attempt starts afresh). A single event is answered 503 with `Retry-After`
        (`Handled.retry_after`); the other events of a batch go on."""
        assert prepared.plan is not None
        execution = Execution(
            EventStatus.FAILED,
            retryable=True,
            errors=[
                Finding(
                    ErrorCode.DOWNSTREAM_UNAVAILABLE,
                    "ecommerce is failing, so no event that publishes to it is started; "
                    "nothing of this event was changed: send it again after "
                    f"{retry_after} seconds",
                    None,
                    "ecommerce.publish",
                )
            ],
        )
        fail_catalog(prepared.plan, prepared.trace, execution, reason="ecommerce is failing")
        event.answer = self._conclude(event, execution)
        event.retry_after = retry_after
        raise _RefusedError

    def _unchanged(
        self, session: Session, prepared: Prepared, context: StepContext
    ) -> Unchanged | None:
        """The event's rows if it would change nothing (see `gateway.unchanged`)."""
        assert prepared.payload is not None
        source_id, cache = self.source.id, self.gateway.organizations
        return find_unchanged(
            self.state,
            prepared.payload,
            context.occurred_at,
            context.now,
            lambda code: resolve_organization(session, source_id, code, cache).id,
        )

    # --- after the commit -------------------------------------------------------------------

    def _after_commit(self, events: list[_Event]) -> None:
        """Answer the events applied in the committed transaction; run the external steps and
        publication of those that need them, each on its own: whatever fails there is that
        event's answer, and nothing is raised to the request. (A process that dies meanwhile
        leaves their records `in_progress`, with the catalog steps they committed: resumed
        after their lease.)"""
        patience = resumed.Patience()
        for event in events:
            if event.external:
                try:
                    self._finish(event, patience)
                except Exception:
                    logger.exception(
                        "event %s failed after its catalog commit", event.envelope.event_id
                    )
                    self._failed_unexpectedly(event, patience)
            assert event.answer is not None
            self.handled[event.index] = Handled(
                event.answer, replayed=event.replayed, retry_after=event.retry_after
            )

    def _finish(self, event: _Event, patience: resumed.Patience) -> None:
        """The external steps and publication of an event whose catalog writes committed, and
        its answer stored. A database failure there is answered `catalog_write_failed`
        (`after_commit`), the catalog writes kept; retryable, sending the event again resumes
        it."""
        prepared, plan, context = event.running()
        execution = after_commit(self.gateway.database, plan, context, prepared.trace)
        event.answer = self._conclude(event, execution)
        assert event.record_id is not None
        event.answer = patience.store(
            self.gateway.database, event.record_id, event.answer, prepared.canonical
        )

    def _failed_unexpectedly(self, event: _Event, patience: resumed.Patience) -> None:
        """A bug after the event's commit: answered `failed`, `internal_error`, retryable (its
        catalog writes are kept; sending it again resumes it), and that answer stored."""
        event.answer = None
        with contextlib.suppress(Exception):  # the trace as far as it got, if it can be had
            prepared, plan, _context = event.running()
            event.answer = self._conclude(event, unexpected_failure(plan, prepared.trace))
        if event.answer is None:
            envelope = event.envelope
            finding = Finding(ErrorCode.INTERNAL_ERROR, UNEXPECTED_AFTER_COMMIT, None, "catalog")
            event.answer = _failed(
                self.source.slug, envelope.event_id, envelope.event_type.value, finding
            )
        assert event.record_id is not None
        try:
            event.answer = patience.store(
                self.gateway.database, event.record_id, event.answer, self._canonical(event)
            )
        except Exception:  # it stays in_progress, resumed after its lease
            logger.exception("storing the answer of event %s", event.envelope.event_id)

    def _conclude(self, event: _Event, execution: Execution) -> EventAnswer:
        prepared = event.prepared or event.transformed
        assert prepared is not None
        context = event.context or self.gateway.context(self.source, event.envelope)
        answer, _canonical = self.gateway.conclude(
            self.source, event.envelope, event.started, prepared, context, execution
        )
        claim = event.claim
        if claim is not None and claim.prior is not None:  # resumed: say what came before
            answer = carry_over(answer, claim.prior)
        return answer

    @staticmethod
    def _canonical(event: _Event) -> dict[str, Any] | None:
        prepared = event.prepared or event.transformed
        return prepared.canonical if prepared is not None else None

    # --- failures ---------------------------------------------------------------------------

    def _store_database_failure(self, event: _Event) -> None:
        """The database failed in the event's own transaction (nothing of it was written):
        answer `failed`, retryable, and store that answer."""
        self._store_alone(event, self._database_failure_answer(event))

    def _database_failure_answer(self, event: _Event) -> EventAnswer:
        """`failed`, `catalog_write_failed`, retryable: the database failed before the event's
        transaction committed (its trace shows what was rolled back)."""
        prepared = (
            event.prepared
            or event.transformed
            or self.gateway.transform(self.source, event.envelope, self.references)
        )
        event.prepared = prepared
        failure = database_failure(failed_step(prepared.trace))
        if prepared.plan is not None:
            reason = "the catalog database failed"
            fail_catalog(prepared.plan, prepared.trace, failure, reason=reason)
        return self._conclude(event, failure)

    def _store_alone(self, event: _Event, answer: EventAnswer) -> None:
        """Claim the event and store `answer` in a transaction of their own (its own was
        rolled back); if the database fails again, the answer is only sent."""
        handled = Handled(answer)
        try:
            with self.gateway.database.unit_of_work() as session:
                records = log.records_of(session, self.source.id, [event.envelope.event_id])
                claim = log.claim(records, event.envelope, event.digest, self.gateway.lease)
                if claim.kind in (log.ClaimKind.NEW, log.ClaimKind.RESUME):
                    entry = log.Entry(
                        event.envelope, event.digest, claim, answer, self._canonical(event)
                    )
                    log.save(session, self.source.id, [entry])
                else:  # stored meanwhile: by a commit whose reply was lost, or another request
                    handled = self._already_stored(event, claim)
        except SQLAlchemyError:
            logger.warning(
                "the answer to event %s (the database failed) could not be stored either",
                event.envelope.event_id,
                exc_info=True,
            )
        self.handled[event.index] = handled

    def _already_stored(self, event: _Event, claim: log.Claim) -> Handled:
        """The answer to an event whose record was found stored after its transaction seemed
        to fail: its stored answer, or (in progress, or another payload) the conflict a resend
        gets."""
        if claim.kind is log.ClaimKind.REPLAY and claim.stored is not None:
            return Handled(claim.stored, replayed=True)
        reused = claim.kind is log.ClaimKind.REUSED
        return Handled(
            self.gateway.conflict(self.source, event.envelope, event.started, reused=reused)
        )

    def _database_failure_refusal(self, events: list[_Event]) -> _Event:
        """all_or_nothing: the event the database failed on, answered `failed`, retryable."""
        failing = self.current or events[0]
        envelope = failing.envelope
        failing.answer = unavailable(self.source.slug, envelope.event_id, envelope.event_type)
        return failing

    def _abort(self, culprit_index: int, ran: list[_Event]) -> None:
        """all_or_nothing: answer every event not answered yet `batch_aborted` (nothing of the
        batch was written); those that ran show their steps rolled back."""
        culprit = self.envelopes[culprit_index].event_id
        # Sending the batch again may apply it when the culprit's own refusal is retryable
        # (the database failed, or the event is still in progress elsewhere).
        retryable = self.handled[culprit_index].answer.retryable
        reason = f"event {culprit} of this all_or_nothing batch was refused"
        traces = {}
        for event in ran:
            if event.replayed and event.answer is not None:  # an earlier answer, still true
                self.handled[event.index] = Handled(event.answer, replayed=True)
            elif event.prepared is not None and event.prepared.plan is not None:
                fail_catalog(event.prepared.plan, event.prepared.trace, Execution(), reason=reason)
                traces[event.index] = event.prepared.trace.steps
        for i, envelope in enumerate(self.envelopes):
            if i in self.handled:  # the culprit, or a replay
                continue
            steps: list[StepRecord] = traces.get(i, [])
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
                    retryable=retryable,
                )
            )
