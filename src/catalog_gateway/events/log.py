"""The event log: claiming an event's idempotency key, storing its answer, reading it back.

(source, event_id) is the key. A new event is *claimed* (stored `in_progress`) in the
transaction that applies it; when it also needs an external call, that transaction commits
before the call, so a concurrent duplicate sees the claim and is answered 409
`event_in_progress` instead of running twice. An `in_progress` record older than the lease is
taken as left behind by a crashed process and may be claimed again (resumed).

A resumed event's record keeps the answer it had, with its attempt number, in
`earlier_attempts` (oldest first; the last `MAX_EARLIER_ATTEMPTS`) before it is overwritten.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.util import identity_key

from catalog_gateway.catalog.pagination import Page, paginate
from catalog_gateway.db.base import table_of, utcnow
from catalog_gateway.db.engine import Database
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.results import EventAnswer, EventStatus
from catalog_gateway.sources.models import Source


class ClaimKind(StrEnum):
    """What claiming an event's key found."""

    NEW = "new"
    RESUME = "resume"
    REPLAY = "replay"
    REUSED = "reused"
    IN_PROGRESS = "in_progress"


@dataclass(frozen=True, slots=True)
class PriorState:
    """A resumed record as it was before the claim, to restore if the run writes nothing."""

    status: str
    retryable: bool
    attempts: int
    updated_at: datetime
    answer: dict[str, Any] = field(default_factory=dict)  # its stored answer (`attempt_of`)
    earlier: list[dict[str, Any]] = field(default_factory=list)  # its earlier_attempts


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of a claim: the record to run under, or the stored answer."""

    kind: ClaimKind
    record_id: int | None = None
    stored: EventAnswer | None = None
    prior: PriorState | None = None


def payload_hash(event_type: str, payload: dict[str, Any]) -> str:
    """What makes two events with one id the same event: the type and the payload."""
    canonical = json.dumps(
        {"event_type": event_type, "payload": payload},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


# What the event engine runs for every request, built once: building and keying a statement
# costs more than running it.
_RECORDS_OF = select(EventRecord).where(
    EventRecord.source_id == bindparam("source_id"),
    EventRecord.event_id.in_(bindparam("event_ids", expanding=True)),
)
_TABLE = table_of(EventRecord)
_ANSWER_COLUMNS = (
    "status",
    "http_status",
    "retryable",
    "steps",
    "errors",
    "errors_truncated",
    "warnings",
    "products",
    "duration_ms",
    "canonical_payload",
    "updated_at",
)
_INSERT = insert(_TABLE).returning(_TABLE.c.id, _TABLE.c.event_id)
_RECORD_ANSWER = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("record_id"))
    .values({name: bindparam(name, type_=_TABLE.c[name].type) for name in _ANSWER_COLUMNS})
)
_RESUME = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("record_id"))
    .values(
        {
            name: bindparam(name, type_=_TABLE.c[name].type)
            for name in (*_ANSWER_COLUMNS, "attempts", "earlier_attempts")
        }
    )
)

Records = dict[str, EventRecord]
MAX_EARLIER_ATTEMPTS = 20
"""Earlier attempts a record keeps (the latest ones): an event resent for hours while
ecommerce is down must not grow its record without end."""


def records_of(session: Session, source_id: int, event_ids: list[str]) -> Records:
    """The stored records of these event ids, by id: one query for a whole batch."""
    if not event_ids:
        return {}
    found = session.scalars(
        _RECORDS_OF, {"source_id": source_id, "event_ids": list(set(event_ids))}
    )
    return {record.event_id: record for record in found}


def claim(records: Records, envelope: Envelope, digest: str, lease: timedelta) -> Claim:
    """What the event's key allows, from its stored record (`records`, see `records_of`):
    run it (new, or resumed after a retryable failure or an abandoned run), or answer the
    stored answer, or a conflict. Nothing is written: the engine stores every event's record
    with its answer when its transaction ends (`save`).

    A concurrent request with the same key waits for that commit (SQLite's single writer;
    PostgreSQL's unique index, whose violation makes the engine run its transaction again, and
    then it finds this record)."""
    record = records.get(envelope.event_id)
    if record is None:
        return Claim(ClaimKind.NEW)
    return _claim_existing(record, digest, lease)


@dataclass(frozen=True, slots=True)
class Entry:
    """An event's record to store: its answer, or None while its external steps are to run."""

    envelope: Envelope
    digest: str
    claim: Claim
    answer: EventAnswer | None
    canonical_payload: dict[str, Any] | None


