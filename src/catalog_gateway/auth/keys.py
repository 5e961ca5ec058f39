"""Issuing, checking and revoking API keys.

A key is 256 random bits, shown once. Only its SHA-256 is stored: for a secret of that
strength a fast hash is enough (there is nothing to brute-force), and it lets the key be found
by an indexed lookup instead of a scan.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, selectinload

from catalog_gateway.auth.models import ApiKey
from catalog_gateway.db.base import utcnow
from catalog_gateway.errors import ErrorCode, NotFoundError
from catalog_gateway.sources.models import Source

KEY_PREFIX = "cgw_"
ID_PREFIX = "key_"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key as it is handed out, the one time its secret is known."""

    id: str
    api_key: str


def hash_key(api_key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def issue_key(session: Session, *, source: Source | None = None) -> IssuedKey:
    """A new key for `source`, or an admin key when no source is given."""
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = ID_PREFIX + secrets.token_hex(8)
    session.add(
        ApiKey(id=key_id, key_hash=hash_key(api_key), source=source, is_admin=source is None)
    )
    session.flush()
    return IssuedKey(id=key_id, api_key=api_key)


def authenticate(session: Session, api_key: str) -> ApiKey | None:
    """The live key matching `api_key`, or None (unknown or revoked)."""
    presented = hash_key(api_key)
    stored = session.scalar(select(ApiKey).where(ApiKey.key_hash == presented))
    if stored is None or stored.revoked is not None:
        return None
    if not hmac.compare_digest(stored.key_hash, presented):
        return None
    return stored


USE_NOTED_EVERY = timedelta(minutes=1)


def note_use(session: Session, key_id: str, now: datetime) -> None:
    """Record that key `key_id` was used now, unless that was noted within `USE_NOTED_EVERY`."""
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used.is_(None), ApiKey.last_used < now - USE_NOTED_EVERY),
        )
        .values(last_used=now)
    )


def list_keys(session: Session) -> list[ApiKey]:
    """Every key (revoked ones too), oldest first, with its source."""
    return list(
        session.scalars(
            select(ApiKey).options(selectinload(ApiKey.source)).order_by(ApiKey.created, ApiKey.id)
        )
    )


def revoke_key(session: Session, key_or_id: str) -> ApiKey:
    """Revoke a key, named by the key itself or by its id. Revoking twice is harmless."""
    stored = session.get(ApiKey, key_or_id) or session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(key_or_id))
    )
    if stored is None:
        raise NotFoundError(
            "no such API key (give the key itself or its id)", code=ErrorCode.UNKNOWN_KEY
        )
    if stored.revoked is None:
        stored.revoked = utcnow()
        session.flush()
    return stored
