"""What the catalog's upserts take: canonical field names, already mapped from a source's shape.

These are plain data; the gateway's validator checks references and rules before they arrive
here, and the catalog service checks them again (it must stay safe on its own).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from catalog_gateway.catalog.models import Pacing, Restriction

COURSE_NUMBER_PATTERN = r"^[A-Za-z0-9._-]+$"


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PositionInput(_Input):
    """Where an instructor works."""

    title: str | None = None
    organization: str | None = None


class InstructorInput(_Input):
    """An instructor, identified by the source's own id."""

    external_id: str = Field(min_length=1, max_length=255)
    given_name: str = Field(min_length=1, max_length=255)
    family_name: str | None = Field(default=None, max_length=255)
    email: str | None = Field(default=None, max_length=320)
    bio: str | None = None
    image_url: str | None = Field(default=None, max_length=2048)
    position: PositionInput | None = None


class EntitlementInput(_Input):
    """The course's own price, bought independently of a run."""

    seat_type: str
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class FactInput(_Input):
    """A heading with a short text (marketing facts, certificate)."""

    heading: str | None = None
    blurb: str | None = None


class MarketingInput(_Input):
    """Marketing metadata shown on landing pages."""

    external_url: str | None = None
    organic_url: str | None = None
    lead_capture_form_url: str | None = None
    certificate: FactInput | None = None
    facts: list[FactInput] = Field(default_factory=list)
    marketing_type: str | None = None


class CourseInput(_Input):
    """A course. `organization` is an organization key or the source's own code for it."""

    external_id: str = Field(min_length=1, max_length=255)
    organization: str = Field(min_length=1, max_length=255)
    number: str = Field(min_length=1, max_length=255, pattern=COURSE_NUMBER_PATTERN)
    title: str = Field(min_length=1, max_length=255)
    course_type: str = Field(min_length=1)
    short_description: str | None = None
    full_description: str | None = None
    outcome: str | None = None
    syllabus: str | None = None
    prerequisites: str | None = None
    faq: str | None = None
    learner_testimonials: str | None = None
    level: str | None = None
    subjects: list[str] = Field(default_factory=list)
    image_url: str | None = None
    video_url: str | None = None
    entitlement: EntitlementInput | None = None
    marketing: MarketingInput | None = None
    organization_short_code_override: str | None = Field(default=None, max_length=64)
    organization_logo_override: str | None = None


class SeatInput(_Input):
    """A seat of a run; unique by (type, currency) inside the run."""

    type: str
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    upgrade_deadline: AwareDatetime | None = None


class CourseRunInput(_Input):
    """A run of a course; `staff` lists instructor external ids of the same source."""

    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    start: AwareDatetime
    end: AwareDatetime
    pacing: Pacing
    run_type: str
    enrollment_start: AwareDatetime | None = None
    enrollment_end: AwareDatetime | None = None
    go_live_date: AwareDatetime | None = None
    min_effort: int | None = Field(default=None, ge=0)
    max_effort: int | None = Field(default=None, ge=0)
    weeks_to_complete: int | None = Field(default=None, ge=0)
    content_language: str | None = None
    transcript_languages: list[str] = Field(default_factory=list)
    staff: list[str] = Field(default_factory=list)
    seats: list[SeatInput] = Field(default_factory=list)
    restriction: Restriction | None = None
    fixed_price_usd: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)


class DegreeInput(_Input):
    """A degree; `courses` are course external ids (of the same source) or course keys."""

    external_id: str = Field(min_length=1, max_length=255)
    marketing_slug: str = Field(min_length=1, max_length=255)
    title: str = Field(min_length=1, max_length=255)
    program_type: str
    organization: str = Field(min_length=1, max_length=255)
    subtitle: str | None = None
    overview: str | None = None
    card_image_url: str | None = None
    courses: list[str] = Field(default_factory=list)
    specializations: list[str] = Field(default_factory=list)
    level: str | None = None
    primary_subject: str | None = None
    content_language: str | None = None
    external_url: str | None = None
    organic_url: str | None = None
    lead_capture_form_url: str | None = None
    organization_short_code_override: str | None = Field(default=None, max_length=64)
