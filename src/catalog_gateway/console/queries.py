"""Read queries of the console pages.

Each does bounded work: pages are keyset pages, and aggregates read only a recent time window
through the index on `received_at`. The same statements run on SQLite and PostgreSQL; the one
expression that differs (a timestamp's minute) is compiled per dialect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, case, func, select
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
    rows = list(session.scalars(query.order_by(EventRecord.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return EventPage(rows, None)
    return EventPage(rows[:limit], rows[limit - 1].id)


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
