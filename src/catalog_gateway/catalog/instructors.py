"""Instructor upserts. An instructor is (source, external_id); names never identify anyone."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_gateway.catalog.changes import (
    Upserted,
    assign_changed,
    ensure_not_stale,
    note_occurred_at,
    settle,
)
from catalog_gateway.catalog.fingerprints import fingerprint
from catalog_gateway.catalog.inputs import InstructorInput
from catalog_gateway.catalog.models import Instructor
from catalog_gateway.catalog.prefetch import Prefetched
from catalog_gateway.sources.models import Source


def find_instructor(session: Session, source_id: int, external_id: str) -> Instructor | None:
    """The source's instructor with this id, if any."""
    return session.scalar(
        select(Instructor).where(
            Instructor.source_id == source_id, Instructor.external_id == external_id
        )
    )


def upsert_instructor(
    session: Session,
    source: Source,
    data: InstructorInput,
    *,
    occurred_at: datetime | None = None,
    prefetched: Prefetched | None = None,
) -> Upserted[Instructor]:
    """Create or update the source's instructor `data.external_id`.

    The row is written at the next flush (at the latest when the transaction commits).
    """
    if prefetched is not None and prefetched.knows_instructor(data.external_id):
        instructor = prefetched.instructors[data.external_id]
    else:
        instructor = find_instructor(session, source.id, data.external_id)
    created = instructor is None
    if instructor is None:
        instructor = Instructor(uuid=uuid.uuid4(), source=source, external_id=data.external_id)
        session.add(instructor)
        if prefetched is not None:
            prefetched.instructors[data.external_id] = instructor
    else:
        ensure_not_stale(instructor, occurred_at, f"instructor {data.external_id}")
    position = data.position
    changed = assign_changed(
        instructor,
        {
            "given_name": data.given_name,
            "family_name": data.family_name,
            "email": data.email,
            "bio": data.bio,
            "image_url": data.image_url,
            "position_title": position.title if position else None,
            "position_organization": position.organization if position else None,
        },
    )
    instructor.fingerprint = fingerprint(data)
    note_occurred_at(instructor, occurred_at)
    return Upserted(instructor, settle(instructor, created=created, changed=changed))
