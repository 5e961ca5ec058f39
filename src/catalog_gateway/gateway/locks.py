"""Per-product serialization: events touching the same product run one at a time.

On PostgreSQL each catalog transaction takes transaction-scoped advisory locks on the products
its events name, before it reads them (all at once and in a fixed order, so two transactions
never deadlock), across every server process. On
SQLite every write transaction already holds the database's single write lock.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from catalog_gateway.catalog.models import Course
from catalog_gateway.catalog.state import Names


def lock_id(name: str) -> int:
    """A stable signed 64-bit id for a product name such as `3:course:xe-7001`."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)


def lock_products(session: Session, source_id: int, names: Names) -> None:
    """Hold the locks of the products a request's events name until the session's transaction
    ends: one statement, taking them in ascending order (so two transactions never wait on
    each other in a cycle)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    identifiers = sorted({lock_id(name) for name in product_locks(session, source_id, names)})
    if identifiers:
        session.execute(_LOCK, {"ids": identifiers})


_LOCK = text("SELECT count(pg_advisory_xact_lock(id)) FROM unnest(CAST(:ids AS bigint[])) AS id")


def product_locks(session: Session, source_id: int, names: Names) -> list[str]:
    """The lock names of the products a request's events name: their courses (a course named
    by key is locked by its external id, as the events naming it so do), instructors and
    degrees."""
    courses = set(names.courses)
    if names.course_keys:
        courses.update(
            session.scalars(
                _EXTERNAL_IDS, {"source_id": source_id, "keys": list(names.course_keys)}
            )
        )
    return [
        *(f"{source_id}:course:{external_id}" for external_id in courses),
        *(f"{source_id}:instructor:{external_id}" for external_id in names.instructors),
        *(f"{source_id}:degree:{external_id}" for external_id in names.degrees),
    ]


_EXTERNAL_IDS = select(Course.external_id).where(
    Course.source_id == bindparam("source_id"),
    Course.key.in_(bindparam("keys", expanding=True)),
)
