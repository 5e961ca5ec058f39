"""Degree upserts and retirement: (source, external_id) is a degree; its slug is unique."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from catalog_gateway.catalog import rules
from catalog_gateway.catalog.changes import (
    Upserted,
    assign_changed,
    ensure_not_stale,
    note_occurred_at,
    settle,
)
from catalog_gateway.catalog.inputs import DegreeInput
from catalog_gateway.catalog.models import ProductStatus
from catalog_gateway.catalog.organizations import OrganizationRef
from catalog_gateway.catalog.state import CatalogState, CourseRow, DegreeRow
from catalog_gateway.catalog.vocabulary import Vocabulary
from catalog_gateway.errors import NotFoundError


def find_degree(state: CatalogState, external_id: str) -> DegreeRow:
    """The source's degree with this external id."""
    degree = state.degree(external_id)
    if degree is None:
        raise NotFoundError(f"no degree with external id {external_id!r} for this source")
    return degree


def upsert_degree(
    state: CatalogState,
    data: DegreeInput,
    vocabulary: Vocabulary,
    organization: OrganizationRef,
    *,
    occurred_at: datetime | None = None,
) -> Upserted[DegreeRow]:
    """Create or update the source's degree `data.external_id` (and bring back a retired one)."""
    vocabulary.require_program_type(data.program_type)
    vocabulary.require_level(data.level)
    if data.primary_subject is not None:
        vocabulary.require_subject(data.primary_subject)
    courses = _resolve_courses(state, data.courses)
    degree = state.degree(data.external_id)
    created = degree is None
    if degree is None or degree.marketing_slug != data.marketing_slug:
        violation = rules.marketing_slug_holder(state, data.marketing_slug, data.external_id)
        if violation is not None:
            raise violation.error()
    if degree is None:
        degree = DegreeRow(
            source_id=state.source_id,
            external_id=data.external_id,
            marketing_slug=data.marketing_slug,
        )
        state.add_degree(degree)
    else:
        ensure_not_stale(degree, occurred_at, f"degree {degree.marketing_slug}")
        state.touch(degree)
    changed = assign_changed(
        degree,
        {"organization_id": organization.id, "product_status": ProductStatus.PUBLISHED}
        | _degree_values(data),
    )
    state.degree_slugs[degree.marketing_slug] = degree
    if degree.courses != courses:
        degree.courses = courses
        changed = True
    note_occurred_at(degree, occurred_at)
    return Upserted(degree, settle(degree, created=created, changed=changed))


def retire_degree(
    state: CatalogState, degree: DegreeRow, *, occurred_at: datetime | None = None
) -> Upserted[DegreeRow]:
    """Archive the degree (its courses stay as they are)."""
    ensure_not_stale(degree, occurred_at, f"degree {degree.marketing_slug}")
    state.touch(degree)
    changed = assign_changed(degree, {"product_status": ProductStatus.ARCHIVED})
    note_occurred_at(degree, occurred_at)
    return Upserted(degree, settle(degree, created=False, changed=changed))


def _resolve_courses(state: CatalogState, references: list[str]) -> list[CourseRow]:
    """Each reference is the source's course external id, or else any course's key."""
    courses: list[CourseRow] = []
    for reference in dict.fromkeys(references):
        course = rules.course_by_reference(state, reference)
        if course is None:
            raise rules.unknown_degree_course(reference).error()
        courses.append(course)
    return courses


def _degree_values(data: DegreeInput) -> dict[str, Any]:
    return {
        "marketing_slug": data.marketing_slug,
        "title": data.title,
        "subtitle": data.subtitle,
        "program_type": data.program_type,
        "overview": data.overview,
        "card_image_url": data.card_image_url,
        "specializations": list(data.specializations),
        "level": data.level,
        "primary_subject": data.primary_subject,
        "content_language": data.content_language,
        "external_url": data.external_url,
        "organic_url": data.organic_url,
        "lead_capture_form_url": data.lead_capture_form_url,
        "organization_short_code_override": data.organization_short_code_override,
    }
