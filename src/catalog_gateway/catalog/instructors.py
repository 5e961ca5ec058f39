"""Instructor upserts. An instructor is (source, external_id); names never identify anyone."""

from __future__ import annotations

from datetime import datetime

from catalog_gateway.catalog.changes import (
    Upserted,
    assign_changed,
    ensure_not_stale,
    note_occurred_at,
    settle,
)
from catalog_gateway.catalog.fingerprints import fingerprint
from catalog_gateway.catalog.inputs import InstructorInput
from catalog_gateway.catalog.state import CatalogState, InstructorRow


def upsert_instructor(
    state: CatalogState, data: InstructorInput, *, occurred_at: datetime | None = None
) -> Upserted[InstructorRow]:
    """Create or update the source's instructor `data.external_id` (written with the state)."""
    instructor = state.instructor(data.external_id)
    created = instructor is None
    if instructor is None:
        instructor = InstructorRow(source_id=state.source_id, external_id=data.external_id)
        state.add_instructor(instructor)
    else:
        ensure_not_stale(instructor, occurred_at, f"instructor {data.external_id}")
        state.touch(instructor)
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
