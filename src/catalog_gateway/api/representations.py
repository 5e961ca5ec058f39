"""Read representations: the canonical field names plus identity and state (DESIGN §4)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from catalog_gateway.catalog.models import (
    Course,
    CourseRun,
    Degree,
    Instructor,
    Organization,
    Pacing,
    ProductStatus,
    Restriction,
    RunStatus,
    Seat,
)

ItemT = TypeVar("ItemT", bound=BaseModel)


class PageOut(BaseModel, Generic[ItemT]):
    """One page of a list; pass `next` back as `cursor` for the following page."""

    results: list[ItemT]
    next: str | None = Field(description="Cursor of the next page; null on the last page.")


class OrganizationOut(BaseModel):
    """A partner organization."""

    key: str = Field(examples=["MITx"])
    name: str
    modified: datetime


class SubjectOut(BaseModel):
    """A subject: its slug (what courses and degrees name) and its English name."""

    slug: str = Field(examples=["data-analysis-statistics"])
    name: str = Field(examples=["Data Analysis & Statistics"])


class PositionOut(BaseModel):
    """Where an instructor works."""

    title: str | None
    organization: str | None


class InstructorOut(BaseModel):
    """An instructor."""

    uuid: uuid.UUID
    source: str
    external_id: str
    given_name: str
    family_name: str | None
    email: str | None
    bio: str | None
    image_url: str | None
    position: PositionOut | None
    modified: datetime


class SeatOut(BaseModel):
    """A seat of a run; `sku` is ecommerce's, once published there."""

    type: str
    price: Decimal = Field(
        examples=["2800.00"], description="The price learners see (and checkout charges)."
    )
    pending_price: Decimal | None = Field(
        examples=[None],
        description="A new price of a published run's seat that ecommerce has not accepted "
        "yet (its step failed): it becomes `price` when the event is sent again or replayed "
        "and ecommerce accepts it. Null otherwise.",
    )
    currency: str = Field(examples=["USD"])
    upgrade_deadline: datetime | None
    sku: str | None


class CourseRunOut(BaseModel):
    """A course run with its seats; `staff` lists instructor external ids, in order."""

    key: str = Field(examples=["course-v1:MITx+DS101+1T2027"])
    uuid: uuid.UUID
    course: str = Field(examples=["MITx+DS101"])
    external_id: str | None
    status: RunStatus
    start: datetime
    end: datetime
    enrollment_start: datetime | None
    enrollment_end: datetime | None
    go_live_date: datetime | None
    pacing: Pacing
    run_type: str
    min_effort: int | None
    max_effort: int | None
    weeks_to_complete: int | None
    content_language: str | None
    transcript_languages: list[str]
    staff: list[str]
    restriction: Restriction | None
    fixed_price_usd: Decimal | None
    seats: list[SeatOut]
    modified: datetime


class EntitlementOut(BaseModel):
    """The course's own price."""

    seat_type: str
    price: Decimal
    currency: str
    sku: str | None


class CourseOut(BaseModel):
    """A course with its runs."""

    key: str = Field(examples=["MITx+DS101"])
    uuid: uuid.UUID
    source: str
    external_id: str
    organization: str
    number: str
    title: str
    short_description: str | None
    full_description: str | None
    outcome: str | None
    syllabus: str | None
    prerequisites: str | None
    faq: str | None
    learner_testimonials: str | None
    level: str | None
    subjects: list[str]
    image_url: str | None
    video_url: str | None
    course_type: str
    entitlement: EntitlementOut | None
    marketing: dict[str, Any] | None
    organization_short_code_override: str | None
    organization_logo_override: str | None
    seo: dict[str, Any] | None = Field(
        description="SEO `title`, `description` and `keywords` of the course page."
    )
    slug: str | None = Field(description="The course page's URL slug, unique in the catalog.")
    inquiry: dict[str, Any] | None = Field(
        description="The inquiry form: `form_id`, and `post_submit_url` shown once it is sent."
    )
    product_status: ProductStatus
    modified: datetime
    course_runs: list[CourseRunOut]


class DegreeOut(BaseModel):
    """A degree; `courses` are course keys, in the degree's order."""

    uuid: uuid.UUID
    source: str
    external_id: str
    marketing_slug: str
    title: str
    subtitle: str | None
    program_type: str
    organization: str
    overview: str | None
    card_image_url: str | None
    courses: list[str]
    specializations: list[str]
    level: str | None
    primary_subject: str | None
    content_language: str | None
    external_url: str | None
    organic_url: str | None
    lead_capture_form_url: str | None
    organization_short_code_override: str | None
    product_status: ProductStatus
    modified: datetime