def save(session: Session, source_id: int, entries: list[Entry]) -> dict[str, int]:
    """Store the records of a transaction's events (one INSERT for the new ones, one UPDATE for
    those resumed); their ids by event id."""
    now = utcnow()
    new = [
        {
            "source_id": source_id,
            "event_id": entry.envelope.event_id,
            "event_type": entry.envelope.event_type.value,
            "payload_hash": entry.digest,
            "raw_payload": entry.envelope.payload,
            "occurred_at": entry.envelope.occurred_at,
            "received_at": now,
            "attempts": 1,
        }
        | _answer_values(entry.answer, entry.canonical_payload, now)
        for entry in entries
        if entry.claim.kind is ClaimKind.NEW
    ]
    resumed = [
        {
            "record_id": entry.claim.record_id,
            "attempts": _attempts(entry.claim),
            "earlier_attempts": _earlier_attempts(entry.claim),
        }
        | _answer_values(entry.answer, entry.canonical_payload, now)
        for entry in entries
        if entry.claim.kind is ClaimKind.RESUME
    ]
    connection = session.connection()
    ids = {entry.claim.record_id: entry.envelope.event_id for entry in entries}
    found: dict[str, int] = {event_id: id_ for id_, event_id in ids.items() if id_ is not None}
    if new:
        found.update((event_id, id_) for id_, event_id in connection.execute(_INSERT, new))
    if resumed:
        connection.execute(_RESUME, resumed)
    return found


def _attempts(claim: Claim) -> int:
    assert claim.prior is not None
    return claim.prior.attempts + 1


def _earlier_attempts(claim: Claim) -> list[dict[str, Any]]:
    """The resumed record's earlier attempts, and the answer it had until now."""
    assert claim.prior is not None
    return [*claim.prior.earlier, claim.prior.answer][-MAX_EARLIER_ATTEMPTS:]


def attempt_of(record: EventRecord) -> dict[str, Any]:
    """The answer a record holds, as its attempt is kept in `earlier_attempts` once the event
    runs again: its number, status, when it was stored, its trace, errors and warnings."""
    return {
        "attempt": record.attempts,
        "status": record.status,
        "retryable": record.retryable,
        "finished_at": record.updated_at.isoformat(),
        "duration_ms": record.duration_ms,
        "steps": record.steps,
        "errors": record.errors,
        "errors_truncated": record.errors_truncated,
        "warnings": record.warnings,
        "products": record.products,
    }


