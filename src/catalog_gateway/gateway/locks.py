"""Per-product serialization: events touching the same product run one at a time.

On PostgreSQL each catalog transaction takes transaction-scoped advisory locks on the products
it touches (in a fixed order, so two events never deadlock), across every server process. On
SQLite every write transaction already holds the database's single write lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session


def lock_id(name: str) -> int:
    """A stable signed 64-bit id for a product name such as `3:course:xe-7001`."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)


def lock_products(session: Session, names: Iterable[str]) -> None:
    """Hold the products' locks until the session's transaction ends."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for identifier in sorted({lock_id(name) for name in names}):
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": identifier})
