"""The event log: every event a source sent, with the answer it got."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog_gateway.db.base import Base, utcnow
from catalog_gateway.db.types import JSONType, UTCDateTime
from catalog_gateway.sources.models import Source


class EventRecord(Base):
    """One event, keyed by (source, event_id): the idempotency key."""

    __tablename__ = "event_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    event_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    payload_hash: Mapped[str] = mapped_column(String(64))
    raw_payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    canonical_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), index=True)
    http_status: Mapped[int | None]
    retryable: Mapped[bool] = mapped_column(default=False)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    errors_truncated: Mapped[int] = mapped_column(default=0, server_default="0")
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    products: Mapped[dict[str, list[str]]] = mapped_column(JSONType, default=dict)
    duration_ms: Mapped[float | None]
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    attempts: Mapped[int] = mapped_column(default=1)
    # The answers of the attempts before the stored one, oldest first (see events.log); read
    # only when used (a resume, the console's event page), not with every record.
    earlier_attempts: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType, default=list, server_default="[]", deferred=True
    )
    source: Mapped[Source] = relationship()

    __table_args__ = (UniqueConstraint("source_id", "event_id"),)
