"""The event gateway's service: what the engine (`gateway.engine`) does to each event —
screen, transform, validate, plan and answer — and the parts it is given (database,
transformers, ecommerce, caches of sources and organizations).

The answer is the status: there is no queue. Everything an event does is in its step trace.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_gateway.caching import ExpiringCache
from catalog_gateway.catalog.loading import CoreLoader
from catalog_gateway.catalog.organizations import OrganizationCache, resolve_organization
from catalog_gateway.catalog.state import CatalogState
from catalog_gateway.catalog.vocabulary import Vocabulary, load_vocabulary
from catalog_gateway.connectors.ecommerce import EcommerceClient
from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database, read_again_if_disconnected
from catalog_gateway.errors import (
    CatalogGatewayError,
    ConflictError,
    ErrorCode,
    NotFoundError,
)
from catalog_gateway.events import log
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.payloads import Payload
from catalog_gateway.events.results import (
    EventAnswer,
    EventIssue,
    EventStatus,
    StepStatus,
    System,
    refusal,
)
from catalog_gateway.events.types import EventType
from catalog_gateway.gateway.context import StepContext
from catalog_gateway.gateway.executor import Execution, run_catalog_steps
from catalog_gateway.gateway.names import OrganizationKeys, identities, names_of
from catalog_gateway.gateway.plans import EventPlan, build_plan
from catalog_gateway.gateway.publication import EcommercePublisher
from catalog_gateway.gateway.references import resolve_references
from catalog_gateway.gateway.sanitize import sanitize
from catalog_gateway.gateway.trace import StepSpec, Trace
from catalog_gateway.gateway.validation import Finding, validate
from catalog_gateway.pointers import pointer
from catalog_gateway.sources.aliases import ValueAliases, load_aliases
from catalog_gateway.sources.models import Source
from catalog_gateway.text import counted, nul_places
from catalog_gateway.transformers.base import Provenance, Transformer, TransformResult
from catalog_gateway.transformers.mapping.pointers import CURRENT, cached_source_path
from catalog_gateway.transformers.mapping.values import MISSING
from catalog_gateway.transformers.registry import TransformerRegistry

TRANSFORM = StepSpec("transform", System.GATEWAY, None)
VALIDATE = StepSpec("validate", System.GATEWAY, None)
_MAX_DETAIL = 500


@dataclass(frozen=True, slots=True)
class SourceProfile:
    """What the gateway needs to know about the sender."""

    id: int
    slug: str
    transformer: str
    allowed_event_types: frozenset[str]


@dataclass(frozen=True, slots=True)
class Handled:
    """An answer, and whether it is a stored one sent again."""

    answer: EventAnswer
    replayed: bool = False
    # Set when the event was refused before it ran because a downstream system is failing
    # (`downstream_unavailable`): a single event is then answered 503 with this Retry-After.
    retry_after: int | None = None


@dataclass(slots=True)
class Prepared:
    """An event transformed, validated and planned (plan None when rejected)."""

    trace: Trace
    provenance: Provenance
    canonical: dict[str, Any] | None
    plan: EventPlan | None
    errors: list[EventIssue]
    warnings: list[EventIssue]
    payload: Payload | None = None  # the validated payload, when the plan is built
    # Subjects and levels that named nothing the catalog knows: validation reports them.
    unresolved: list[Finding] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class References:
    """What a source's values resolve against: the catalog's vocabularies and its aliases."""

    vocabulary: Vocabulary
    aliases: ValueAliases


class EventGateway:
    """Handles events for every source of one database."""

    def __init__(
        self,
        database: Database,
        *,
        lease: timedelta = timedelta(minutes=2),
        ecommerce: EcommerceClient | None = None,
        ecommerce_budget: float = 10.0,
        profile_ttl: float = 0.0,
        transformers: TransformerRegistry,
    ) -> None:
        self.database = database
        self.transformers = transformers
        # Sources change rarely (`sources update`); each event must not cost a lookup.
        self._profiles: ExpiringCache[int, SourceProfile | None] = ExpiringCache(profile_ttl)
        self.organizations: OrganizationCache = ExpiringCache(profile_ttl)
        # Subjects and aliases are managed while the service runs; they are read again
        # after the same time as sources are.
        self._aliases: ExpiringCache[int, ValueAliases] = ExpiringCache(profile_ttl)
        self._vocabulary_ttl = profile_ttl
        self._vocabulary_read = 0.0
        self.lease = lease
        self.ecommerce = ecommerce
        self.ecommerce_budget = ecommerce_budget
        self._vocabulary: Vocabulary | None = None
        self._publisher: EcommercePublisher | None = None

    def close(self) -> None:
        """Close connections to external systems."""
        if self.ecommerce is not None:
            self.ecommerce.close()

    def publisher(self) -> EcommercePublisher | None:
        """The ecommerce publisher, or None when no ecommerce is configured."""
        if self.ecommerce is not None and self._publisher is None:
            self._publisher = EcommercePublisher(
                self.database, self.ecommerce, self.vocabulary().paid_seat_types
            )
        return self._publisher

    def profile(self, source_id: int) -> SourceProfile | None:
        """The sender's profile, or None if the source no longer exists."""
        known, profile = self._profiles.lookup(source_id)
        if not known:
            profile = read_again_if_disconnected(lambda: self._load_profile(source_id))
            self._profiles.store(source_id, profile)
        return profile

    def _load_profile(self, source_id: int) -> SourceProfile | None:
        with self.database.read() as session:
            source = session.scalar(select(Source).where(Source.id == source_id))
            if source is None:
                return None
            return SourceProfile(
                id=source.id,
                slug=source.slug,
                transformer=source.transformer,
                allowed_event_types=frozenset(source.allowed_event_types),
            )

    def profile_by_slug(self, slug: str) -> SourceProfile:
        """The profile of source `slug`."""
        with self.database.read() as session:
            source_id = session.scalar(select(Source.id).where(Source.slug == slug))
        profile = self.profile(source_id) if source_id is not None else None
        if profile is None:
            raise NotFoundError(f"no source {slug!r}", code=ErrorCode.UNKNOWN_SOURCE)
        return profile

    def replay(self, source: SourceProfile, event_id: str) -> Handled:
        """Run a stored event again, from the log (resumes it): one that failed retryably, or
        one a dead process left `in_progress` longer than the lease."""
        with self.database.read() as session:
            record = log.get_event(session, source.id, event_id)
            if record is None:
                raise NotFoundError(f"source {source.slug} has no event {event_id!r}")
            if not log.resumable(record, self.lease):
                raise ConflictError(
                    _not_replayable(record, self.lease), code=ErrorCode.INVALID_REQUEST
                )
            envelope = Envelope(
                event_id=record.event_id,
                event_type=EventType(record.event_type),
                occurred_at=record.occurred_at,
                payload=record.raw_payload,
            )
        return self.handle(source, envelope)

    def vocabulary(self) -> Vocabulary:
        """The reference data `references` last read (read now if it never was)."""
        if self._vocabulary is None:
            self._read_vocabulary()
        assert self._vocabulary is not None
        return self._vocabulary

    def references(self, source_id: int) -> References:
        """What the source's values resolve against, read again once older than the profile
        cache's time to live (types change only with migrations; subjects with `subjects
        create` and `rename`, aliases with `sources map-value`). Called before a request opens
        its transaction: nothing later in the request reads them again."""
        if (
            self._vocabulary is None
            or time.monotonic() - self._vocabulary_read >= self._vocabulary_ttl
        ):
            self._read_vocabulary()
        known, aliases = self._aliases.lookup(source_id)
        if not known or aliases is None:
            aliases = read_again_if_disconnected(lambda: self._load_aliases(source_id))
            self._aliases.store(source_id, aliases)
        return References(self.vocabulary(), aliases)

    def _load_aliases(self, source_id: int) -> ValueAliases:
        with self.database.read() as session:
            return load_aliases(session.connection(), source_id)

    def _read_vocabulary(self) -> None:
        self._vocabulary = read_again_if_disconnected(self._load_vocabulary)
        self._vocabulary_read = time.monotonic()

    def _load_vocabulary(self) -> Vocabulary:
        with self.database.read() as session:
            return load_vocabulary(session)

    def handle(
        self, source: SourceProfile, envelope: Envelope, *, dry_run: bool = False
    ) -> Handled:
        """Apply (or, with `dry_run`, only plan) one event, and answer it: a batch of one."""
        from catalog_gateway.gateway.engine import apply_events  # the engine builds on this

        (handled,) = apply_events(self, source, [envelope], dry_run=dry_run)
        return handled

    def dry_run(self, source: SourceProfile, envelope: Envelope) -> EventAnswer:
        """Transform, validate and plan, write nothing, and answer `planned` (or why not)."""
        started = time.perf_counter()
        refused = self.screen(source, envelope, started)
        if refused is not None:
            refused.names = []  # refused before the transform: nothing is known to be named
            return refused
        return self._dry_run(source, envelope, started)

    # --- outcomes -------------------------------------------------------------------------

    def context(self, source: SourceProfile, envelope: Envelope) -> StepContext:
        return StepContext(
            source_id=source.id,
            vocabulary=self.vocabulary(),
            occurred_at=envelope.occurred_at,
            now=utcnow(),
            publisher=self.publisher(),
            external_budget=self.ecommerce_budget,
            organizations=self.organizations,
        )

    def conclude(
        self,
        source: SourceProfile,
        envelope: Envelope,
        started: float,
        prepared: Prepared,
        context: StepContext,
        execution: Execution,
    ) -> tuple[EventAnswer, dict[str, Any] | None]:
        """The answer to an event that ran (`prepared` is left as it was: this may be called
        again if the transaction that stored a first answer did not commit)."""
        status = execution.status or _success_status(prepared.trace)
        answer = self.answer(
            source,
            envelope,
            started,
            prepared,
            status,
            errors=[_issue(f, prepared.provenance) for f in execution.errors],
            warnings=[_issue(f, prepared.provenance) for f in context.warnings],
        )
        answer.retryable = execution.retryable
        answer.products = context.products
        return answer, prepared.canonical

    def _dry_run(self, source: SourceProfile, envelope: Envelope, started: float) -> EventAnswer:
        """Plan the event against the catalog as it is. Its catalog steps also run, in memory
        only (nothing is written): an event they would refuse (stale, say) is answered as
        sending it would be. The answer names what the event names (`names`)."""
        references = self.references(source.id)
        with self._catalog_as_it_is(source) as (session, state):
            transformed = self.transform(source, envelope, references)
            named = self._identities(session, source, transformed.canonical)
            prepared = self.validate_and_plan(source, envelope, transformed, (session, state))
            if prepared.plan is None:
                answer = self.answer(source, envelope, started, prepared, EventStatus.REJECTED)
                answer.names = named
                return answer
            trial = Trace(list(prepared.trace.steps))
            context = self.context(source, envelope)
            execution = run_catalog_steps(session, state, prepared.plan, context, trial)
        if execution.status is not None:
            prepared.trace = trial
            answer, _canonical = self.conclude(
                source, envelope, started, prepared, context, execution
            )
        else:
            for step in prepared.plan.steps:
                prepared.trace.add(step.spec, StepStatus.PLANNED)
            answer = self.answer(source, envelope, started, prepared, EventStatus.PLANNED)
        answer.names = named
        return answer

    def _identities(
        self, session: Session, source: SourceProfile, canonical: dict[str, Any] | None
    ) -> list[str]:
        """What a transformed payload names, with the key each course would be created with."""
        if canonical is None:
            return []
        return identities(names_of([canonical], self.organization_keys(session, source.id)))

    def organization_keys(self, session: Session, source_id: int) -> OrganizationKeys:
        """The source's organization code → the organization's key, None when it names none."""

        def organization_key(code: str) -> str | None:
            try:
                return resolve_organization(session, source_id, code, self.organizations).key
            except CatalogGatewayError:
                return None

        return organization_key

    def screen(
        self, source: SourceProfile, envelope: Envelope, started: float
    ) -> EventAnswer | None:
        """The answer to an event refused before it runs (nothing stored), or None."""
        if envelope.event_type.value not in source.allowed_event_types:
            return self.refused(source, envelope, started)
        places = nul_places(envelope.payload)
        if places:
            return self._unstorable(source, envelope, started, places)
        return None

    def _unstorable(
        self,
        source: SourceProfile,
        envelope: Envelope,
        started: float,
        places: list[tuple[str | int, ...]],
    ) -> EventAnswer:
        """422 for NUL characters, each named in the source's payload and, where the
        transformer maps it, in the canonical one."""
        canonical_of = self._canonical_paths(source, envelope)
        answer = EventAnswer(
            event_id=envelope.event_id,
            event_type=envelope.event_type.value,
            source=source.slug,
            status=EventStatus.REJECTED,
            errors=[
                EventIssue(
                    code=ErrorCode.INVALID_CHARACTER,
                    message=f"{_field_name(parts)}: must not contain NUL characters (\\u0000)",
                    step=VALIDATE.name,
                    path=canonical_of(pointer(parts)),
                    source_path=pointer(parts),
                )
                for parts in places
            ],
        )
        answer.duration_ms = _elapsed(started)
        return answer

    def _canonical_paths(
        self, source: SourceProfile, envelope: Envelope
    ) -> Callable[[str], str | None]:
        """Source pointer → the canonical pointer the transformer built from it (or from its
        nearest mapped ancestor), by the transformer's provenance."""
        provenance = self._transform(source, envelope, Trace()).provenance
        if provenance.identity:
            return lambda source_path: source_path
        canonical_by_source = {origin: path for path, origin in provenance.sources.items()}

        def canonical_of(source_path: str) -> str | None:
            probe = source_path
            while probe:
                if probe in canonical_by_source:
                    return canonical_by_source[probe]
                probe = probe.rsplit("/", 1)[0]
            return None

        return canonical_of

    def refused(self, source: SourceProfile, envelope: Envelope, started: float) -> EventAnswer:
        """The answer to an event type the source may not send."""
        answer = refusal(
            event_id=envelope.event_id,
            event_type=envelope.event_type.value,
            source=source.slug,
            code=ErrorCode.EVENT_TYPE_NOT_ALLOWED,
            message=f"source {source.slug} may not send {envelope.event_type.value} events; "
            f"it may send: {', '.join(sorted(source.allowed_event_types))}",
            step="authorize",
        )
        answer.duration_ms = _elapsed(started)
        return answer

    def conflict(
        self, source: SourceProfile, envelope: Envelope, started: float, *, reused: bool
    ) -> EventAnswer:
        """The answer to an event id used for another payload, or still being applied."""
        if reused:
            code = ErrorCode.EVENT_ID_REUSED
            message = (
                f"event id {envelope.event_id} was already used for a different payload; "
                "send a new event id for a new change"
            )
        else:
            code = ErrorCode.EVENT_IN_PROGRESS
            message = (
                f"event {envelope.event_id} is being applied by another request; "
                "send it again in a moment to get its answer"
            )
        answer = refusal(
            event_id=envelope.event_id,
            event_type=envelope.event_type.value,
            source=source.slug,
            code=code,
            message=message,
            step="idempotency",
            status=EventStatus.CONFLICT,
            retryable=not reused,
        )
        answer.duration_ms = _elapsed(started)
        return answer

    # --- preparation ----------------------------------------------------------------------

    def prepare(self, source: SourceProfile, envelope: Envelope) -> Prepared:
        """Transform, validate and plan against the catalog as it is (writes nothing)."""
        references = self.references(source.id)
        with self._catalog_as_it_is(source) as within:
            return self.validate_and_plan(
                source, envelope, self.transform(source, envelope, references), within
            )

    @contextmanager
    def _catalog_as_it_is(self, source: SourceProfile) -> Iterator[tuple[Session, CatalogState]]:
        """A read session and the source's catalog state on it (nothing is ever written)."""
        self.vocabulary()  # read on a session of its own, before this one opens
        with self.database.read() as session:
            yield session, CatalogState(source.id, CoreLoader(session.connection()))

    def transform(
        self, source: SourceProfile, envelope: Envelope, references: References
    ) -> Prepared:
        """The part of preparing that needs no catalog (no I/O): transform, sanitize, and
        resolve subjects, levels and languages against `references`."""
        trace = Trace()
        result = self._transform(source, envelope, trace)
        prepared = Prepared(
            trace=trace,
            provenance=result.provenance,
            canonical=result.payload,
            plan=None,
            errors=list(result.errors),
            warnings=list(result.warnings),
        )
        if result.payload is None:
            return prepared
        canonical = copy.deepcopy(result.payload)
        prepared.canonical = canonical
        prepared.warnings.extend(
            _issue(finding, prepared.provenance)
            for finding in sanitize(envelope.event_type, canonical)
        )
        prepared.unresolved = resolve_references(
            canonical,
            references.vocabulary,
            references.aliases,
            _source_values(envelope.payload, prepared.provenance),
            source.slug,
        )
        return prepared

    def validate_and_plan(
        self,
        source: SourceProfile,
        envelope: Envelope,
        transformed: Prepared,
        within: tuple[Session, CatalogState],
    ) -> Prepared:
        """Validate and plan a transformed event, on a copy: `transformed` is left as it was, so
        a transaction that is run again can prepare it again. `within`: the transaction and the
        catalog state the event is validated against."""
        prepared = Prepared(
            trace=Trace(list(transformed.trace.steps)),
            provenance=transformed.provenance,
            canonical=transformed.canonical,
            plan=None,
            errors=list(transformed.errors),
            warnings=list(transformed.warnings),
            unresolved=transformed.unresolved,
        )
        if prepared.canonical is None:
            prepared.trace.add(VALIDATE, StepStatus.SKIPPED, "the transform produced no payload")
            return prepared
        payload = self._validate(source, envelope, prepared.canonical, prepared, within)
        if payload is not None and not prepared.errors:
            prepared.payload = payload
            prepared.plan = build_plan(payload, self.vocabulary().paid_seat_types)
        return prepared

    def _transform(
        self, source: SourceProfile, envelope: Envelope, trace: Trace
    ) -> TransformResult:
        with trace.step(TRANSFORM) as outcome:
            try:
                transformer: Transformer = self.transformers.get(source.transformer)
                result = transformer.transform(envelope.event_type, envelope.payload)
            except CatalogGatewayError as error:
                result = _broken_transform(error.message)
            except Exception as error:  # a transformer bug must not become a 500
                result = _broken_transform(
                    f"transformer {source.transformer!r} failed: "
                    f"{type(error).__name__}: {str(error)[:_MAX_DETAIL]}"
                )
            if result.errors or result.payload is None:
                outcome.status = StepStatus.FAILED
                outcome.detail = counted(len(result.errors), "field error")
        return result

    def _validate(
        self,
        source: SourceProfile,
        envelope: Envelope,
        canonical: dict[str, Any],
        prepared: Prepared,
        within: tuple[Session, CatalogState],
    ) -> Payload | None:
        vocabulary = self.vocabulary()
        session, state = within
        with prepared.trace.step(VALIDATE) as outcome:
            validation = validate(
                session,
                state,
                vocabulary,
                envelope.event_type,
                canonical,
                self.organizations,
            )
            # An unresolved subject or level is reported once, saying how to add or alias it.
            unresolved = {finding.path for finding in prepared.unresolved}
            findings = [
                *prepared.unresolved,
                *(f for f in validation.errors if f.path not in unresolved),
            ]
            if findings:
                outcome.status = StepStatus.FAILED
                outcome.detail = counted(len(findings), "error")
        # A field the transform could not map is reported once, by the transform (which names
        # the LoB's problem), not again by validation as, say, missing.
        mapped = {error.path for error in prepared.errors if error.path is not None}
        prepared.errors.extend(
            _issue(f, prepared.provenance) for f in findings if f.path not in mapped
        )
        return validation.payload

    def answer(
        self,
        source: SourceProfile,
        envelope: Envelope,
        started: float,
        prepared: Prepared,
        status: EventStatus,
        *,
        errors: list[EventIssue] | None = None,
        warnings: list[EventIssue] | None = None,
    ) -> EventAnswer:
        """The answer: `prepared`'s errors and warnings, then `errors` and `warnings`."""
        return EventAnswer(
            event_id=envelope.event_id,
            event_type=envelope.event_type.value,
            source=source.slug,
            status=status,
            duration_ms=_elapsed(started),
            steps=list(prepared.trace.steps),
            errors=[*prepared.errors, *(errors or [])],
            warnings=[*prepared.warnings, *(warnings or [])],
        )


