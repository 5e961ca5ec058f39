"""Creating and configuring sources, and their own organization codes."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from limits import parse_many
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_gateway.auth.keys import IssuedKey, issue_key
from catalog_gateway.catalog.changes import Action, Upserted, assign_changed
from catalog_gateway.catalog.models import Organization
from catalog_gateway.errors import (
    ConflictError,
    ErrorCode,
    InvalidValueError,
    NotFoundError,
)
from catalog_gateway.events.types import EventType
from catalog_gateway.sources.models import SLUG_PATTERN, Source, SourceOrganizationCode


def get_source(session: Session, slug: str) -> Source:
    """The source with this slug."""
    source = session.scalar(select(Source).where(Source.slug == slug))
    if source is None:
        raise NotFoundError(f"no source {slug!r}", code=ErrorCode.UNKNOWN_SOURCE)
    return source


def list_sources(session: Session) -> list[Source]:
    """Every source, by slug."""
    return list(session.scalars(select(Source).order_by(Source.slug)))


def create_source(
    session: Session,
    slug: str,
    *,
    transformer: str,
    rate: str,
    burst: int,
    installed: Collection[str],
    event_types: Sequence[str] | None = None,
    name: str | None = None,
) -> tuple[Source, IssuedKey]:
    """A new source and its first API key (the only time the key is shown); `installed`: the
    names of the transformers it may name (`TransformerRegistry.origins()`)."""
    if not re.fullmatch(SLUG_PATTERN, slug):
        raise InvalidValueError(
            f"source slug {slug!r} must be 2 to 64 characters of a-z, 0-9 and '-'",
            code=ErrorCode.INVALID_REQUEST,
            field="slug",
        )
    if transformer not in installed:
        raise InvalidValueError(
            f"no transformer {transformer!r} is installed; installed: "
            f"{', '.join(sorted(installed)) or 'none'}",
            code=ErrorCode.UNKNOWN_TRANSFORMER,
            field="transformer",
        )
    if session.scalar(select(Source.id).where(Source.slug == slug)) is not None:
        raise ConflictError(f"source {slug!r} already exists", code=ErrorCode.SOURCE_EXISTS)
    source = Source(
        slug=slug,
        name=name or slug,
        transformer=transformer,
        rate=check_rate(rate),
        burst=check_burst(burst),
        allowed_event_types=check_event_types(event_types),
    )
    session.add(source)
    session.flush()
    return source, issue_key(session, source=source)


def update_source(
    session: Session,
    slug: str,
    *,
    rate: str | None = None,
    burst: int | None = None,
    event_types: Sequence[str] | None = None,
) -> Upserted[Source]:
    """Change a source's limits or allowed event types; what is not given stays."""
    source = get_source(session, slug)
    values: dict[str, object] = {}
    if rate is not None:
        values["rate"] = check_rate(rate)
    if burst is not None:
        values["burst"] = check_burst(burst)
    if event_types is not None:
        values["allowed_event_types"] = check_event_types(event_types)
    changed = assign_changed(source, values)
    session.flush()
    return Upserted(source, Action.UPDATED if changed else Action.UNCHANGED)


def map_organization_code(
    session: Session, slug: str, external_code: str, organization_key: str
) -> Upserted[SourceOrganizationCode]:
    """Let source `slug` call organization `organization_key` by its own `external_code`."""
    source = get_source(session, slug)
    organization = session.scalar(select(Organization).where(Organization.key == organization_key))
    if organization is None:
        raise NotFoundError(
            f"no organization {organization_key!r} (create it first)",
            code=ErrorCode.UNKNOWN_ORGANIZATION,
        )
    mapping = session.scalar(
        select(SourceOrganizationCode).where(
            SourceOrganizationCode.source_id == source.id,
            SourceOrganizationCode.external_code == external_code,
        )
    )
    if mapping is None:
        mapping = SourceOrganizationCode(
            source=source, external_code=external_code, organization_id=organization.id
        )
        session.add(mapping)
        session.flush()
        return Upserted(mapping, Action.CREATED)
    changed = assign_changed(mapping, {"organization_id": organization.id})
    session.flush()
    return Upserted(mapping, Action.UPDATED if changed else Action.UNCHANGED)


def check_rate(rate: str) -> str:
    """One rate in `limits` notation (`50/second`, `1000 per minute`), normalised."""
    try:
        items = parse_many(rate)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise InvalidValueError(
            f"rate {rate!r} is not one positive rate; write it like 50/second or 3000/minute",
            code=ErrorCode.INVALID_RATE,
            field="rate",
        )
    item = items[0]
    unit = item.GRANULARITY.name
    if item.multiples == 1:
        return f"{item.amount}/{unit}"
    return f"{item.amount}/{item.multiples} {unit}s"


def check_burst(burst: int) -> int:
    """A burst is at least one request."""
    if burst < 1:
        raise InvalidValueError(
            "burst must be at least 1", code=ErrorCode.INVALID_RATE, field="burst"
        )
    return burst


def check_event_types(event_types: Sequence[str] | None) -> list[str]:
    """Known event types, in a stable order; none given means all of them."""
    if not event_types:
        return [event_type.value for event_type in EventType]
    known = {event_type.value for event_type in EventType}
    unknown = [name for name in event_types if name not in known]
    if unknown:
        raise InvalidValueError(
            f"unknown event types: {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            code=ErrorCode.UNKNOWN_EVENT_TYPE,
            field="events",
        )
    return [event_type.value for event_type in EventType if event_type.value in event_types]
