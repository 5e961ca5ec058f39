"""Course upserts and retirement.

A course is found by (source, external_id) first; its key `ORG+NUMBER` is derived when it is
created and kept, so a partner renaming its number never changes the course's identity.
"""

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
from catalog_gateway.catalog.fingerprints import fingerprint
from catalog_gateway.catalog.inputs import CourseInput
from catalog_gateway.catalog.keys import course_key
from catalog_gateway.catalog.models import Course, CourseSubject, ProductStatus, RunStatus
from catalog_gateway.catalog.organizations import OrganizationCache, resolve_organization
from catalog_gateway.catalog.prefetch import Prefetched
from catalog_gateway.catalog.status import transition
from catalog_gateway.catalog.vocabulary import Vocabulary
from catalog_gateway.sources.models import Source


def find_course(
    session: Session, source: Source, *, external_id: str | None = None, key: str | None = None
) -> Course:
    """The course a source refers to, by its external id or by key; it must be the source's own."""
    course, violation = rules.referenced_course(
        session, source.id, external_id=external_id, key=key
    )
    if violation is not None:
        raise violation.error()
    assert course is not None
    return course


def upsert_course(
    session: Session,
    source: Source,
    data: CourseInput,
    vocabulary: Vocabulary,
    *,
    occurred_at: datetime | None = None,
    prefetched: Prefetched | None = None,
    organizations: OrganizationCache | None = None,
) -> Upserted[Course]:
    """Create or update the source's course `data.external_id` (and bring back a retired one).

    The row is written at the next flush (at the latest when the transaction commits).
    """
    _check_references(data, vocabulary)
    organization = resolve_organization(session, source.id, data.organization, organizations)
    if prefetched is not None and prefetched.knows_course(data.external_id):
        course = prefetched.courses[data.external_id]
    else:
        course = session.scalar(
            select(Course).where(
                Course.source_id == source.id, Course.external_id == data.external_id
            )
        )
    created = course is None
    if course is None:
        key = course_key(organization.key, data.number)
        _ensure_key_free(session, key, source)
        # A new course has no runs: saying so spares a query when its runs are matched.
        course = Course(
            uuid=uuid.uuid4(), key=key, source=source, external_id=data.external_id, runs=[]
        )
        session.add(course)
        if prefetched is not None:
            prefetched.courses[data.external_id] = course
    else:
        ensure_not_stale(course, occurred_at, f"course {course.key}")
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
    session: Session, course: Course, *, occurred_at: datetime | None = None
) -> Upserted[Course]:
    """Archive the course and every run of it."""
    ensure_not_stale(course, occurred_at, f"course {course.key}")
    changed = assign_changed(course, {"product_status": ProductStatus.ARCHIVED})
    for run in course.runs:
        if transition(run, RunStatus.ARCHIVED):
            settle(run, created=False, changed=True)
    note_occurred_at(course, occurred_at)
    session.flush()
    return Upserted(course, settle(course, created=False, changed=changed))


def _ensure_key_free(session: Session, key: str, source: Source) -> None:
    violation = rules.course_key_holder(session, source.id, key)
    if violation is not None:
        raise violation.error()


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
    }


def _sync_subjects(course: Course, subjects: list[str]) -> bool:
    wanted = list(dict.fromkeys(subjects))
    if course.subjects == wanted:
        return False
    course.subject_links = [
        CourseSubject(subject=slug, position=position) for position, slug in enumerate(wanted)
    ]
    return True


def _restore_if_retired(course: Course) -> bool:
    return assign_changed(course, {"product_status": ProductStatus.PUBLISHED})
