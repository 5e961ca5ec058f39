"""The event log: claiming an event's idempotency key, storing its answer, reading it back.

(source, event_id) is the key. A new event is *claimed* (stored `in_progress`) in the
transaction that applies it; when it also needs an external call, that transaction commits
before the call, so a concurrent duplicate sees the claim and is answered 409
`event_in_progress` instead of running twice. An `in_progress` record older than the lease is
taken as left behind by a crashed process and may be claimed again (resumed).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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


# What the event engine runs for every event, built once: building and keying a statement costs
# more than running it.
_RECORDS_OF = select(EventRecord).where(
    EventRecord.source_id == bindparam("source_id"),
    EventRecord.event_id.in_(bindparam("event_ids", expanding=True)),
)
_TABLE = table_of(EventRecord)
_CLAIM = insert(_TABLE).returning(_TABLE.c.id)
_RECORD_ANSWER = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("record_id"))
    .values(
        {
            name: bindparam(name, type_=_TABLE.c[name].type)
            for name in (
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
        }
    )
)

# An event's record by event id, as `records_of` loaded it, or the id of a record this
# transaction inserted (loaded only if the same event id comes again in the request).
Records = dict[str, "EventRecord | int"]


def records_of(session: Session, source_id: int, event_ids: list[str]) -> Records:
    """The stored records of these event ids, by id: one query for a whole batch."""
    if not event_ids:
        return {}
    found = session.scalars(
        _RECORDS_OF, {"source_id": source_id, "event_ids": list(set(event_ids))}
    )
    return {record.event_id: record for record in found}


def claim(
    session: Session,
    records: Records,
    source_id: int,
    envelope: Envelope,
    lease: timedelta,
) -> Claim:
    """Claim the event's key in `session`'s transaction (the one that applies the event), or
    say why not. `records`: what `records_of` loaded, kept up to date here.

    The claim commits with the event's writes: a concurrent request with the same key waits for
    that commit (SQLite's single writer; PostgreSQL's unique index, whose violation makes the
    engine run its transaction again, and then it finds this record)."""
    digest = payload_hash(envelope.event_type.value, envelope.payload)
    known = records.get(envelope.event_id)
    if isinstance(known, int):  # inserted earlier in this transaction
        known = records[envelope.event_id] = _require(session.get(EventRecord, known))
    if known is not None:
        return _claim_existing(known, digest, lease)
    session.flush()  # what the ORM holds goes first (a resumed claim's record, say)
    record_id: int = (
        session.connection()
        .execute(
            _CLAIM,
            {
                "source_id": source_id,
                "event_id": envelope.event_id,
                "event_type": envelope.event_type.value,
                "payload_hash": digest,
                "raw_payload": envelope.payload,
                "status": EventStatus.IN_PROGRESS.value,
                "occurred_at": envelope.occurred_at,
            },
        )
        .scalar_one()
    )
    records[envelope.event_id] = record_id
    return Claim(ClaimKind.NEW, record_id)


def _require(record: EventRecord | None) -> EventRecord:
    if record is None:
        raise RuntimeError("an event record inserted in this transaction is gone")
    return record


def _claim_existing(record: EventRecord, digest: str, lease: timedelta) -> Claim:
    if record.payload_hash != digest:
        return Claim(ClaimKind.REUSED, record.id, _stored(record))
    status = EventStatus(record.status)
    abandoned = status is EventStatus.IN_PROGRESS and record.updated_at < utcnow() - lease
    if (status is EventStatus.FAILED and record.retryable) or abandoned:
        prior = PriorState(record.status, record.retryable, record.attempts, record.updated_at)
        record.status = EventStatus.IN_PROGRESS.value
        record.attempts += 1
        record.updated_at = utcnow()
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
    """Store the event's answer in `session`'s transaction (e.g. the one that applied it)."""
    session.flush()  # a resumed claim's record, changed through the ORM, is written first
    session.connection().execute(
        _RECORD_ANSWER,
        {
            "record_id": record_id,
            "status": answer.status.value,
            "http_status": answer.http_status,
            "retryable": answer.retryable,
            "steps": [step.model_dump(mode="json") for step in answer.steps],
            "errors": [error.model_dump(mode="json") for error in answer.errors],
            "errors_truncated": answer.errors_truncated,
            "warnings": [warning.model_dump(mode="json") for warning in answer.warnings],
            "products": answer.products.model_dump(mode="json"),
            "duration_ms": answer.duration_ms,
            "canonical_payload": canonical_payload,
            "updated_at": utcnow(),
        },
    )
    # A record the session holds (a resumed claim, or one read back) is read again if used.
    held = session.identity_map.get(identity_key(EventRecord, record_id))
    if held is not None:
        session.expire(held)


def release(database: Database, claim: Claim) -> None:
    """Undo a claim whose run wrote nothing (refused before it started, or crashed): a new
    record is forgotten, a resumed one is put back as it was (its attempts included)."""
    assert claim.record_id is not None
    with database.unit_of_work() as session:
        record = session.get(EventRecord, claim.record_id)
        if record is None or record.status != EventStatus.IN_PROGRESS.value:
            return
        if claim.prior is None:
            session.delete(record)
            return
        record.status = claim.prior.status
        record.retryable = claim.prior.retryable
        record.attempts = claim.prior.attempts
        record.updated_at = claim.prior.updated_at


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
