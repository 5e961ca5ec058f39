"""Who is calling: resolved from a bearer key once per request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from catalog_gateway.auth.keys import authenticate


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: a source (by slug) or an admin."""

    key_id: str
    source_id: int | None
    source_slug: str | None
    is_admin: bool
    rate: str | None = None
    burst: int | None = None
    last_used: datetime | None = None  # as stored when the key was looked up


def principal_for_key(session: Session, api_key: str) -> Principal | None:
    """The caller a key stands for, or None for an unknown or revoked key."""
    stored = authenticate(session, api_key)
    if stored is None:
        return None
    return Principal(
        key_id=stored.id,
        source_id=stored.source_id,
        source_slug=stored.source.slug if stored.source else None,
        is_admin=stored.is_admin,
        rate=stored.source.rate if stored.source else None,
        burst=stored.source.burst if stored.source else None,
        last_used=stored.last_used,
    )
