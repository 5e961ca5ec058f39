"""Course upserts and retirement.

A course is found by (source, external_id) first; its key `ORG+NUMBER` is derived when it is
created and kept, so a partner renaming its number never changes the course's identity.
"""

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
from catalog_gateway.catalog.fingerprints import fingerprint
from catalog_gateway.catalog.inputs import CourseInput
from catalog_gateway.catalog.keys import course_key
from catalog_gateway.catalog.models import ProductStatus, RunStatus
from catalog_gateway.catalog.organizations import OrganizationRef
from catalog_gateway.catalog.state import CatalogState, CourseRow
from catalog_gateway.catalog.status import transition
from catalog_gateway.catalog.vocabulary import Vocabulary


def find_course(
    state: CatalogState, *, external_id: str | None = None, key: str | None = None
) -> CourseRow:
    """The course a source refers to, by its external id or by key; it must be the source's own."""
    course, violation = rules.referenced_course(state, external_id=external_id, key=key)
    if violation is not None:
        raise violation.error()
    assert course is not None
    return course


def upsert_course(
    state: CatalogState,
    data: CourseInput,
    vocabulary: Vocabulary,
    organization: OrganizationRef,
    *,
    occurred_at: datetime | None = None,
) -> Upserted[CourseRow]:
    """Create or update the source's course `data.external_id` (and bring back a retired one);
    `organization` is what `data.organization` resolves to for the source."""
    _check_references(data, vocabulary)
    course = state.course(data.external_id)
    created = course is None
    if course is None:
        key = course_key(organization.key, data.number)
        violation = rules.course_key_holder(state, key)
        if violation is not None:
            raise violation.error()
        course = CourseRow(source_id=state.source_id, external_id=data.external_id, key=key)
        state.add_course(course)
    else:
        ensure_not_stale(course, occurred_at, f"course {course.key}")
        state.touch(course)
    if data.slug is not None and data.slug != course.slug:
        violation = rules.course_slug_holder(state, data.slug, data.external_id)
        if violation is not None:
            raise violation.error()
        state.course_slugs[data.slug] = course
    changed = assign_changed(course, {"organization_id": organization.id, **_course_values(data)})
    changed |= _sync_subjects(course, data.subjects)
    changed |= _restore_if_retired(course)
    course.fingerprint = course_fingerprint(data, organization.id)
    note_occurred_at(course, occurred_at)
    return Upserted(course, settle(course, created=created, changed=changed))


def course_fingerprint(data: CourseInput, organization_id: int) -> str:
    """The fingerprint of the course content `data` writes (its organization code resolved)."""
    return fingerprint(data, organization_id=organization_id)


def retire_course(
    state: CatalogState, course: CourseRow, *, occurred_at: datetime | None = None
) -> Upserted[CourseRow]:
    """Archive the course and every run of it."""
    ensure_not_stale(course, occurred_at, f"course {course.key}")
    state.touch(course)
    changed = assign_changed(course, {"product_status": ProductStatus.ARCHIVED})
    for run in course.runs:
        state.touch(run)
        if transition(run, RunStatus.ARCHIVED):
            settle(run, created=False, changed=True)
    note_occurred_at(course, occurred_at)
    return Upserted(course, settle(course, created=False, changed=changed))


def _check_references(data: CourseInput, vocabulary: Vocabulary) -> None:
    vocabulary.require_course_type(data.course_type)
    vocabulary.require_level(data.level)
    for subject in data.subjects:
        vocabulary.require_subject(subject)
    if data.entitlement is not None:
        vocabulary.require_known_seat_type(data.entitlement.seat_type, field="entitlement")


def _course_values(data: CourseInput) -> dict[str, Any]:
    entitlement = data.entitlement
    return {
        "number": data.number,
        "title": data.title,
        "short_description": data.short_description,
        "full_description": data.full_description,
        "outcome": data.outcome,
        "syllabus": data.syllabus,
        "prerequisites": data.prerequisites,
        "faq": data.faq,
        "learner_testimonials": data.learner_testimonials,
        "level": data.level,
        "image_url": data.image_url,
        "video_url": data.video_url,
        "course_type": data.course_type,
        "marketing": data.marketing.model_dump(mode="json") if data.marketing else None,
        "entitlement_seat_type": entitlement.seat_type if entitlement else None,
        "entitlement_price": entitlement.price if entitlement else None,
        "entitlement_currency": entitlement.currency if entitlement else None,
        "organization_short_code_override": data.organization_short_code_override,
        "organization_logo_override": data.organization_logo_override,
        "seo": data.seo.model_dump(mode="json") if data.seo else None,
        "slug": data.slug,
        "inquiry": data.inquiry.model_dump(mode="json") if data.inquiry else None,
    }


def _sync_subjects(course: CourseRow, subjects: list[str]) -> bool:
    wanted = list(dict.fromkeys(subjects))
    if course.subjects == wanted:
        return False
    course.subjects = wanted
    return True


def _restore_if_retired(course: CourseRow) -> bool:
    return assign_changed(course, {"product_status": ProductStatus.PUBLISHED})
