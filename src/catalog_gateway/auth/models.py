"""A stored API key: its public id and the SHA-256 of the secret, never the secret itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog_gateway.db.base import Base, utcnow
from catalog_gateway.db.types import UTCDateTime
from catalog_gateway.sources.models import Source


class ApiKey(Base):
    """A key belongs to exactly one source, or is an admin key (no source)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    is_admin: Mapped[bool] = mapped_column(default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a request last authenticated with it, to within `USE_NOTED_EVERY` (not every use is
    # written: that would be a write per request).
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source: Mapped[Source | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "(is_admin AND source_id IS NULL) OR (NOT is_admin AND source_id IS NOT NULL)",
            name="admin_xor_source",
        ),
    )
