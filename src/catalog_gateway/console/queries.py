"""Read queries of the console pages.

Each does bounded work: pages are keyset pages, and aggregates read only a recent time window
through the index on `received_at`. The same statements run on SQLite and PostgreSQL; the
expressions that differ (a timestamp's minute, a key in a JSON list) are compiled per dialect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Integer, Select, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from catalog_gateway.auth.models import ApiKey
from catalog_gateway.events.log import EventFilter
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.results import EventStatus
from catalog_gateway.sources.models import Source

ERROR_STATUSES = (EventStatus.REJECTED.value, EventStatus.FAILED.value)


class epoch_minute(FunctionElement[int]):  # noqa: N801 (SQL functions are lower case)
    """Whole minutes since 1970 of a UTC timestamp column."""

    type = Integer()
    inherit_cache = True


@compiles(epoch_minute, "sqlite")
def _epoch_minute_sqlite(element: epoch_minute, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps naive UTC text; strftime('%s') reads it as UTC.
    return f"(CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER) / 60)"


@compiles(epoch_minute, "postgresql")
def _epoch_minute_postgresql(element: epoch_minute, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / 60) AS INTEGER)"


class lists_key(FunctionElement[bool]):  # noqa: N801 (SQL functions are lower case)
    """True when the JSON object column's list `member` holds the string `key`:
    `lists_key(column, member, key)`."""

    type = Boolean()
    inherit_cache = True


@compiles(lists_key, "sqlite")
def _lists_key_sqlite(element: lists_key, compiler: SQLCompiler, **kw: Any) -> str:
    # Compiled clauses: the member and the key are bound parameters, never text pasted in.
    column, member, key = (compiler.process(clause, **kw) for clause in element.clauses)
    return (
        f"EXISTS (SELECT 1 FROM json_each({column}, '$.' || {member}) AS listed "  # noqa: S608
        f"WHERE listed.value = {key})"
    )


@compiles(lists_key, "postgresql")
def _lists_key_postgresql(element: lists_key, compiler: SQLCompiler, **kw: Any) -> str:
    column, member, key = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(({column} -> CAST({member} AS TEXT)) @> jsonb_build_array(CAST({key} AS TEXT)))"


def stuck_count(session: Session, claimed_before: datetime) -> int:
    """How many events a process left `in_progress` (it died after the catalog commit) and
    claimed before `claimed_before` (the lease's start): `events replay` takes them over."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(EventRecord)
            .where(
                EventRecord.status == EventStatus.IN_PROGRESS.value,
                EventRecord.updated_at < claimed_before,
            )
        )
        or 0
    )


@dataclass(frozen=True, slots=True)
class EventPage:
    """Newest events first; `older` is the `before` of the next page (None on the last)."""

    records: Sequence[EventRecord]
    older: int | None


