"""Degree upserts and retirement: (source, external_id) is a degree; its slug is unique."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog_gateway.catalog import rules
from catalog_gateway.catalog.changes import (
    Upserted,
    assign_changed,
    ensure_not_stale,
    note_occurred_at,
    settle,
)
from catalog_gateway.catalog.inputs import DegreeInput
from catalog_gateway.catalog.models import Course, Degree, DegreeCourse, ProductStatus
from catalog_gateway.catalog.organizations import OrganizationCache, resolve_organization
from catalog_gateway.catalog.vocabulary import Vocabulary
from catalog_gateway.errors import (
    NotFoundError,
)
from catalog_gateway.sources.models import Source


def find_degree(session: Session, source: Source, external_id: str) -> Degree:
    """The source's degree with this external id."""
    degree = session.scalar(
        select(Degree).where(Degree.source_id == source.id, Degree.external_id == external_id)
    )
    if degree is None:
        raise NotFoundError(f"no degree with external id {external_id!r} for source {source.slug}")
    return degree


def upsert_degree(
    session: Session,
    source: Source,
    data: DegreeInput,
    vocabulary: Vocabulary,
    *,
    occurred_at: datetime | None = None,
    organizations: OrganizationCache | None = None,
) -> Upserted[Degree]:
    """Create or update the source's degree `data.external_id` (and bring back a retired one)."""
    vocabulary.require_program_type(data.program_type)
    vocabulary.require_level(data.level)
    if data.primary_subject is not None:
        vocabulary.require_subject(data.primary_subject)
    organization = resolve_organization(session, source.id, data.organization, organizations)
    courses = _resolve_courses(session, source, data.courses)
    degree = session.scalar(
        select(Degree).where(Degree.source_id == source.id, Degree.external_id == data.external_id)
    )
    created = degree is None
    if degree is None or degree.marketing_slug != data.marketing_slug:
        _ensure_slug_free(session, data.marketing_slug, source, data.external_id)
    if degree is None:
        degree = Degree(uuid=uuid.uuid4(), source=source, external_id=data.external_id)
        session.add(degree)
    else:
        ensure_not_stale(degree, occurred_at, f"degree {degree.marketing_slug}")
    changed = assign_changed(
        degree,
        {"organization_id": organization.id, "product_status": ProductStatus.PUBLISHED}
        | _degree_values(data),
    )
    changed |= _sync_courses(degree, courses)
    note_occurred_at(degree, occurred_at)
    session.flush()
    return Upserted(degree, settle(degree, created=created, changed=changed))


def retire_degree(
    session: Session, degree: Degree, *, occurred_at: datetime | None = None
) -> Upserted[Degree]:
    """Archive the degree (its courses stay as they are)."""
    ensure_not_stale(degree, occurred_at, f"degree {degree.marketing_slug}")
    changed = assign_changed(degree, {"product_status": ProductStatus.ARCHIVED})
    note_occurred_at(degree, occurred_at)
    session.flush()
    return Upserted(degree, settle(degree, created=False, changed=changed))


def _resolve_courses(session: Session, source: Source, references: list[str]) -> list[Course]:
    """Each reference is the source's course external id, or else any course's key."""
    courses: list[Course] = []
    for reference in dict.fromkeys(references):
        course = rules.course_by_reference(session, source.id, reference)
        if course is None:
            raise rules.unknown_degree_course(reference).error()
        courses.append(course)
    return courses


def _ensure_slug_free(session: Session, slug: str, source: Source, external_id: str | None) -> None:
    violation = rules.marketing_slug_holder(session, source.id, slug, external_id)
    if violation is not None:
        raise violation.error()


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


def _sync_courses(degree: Degree, courses: list[Course]) -> bool:
    if [link.course_id for link in degree.course_links] == [course.id for course in courses]:
        return False
    degree.course_links = [
        DegreeCourse(course=course, position=position) for position, course in enumerate(courses)
    ]
    return True
