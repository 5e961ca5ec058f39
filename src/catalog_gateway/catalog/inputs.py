"""The canonical shapes of catalog data: what upserts take and what the `canonical` transformer
accepts as is (DESIGN §4 "canonical payloads").

The models check everything that one field can tell (strict JSON types, lengths, formats,
URLs, language tags, currencies, prices); `gateway.validation` adds what needs several fields
or the catalog (dates in order, references); the catalog service checks references again.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from catalog_gateway.catalog.fields import (
    CurrencyCode,
    ExternalId,
    HttpUrl,
    LanguageTag,
    Price,
    RequiredText,
    UtcDateTime,
    WholeNumber,
)
from catalog_gateway.catalog.models import Pacing, Restriction

COURSE_NUMBER_PATTERN = r"^[A-Za-z0-9._-]+$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PositionInput(_Input):
    """Where an instructor works."""

    title: str | None = Field(default=None, max_length=255, examples=["Professor"])
    organization: str | None = Field(default=None, max_length=255, examples=["MIT"])


class InstructorInput(_Input):
    """An instructor, identified by the source's own id (never by name)."""

    external_id: ExternalId = Field(examples=["in-1"])
    given_name: RequiredText = Field(examples=["Ada"])
    family_name: str | None = Field(default=None, max_length=255, examples=["Lovelace"])
    email: str | None = Field(default=None, max_length=320, examples=["ada@example.org"])
    bio: str | None = Field(default=None, description="HTML allowed.")
    image_url: HttpUrl | None = None
    position: PositionInput | None = None


class EntitlementInput(_Input):
    """The course's own price, bought independently of a run."""

    seat_type: str = Field(examples=["paid-executive-education"])
    price: Price
    currency: CurrencyCode


class FactInput(_Input):
    """A heading with a short text (marketing facts, certificate)."""

    heading: str | None = Field(default=None, examples=["90%"])
    blurb: str | None = Field(default=None, examples=["of learners would recommend it"])


class MarketingInput(_Input):
    """Marketing metadata shown on landing pages."""

    external_url: HttpUrl | None = Field(default=None, description="The paid landing page.")
    organic_url: HttpUrl | None = None
    lead_capture_form_url: HttpUrl | None = None
    certificate: FactInput | None = None
    facts: list[FactInput] = Field(default_factory=list)
    marketing_type: str | None = Field(default=None, max_length=64, examples=["short_course"])


class SeoInput(_Input):
    """What search engines are told about the course's page."""

    title: str | None = Field(default=None, max_length=255, examples=["Data Science | MIT"])
    description: str | None = None
    keywords: str | None = Field(default=None, examples=["data science, leadership"])


class InquiryInput(_Input):
    """The form prospective learners fill in to ask about the course."""

    form_id: str | None = Field(default=None, max_length=255, examples=["f1e2d3c4-taxi"])
    post_submit_url: HttpUrl | None = Field(
        default=None, description="Where the learner is sent once the form is sent."
    )


class CourseInput(_Input):
    """A course. Its key `ORG+NUMBER` is derived when it is created and kept."""

    external_id: ExternalId = Field(examples=["xe-7001"])
    organization: RequiredText = Field(
        description="An organization key, or the source's own code mapped to one.",
        examples=["MITx"],
    )
    number: RequiredText = Field(pattern=COURSE_NUMBER_PATTERN, examples=["DS101"])
    title: RequiredText = Field(examples=["Data Science for Leaders"])
    course_type: RequiredText = Field(examples=["executive-education-2u"])
    short_description: str | None = None
    full_description: str | None = Field(default=None, description="HTML allowed.")
    outcome: str | None = None
    syllabus: str | None = None
    prerequisites: str | None = None
    faq: str | None = None
    learner_testimonials: str | None = None
    level: str | None = Field(default=None, examples=["introductory"])
    subjects: list[str] = Field(
        default_factory=list,
        description="Subject slugs, primary first.",
        examples=[["computer-science"]],
    )
    image_url: HttpUrl | None = None
    video_url: HttpUrl | None = None
    entitlement: EntitlementInput | None = None
    marketing: MarketingInput | None = None
    organization_short_code_override: str | None = Field(default=None, max_length=64)
    organization_logo_override: HttpUrl | None = None
    seo: SeoInput | None = None
    slug: str | None = Field(
        default=None,
        max_length=255,
        pattern=SLUG_PATTERN,
        description="The course page's URL slug: unique in the catalog.",
        examples=["data-science-for-leaders"],
    )
    inquiry: InquiryInput | None = None


class SeatInput(_Input):
    """A seat of a run; unique by (type, currency) inside the run."""

    type: RequiredText = Field(examples=["paid-executive-education"])
    price: Price
    currency: CurrencyCode
    upgrade_deadline: UtcDateTime | None = None


class CourseRunInput(_Input):
    """A run of a course, matched by `external_id` (the source's variant id), else by dates."""

    external_id: ExternalId | None = Field(default=None, examples=["0b6f9a52-variant"])
    start: UtcDateTime
    end: UtcDateTime
    pacing: Pacing
    run_type: RequiredText = Field(examples=["paid-executive-education"])
    enrollment_start: UtcDateTime | None = None
    enrollment_end: UtcDateTime | None = None
    go_live_date: UtcDateTime | None = Field(
        default=None, description="Before this date a published run is only `reviewed`."
    )
    min_effort: WholeNumber | None = Field(
        default=None, ge=0, le=168, description="Hours per week."
    )
    max_effort: WholeNumber | None = Field(
        default=None, ge=0, le=168, description="Hours per week."
    )
    weeks_to_complete: WholeNumber | None = Field(default=None, ge=0, le=520)
    content_language: LanguageTag | None = None
    transcript_languages: list[LanguageTag] = Field(default_factory=list)
    staff: list[str] = Field(
        default_factory=list, description="Instructor external ids, in display order."
    )
    seats: list[SeatInput] = Field(default_factory=list)
    restriction: Restriction | None = Field(
        default=None, description="A restricted run never sets the course's public price."
    )
    fixed_price_usd: Price | None = None


class DegreeInput(_Input):
    """A degree; `courses` are course external ids (of the same source) or course keys."""

    external_id: ExternalId = Field(examples=["deg-1"])
    marketing_slug: RequiredText = Field(pattern=SLUG_PATTERN, examples=["masters-data-science"])
    title: RequiredText = Field(examples=["Master of Data Science"])
    program_type: RequiredText = Field(examples=["masters"])
    organization: RequiredText = Field(examples=["MITx"])
    subtitle: str | None = Field(default=None, max_length=255)
    overview: str | None = None
    card_image_url: HttpUrl | None = None
    courses: list[str] = Field(default_factory=list, examples=[["xe-7001", "MITx+DS102"]])
    specializations: list[str] = Field(default_factory=list)
    level: str | None = None
    primary_subject: str | None = None
    content_language: LanguageTag | None = None
    external_url: HttpUrl | None = None
    organic_url: HttpUrl | None = None
    lead_capture_form_url: HttpUrl | None = None
    organization_short_code_override: str | None = Field(default=None, max_length=64)