def newest_events(
    session: Session, filters: EventFilter, *, before: int | None, limit: int
) -> EventPage:
    """Event records matching `filters`, newest first, each page older than `before`."""
    query = select(EventRecord).options(selectinload(EventRecord.source))
    for column, value in (
        (EventRecord.source_id, filters.source_id),
        (EventRecord.status, filters.status),
        (EventRecord.event_type, filters.event_type),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.since is not None:
        query = query.where(EventRecord.received_at >= filters.since)
    if before is not None:
        query = query.where(EventRecord.id < before)
    return _newest_page(session, query, limit)


def _newest_page(session: Session, query: Select[EventRecord], limit: int) -> EventPage:
    """A page of `query`'s records, newest first, and where the next one starts."""
    rows = list(session.scalars(query.order_by(EventRecord.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return EventPage(rows, None)
    return EventPage(rows[:limit], rows[limit - 1].id)


def event_by_key(session: Session, slug: str, event_id: str) -> EventRecord | None:
    """One event record by its key: its source's slug and its event id."""
    return session.scalar(
        select(EventRecord)
        .join(Source, EventRecord.source_id == Source.id)
        .where(Source.slug == slug, EventRecord.event_id == event_id)
        .options(selectinload(EventRecord.source))
    )


COURSE = "course"
RUN = "course run"


@dataclass(frozen=True, slots=True)
class EventSearch:
    """What a search for `text` found: the events with that id (one per source at most), and
    a page of the events whose answer names a course or a run with that key, newest first."""

    text: str
    by_id: Sequence[EventRecord]
    naming: EventPage

    def named(self, record: EventRecord) -> str:
        """What of `record`'s products has the searched key: `course` or `course run`."""
        return COURSE if self.text in (record.products or {}).get("courses", []) else RUN


def search_events(session: Session, text: str, *, before: int | None, limit: int) -> EventSearch:
    """Events whose id is `text` (in any source), and those whose answer's products name the
    course or run key `text` (exact matches)."""
    # Each source's id with the text: the lookups of the (source, event id) unique index.
    source_ids = [source_id for source_id, _ in source_slugs(session)]
    by_id = list(
        session.scalars(
            select(EventRecord)
            .where(EventRecord.source_id.in_(source_ids), EventRecord.event_id == text)
            .options(selectinload(EventRecord.source))
            .order_by(EventRecord.id.desc())
        )
    )
    key = literal(text)
    query = (
        select(EventRecord)
        .where(
            or_(
                lists_key(EventRecord.products, literal("courses"), key),
                lists_key(EventRecord.products, literal("course_runs"), key),
            )
        )
        .options(selectinload(EventRecord.source))
    )
    if before is not None:
        query = query.where(EventRecord.id < before)
    return EventSearch(text, by_id, _newest_page(session, query, limit))


def event_record(session: Session, record_id: int) -> EventRecord | None:
    """One event record by its row id, with its source."""
    return session.scalar(
        select(EventRecord)
        .where(EventRecord.id == record_id)
        .options(selectinload(EventRecord.source))
    )


def events_per_minute(session: Session, since: datetime) -> dict[tuple[int, str], int]:
    """(epoch minute, status) → how many events were received, from `since` on."""
    minute: ColumnElement[int] = epoch_minute(EventRecord.received_at)
    rows = session.execute(
        select(minute, EventRecord.status, func.count())
        .where(EventRecord.received_at >= since)
        .group_by(minute, EventRecord.status)
    )
    return {(int(bucket), status): int(count) for bucket, status, count in rows}


def failed_retryable_count(session: Session) -> int:
    """How many events failed retryably and wait for a resend or a replay."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(EventRecord)
            .where(EventRecord.status == EventStatus.FAILED.value, EventRecord.retryable)
        )
        or 0
    )


@dataclass(frozen=True, slots=True)
class SourceActivity:
    """A source, what it sent since a moment, and its keys."""

    source: Source
    events: int
    errors: int
    last_event: datetime | None
    keys: Sequence[ApiKey]


def source_activity(session: Session, since: datetime) -> list[SourceActivity]:
    """Every source (by slug) with its events and errors since `since`, last event and keys."""
    last_event = (
        select(func.max(EventRecord.received_at))
        .where(EventRecord.source_id == Source.id)
        .correlate(Source)
        .scalar_subquery()
    )
    sources = session.execute(select(Source, last_event).order_by(Source.slug)).all()
    counts = {
        source_id: (int(events), int(errors or 0))
        for source_id, events, errors in session.execute(
            select(
                EventRecord.source_id,
                func.count(),
                func.sum(case((EventRecord.status.in_(ERROR_STATUSES), 1), else_=0)),
            )
            .where(EventRecord.received_at >= since)
            .group_by(EventRecord.source_id)
        )
    }
    keys: dict[int, list[ApiKey]] = defaultdict(list)
    for key in session.scalars(
        select(ApiKey).where(ApiKey.source_id.is_not(None)).order_by(ApiKey.created, ApiKey.id)
    ):
        assert key.source_id is not None
        keys[key.source_id].append(key)
    return [
        SourceActivity(
            source=source,
            events=counts.get(source.id, (0, 0))[0],
            errors=counts.get(source.id, (0, 0))[1],
            last_event=last,
            keys=keys[source.id],
        )
        for source, last in sources
    ]


def source_slugs(session: Session) -> list[tuple[int, str]]:
    """(id, slug) of every source, by slug: the choices of the source filters."""
    rows = session.execute(select(Source.id, Source.slug).order_by(Source.slug))
    return [(source_id, slug) for source_id, slug in rows]