def _not_replayable(record: EventRecord, lease: timedelta) -> str:
    """Why `events replay` refuses a stored event."""
    if record.status == EventStatus.IN_PROGRESS.value:
        until = record.updated_at + lease
        return (
            f"event {record.event_id} is in_progress, claimed at {record.updated_at:%H:%M:%S} "
            f"UTC; it can be replayed once its lease ends at {until:%H:%M:%S} UTC (if the "
            "process working on it died); only events that failed retryably, or in progress "
            "past their lease, are replayed"
        )
    return (
        f"event {record.event_id} is {record.status}; only events that failed retryably, or "
        "in progress past their lease, are replayed"
    )


def _source_values(payload: Any, provenance: Provenance) -> Callable[[str], tuple[str | None, Any]]:
    """Canonical path → (the source pointer it came from, what the source holds there)."""

    def source_value(canonical_path: str) -> tuple[str | None, Any]:
        source_path = provenance.source_path(canonical_path)
        if source_path is None:
            return None, None
        try:
            located = cached_source_path(source_path or CURRENT)
        except ValueError:  # not a pointer: a custom transformer's provenance
            return source_path, None
        value, _ = located.locate(payload, "", payload)
        return source_path, None if value is MISSING else value

    return source_value


def _field_name(parts: tuple[str | int, ...]) -> str:
    return str(parts[-1]) if parts else "payload"


def _broken_transform(message: str) -> TransformResult:
    return TransformResult(
        payload=None,
        provenance=Provenance(),
        errors=[EventIssue(code=ErrorCode.TRANSFORM_FAILED, message=message, step="transform")],
    )


def _issue(finding: Finding, provenance: Provenance) -> EventIssue:
    return EventIssue(
        code=finding.code,
        message=finding.message,
        step=finding.step,
        path=finding.path,
        source_path=provenance.source_path(finding.path),
        detail=finding.detail,
    )


def _success_status(trace: Trace) -> EventStatus:
    changed = any(step.action in ("created", "updated") for step in trace.steps)
    return EventStatus.APPLIED if changed else EventStatus.UNCHANGED


def _elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