def organization_out(organization: Organization) -> OrganizationOut:
    """The read representation of an organization."""
    return OrganizationOut(
        key=organization.key, name=organization.name, modified=organization.modified
    )


def instructor_out(instructor: Instructor) -> InstructorOut:
    """The read representation of an instructor."""
    has_position = instructor.position_title or instructor.position_organization
    return InstructorOut(
        uuid=instructor.uuid,
        source=instructor.source.slug,
        external_id=instructor.external_id,
        given_name=instructor.given_name,
        family_name=instructor.family_name,
        email=instructor.email,
        bio=instructor.bio,
        image_url=instructor.image_url,
        position=PositionOut(
            title=instructor.position_title, organization=instructor.position_organization
        )
        if has_position
        else None,
        modified=instructor.modified,
    )


def seat_out(seat: Seat) -> SeatOut:
    """The read representation of a seat."""
    return SeatOut(
        type=seat.type,
        price=seat.price,
        pending_price=seat.pending_price,
        currency=seat.currency,
        upgrade_deadline=seat.upgrade_deadline,
        sku=seat.sku,
    )


def course_run_out(run: CourseRun, course_key: str) -> CourseRunOut:
    """The read representation of a run (the course key is passed to avoid a lookup)."""
    return CourseRunOut(
        key=run.key,
        uuid=run.uuid,
        course=course_key,
        external_id=run.external_id,
        status=run.status,
        start=run.start,
        end=run.end,
        enrollment_start=run.enrollment_start,
        enrollment_end=run.enrollment_end,
        go_live_date=run.go_live_date,
        pacing=run.pacing,
        run_type=run.run_type,
        min_effort=run.min_effort,
        max_effort=run.max_effort,
        weeks_to_complete=run.weeks_to_complete,
        content_language=run.content_language,
        transcript_languages=list(run.transcript_languages),
        staff=[instructor.external_id for instructor in run.staff],
        restriction=run.restriction,
        fixed_price_usd=run.fixed_price_usd,
        seats=[seat_out(seat) for seat in run.seats],
        modified=run.modified,
    )


def course_out(course: Course) -> CourseOut:
    """The read representation of a course, runs included."""
    entitlement = (
        EntitlementOut(
            seat_type=course.entitlement_seat_type,
            price=course.entitlement_price,
            currency=course.entitlement_currency,
            sku=course.entitlement_sku,
        )
        if course.entitlement_seat_type is not None
        and course.entitlement_price is not None
        and course.entitlement_currency is not None
        else None
    )
    return CourseOut(
        key=course.key,
        uuid=course.uuid,
        source=course.source.slug,
        external_id=course.external_id,
        organization=course.organization.key,
        number=course.number,
        title=course.title,
        short_description=course.short_description,
        full_description=course.full_description,
        outcome=course.outcome,
        syllabus=course.syllabus,
        prerequisites=course.prerequisites,
        faq=course.faq,
        learner_testimonials=course.learner_testimonials,
        level=course.level,
        subjects=course.subjects,
        image_url=course.image_url,
        video_url=course.video_url,
        course_type=course.course_type,
        entitlement=entitlement,
        marketing=course.marketing,
        organization_short_code_override=course.organization_short_code_override,
        organization_logo_override=course.organization_logo_override,
        seo=course.seo,
        slug=course.slug,
        inquiry=course.inquiry,
        product_status=course.product_status,
        modified=course.modified,
        course_runs=[course_run_out(run, course.key) for run in course.runs],
    )


def degree_out(degree: Degree) -> DegreeOut:
    """The read representation of a degree."""
    return DegreeOut(
        uuid=degree.uuid,
        source=degree.source.slug,
        external_id=degree.external_id,
        marketing_slug=degree.marketing_slug,
        title=degree.title,
        subtitle=degree.subtitle,
        program_type=degree.program_type,
        organization=degree.organization.key,
        overview=degree.overview,
        card_image_url=degree.card_image_url,
        courses=[course.key for course in degree.courses],
        specializations=list(degree.specializations),
        level=degree.level,
        primary_subject=degree.primary_subject,
        content_language=degree.content_language,
        external_url=degree.external_url,
        organic_url=degree.organic_url,
        lead_capture_form_url=degree.lead_capture_form_url,
        organization_short_code_override=degree.organization_short_code_override,
        product_status=degree.product_status,
        modified=degree.modified,
    )