def _answer_values(
    answer: EventAnswer | None, canonical_payload: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    if answer is None:  # its external steps are still to run
        return {
            "status": EventStatus.IN_PROGRESS.value,
            "http_status": None,
            "retryable": False,
            "steps": [],
            "errors": [],
            "errors_truncated": 0,
            "warnings": [],
            "products": {},
            "duration_ms": None,
            "canonical_payload": canonical_payload,
            "updated_at": now,
        }
    return {
        "status": answer.status.value,
        "http_status": None,  # the API's mapping (`api.statuses`), not the log's
        "retryable": answer.retryable,
        "steps": [step.model_dump(mode="json") for step in answer.steps],
        "errors": [error.model_dump(mode="json") for error in answer.errors],
        "errors_truncated": answer.errors_truncated,
        "warnings": [warning.model_dump(mode="json") for warning in answer.warnings],
        "products": answer.products.model_dump(mode="json"),
        "duration_ms": answer.duration_ms,
        "canonical_payload": canonical_payload,
        "updated_at": now,
    }


def resumable(record: EventRecord, lease: timedelta) -> bool:
    """True for an event that failed retryably, or that a process left `in_progress` (it died
    after the catalog commit) more than `lease` ago: running it again resumes it."""
    if record.status == EventStatus.FAILED.value:
        return bool(record.retryable)
    return record.status == EventStatus.IN_PROGRESS.value and record.updated_at < utcnow() - lease


def _claim_existing(record: EventRecord, digest: str, lease: timedelta) -> Claim:
    if record.payload_hash != digest:
        return Claim(ClaimKind.REUSED, record.id, _stored(record))
    status = EventStatus(record.status)
    if resumable(record, lease):
        prior = PriorState(
            record.status,
            record.retryable,
            record.attempts,
            record.updated_at,
            attempt_of(record),
            list(record.earlier_attempts or []),
        )
        return Claim(ClaimKind.RESUME, record.id, prior=prior)
    if status is EventStatus.IN_PROGRESS:
        return Claim(ClaimKind.IN_PROGRESS, record.id)
    return Claim(ClaimKind.REPLAY, record.id, _stored(record))


def finish(
    database: Database,
    record_id: int,
    answer: EventAnswer,
    canonical_payload: dict[str, Any] | None,
) -> None:
    """Store the event's answer (its status, trace, errors, warnings and timings)."""
    with database.unit_of_work() as session:
        record_answer(session, record_id, answer, canonical_payload)


def record_answer(
    session: Session,
    record_id: int,
    answer: EventAnswer,
    canonical_payload: dict[str, Any] | None,
) -> None:
    """Store the event's answer in `session`'s transaction."""
    session.connection().execute(
        _RECORD_ANSWER,
        {"record_id": record_id} | _answer_values(answer, canonical_payload, utcnow()),
    )
    # A record the session holds (one read back) is read again if used.
    held = session.identity_map.get(identity_key(EventRecord, record_id))
    if held is not None:
        session.expire(held)


def answer_of(record: EventRecord) -> EventAnswer:
    """The stored answer of a record."""
    return _stored(record)


def _stored(record: EventRecord) -> EventAnswer:
    return EventAnswer.model_validate(
        {
            "event_id": record.event_id,
            "event_type": record.event_type,
            "source": record.source.slug,
            "status": record.status,
            "retryable": record.retryable,
            "duration_ms": record.duration_ms or 0.0,
            "steps": record.steps,
            "products": record.products,
            "errors": record.errors,
            "errors_truncated": record.errors_truncated,
            "warnings": record.warnings,
        }
    )


def _find(session: Session, source_id: int, event_id: str) -> EventRecord | None:
    return session.scalar(
        select(EventRecord)
        .where(EventRecord.source_id == source_id, EventRecord.event_id == event_id)
        .options(selectinload(EventRecord.source))
    )


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Event log filters; None means 'any'."""

    source_id: int | None = None
    status: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    # Stuck: `in_progress` and claimed before this (a process died after the catalog commit).
    claimed_before: datetime | None = None


def list_events(
    session: Session, filters: EventFilter, *, cursor: str | None, limit: int
) -> Page[EventRecord]:
    """Event records, oldest first, each page after `cursor`."""
    query = select(EventRecord).options(selectinload(EventRecord.source))
    if filters.source_id is not None:
        query = query.where(EventRecord.source_id == filters.source_id)
    if filters.status is not None:
        query = query.where(EventRecord.status == filters.status)
    if filters.event_type is not None:
        query = query.where(EventRecord.event_type == filters.event_type)
    if filters.since is not None:
        query = query.where(EventRecord.received_at >= filters.since)
    if filters.claimed_before is not None:
        query = query.where(
            EventRecord.status == EventStatus.IN_PROGRESS.value,
            EventRecord.updated_at < filters.claimed_before,
        )
    return paginate(session, query, EventRecord.id, cursor=cursor, limit=limit)


def get_event(session: Session, source_id: int, event_id: str) -> EventRecord | None:
    """One record by its key."""
    return _find(session, source_id, event_id)


def source_by_slug(session: Session, slug: str) -> Source | None:
    """A source by slug (for admin reads)."""
    return session.scalar(select(Source).where(Source.slug == slug))


def purge(database: Database, older_than: timedelta) -> int:
    """Delete finished records received more than `older_than` ago; returns how many."""
    cutoff = utcnow() - older_than
    with database.unit_of_work() as session:
        result = session.execute(
            delete(EventRecord).where(
                EventRecord.received_at < cutoff,
                EventRecord.status != EventStatus.IN_PROGRESS.value,
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)
