"""Catalog entities: organizations, instructors, courses, runs, seats and degrees.

Identity rules (DESIGN §3): a product is found by (source, external_id) first; keys are derived
once and kept; names never identify anything.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy import Enum as SQLEnum
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import Uuid

from catalog_gateway.db.base import Base, Timestamped
from catalog_gateway.db.types import JSONType, Money, UTCDateTime
from catalog_gateway.sources.models import Source

EXTERNAL_ID = String(255)
URL = String(2048)


def _enum_column(enum: type[StrEnum], name: str) -> SQLEnum:
    """A portable enum column storing the values (not Python names), checked by the database."""
    return SQLEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )


class ProductStatus(StrEnum):
    """Whether a course or degree is on sale."""

    PUBLISHED = "published"
    ARCHIVED = "archived"


class RunStatus(StrEnum):
    """A course run's place in its life cycle (see `catalog.status` for the transitions)."""

    UNPUBLISHED = "unpublished"
    REVIEWED = "reviewed"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Pacing(StrEnum):
    """How a run is paced."""

    INSTRUCTOR_PACED = "instructor_paced"
    SELF_PACED = "self_paced"


class Restriction(StrEnum):
    """A run sold only to some buyers; it never sets the course's public price."""

    CUSTOM_B2B_ENTERPRISE = "custom-b2b-enterprise"
    CUSTOM_B2C = "custom-b2c"


class EventTracked:
    """Remembers the `occurred_at` of the newest event applied, to refuse older ones (stale)."""

    last_occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Fingerprinted:
    """Keeps the fingerprint of the content an event last wrote (`catalog.fingerprints`), so an
    event that would change nothing is recognised without loading the entity."""

    fingerprint: Mapped[str | None] = mapped_column(String(32))


class Organization(Timestamped, Base):
    """A partner institution, e.g. `MITx`."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))

    __table_args__ = (CheckConstraint("length(key) >= 1", name="key_not_empty"),)


class Instructor(Fingerprinted, EventTracked, Timestamped, Base):
    """A person teaching runs. Identified by (source, external_id), never by name."""

    __tablename__ = "instructors"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(
        Uuid(), unique=True, default=uuid.uuid4, insert_sentinel=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    external_id: Mapped[str] = mapped_column(EXTERNAL_ID)
    given_name: Mapped[str] = mapped_column(String(255))
    family_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    bio: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(URL)
    position_title: Mapped[str | None] = mapped_column(String(255))
    position_organization: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[Source] = relationship()

    __table_args__ = (UniqueConstraint("source_id", "external_id"),)


class CourseSubject(Base):
    """A course's subjects, in order: the first is the primary subject."""

    __tablename__ = "course_subjects"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(ForeignKey("subjects.slug"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class Course(Fingerprinted, EventTracked, Timestamped, Base):
    """A course: key `ORG+NUMBER`, derived once and kept even if the number changes."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(
        Uuid(), unique=True, default=uuid.uuid4, insert_sentinel=True
    )
    key: Mapped[str] = mapped_column(String(255), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    external_id: Mapped[str] = mapped_column(EXTERNAL_ID)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    number: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    short_description: Mapped[str | None] = mapped_column(Text)
    full_description: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    syllabus: Mapped[str | None] = mapped_column(Text)
    prerequisites: Mapped[str | None] = mapped_column(Text)
    faq: Mapped[str | None] = mapped_column(Text)
    learner_testimonials: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(ForeignKey("levels.slug"))
    image_url: Mapped[str | None] = mapped_column(URL)
    video_url: Mapped[str | None] = mapped_column(URL)
    course_type: Mapped[str] = mapped_column(ForeignKey("course_types.slug"))
    marketing: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    entitlement_seat_type: Mapped[str | None] = mapped_column(ForeignKey("seat_types.slug"))
    entitlement_price: Mapped[Decimal | None] = mapped_column(Money())
    entitlement_currency: Mapped[str | None] = mapped_column(String(3))
    entitlement_sku: Mapped[str | None] = mapped_column(String(128))
    organization_short_code_override: Mapped[str | None] = mapped_column(String(64))
    organization_logo_override: Mapped[str | None] = mapped_column(URL)
    product_status: Mapped[ProductStatus] = mapped_column(
        _enum_column(ProductStatus, "product_status"), default=ProductStatus.PUBLISHED
    )
    # What the storefront needs: SEO title, description and keywords; the URL slug (unique in
    # the catalog); the inquiry form (its id, and the URL shown after it is sent).
    seo: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    slug: Mapped[str | None] = mapped_column(String(255), unique=True)
    inquiry: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    source: Mapped[Source] = relationship()
    organization: Mapped[Organization] = relationship()
    subject_links: Mapped[list[CourseSubject]] = relationship(
        order_by=CourseSubject.position, cascade="all, delete-orphan"
    )
    runs: Mapped[list[CourseRun]] = relationship(
        back_populates="course", order_by="CourseRun.start"
    )

    __table_args__ = (
        UniqueConstraint("source_id", "external_id"),
        CheckConstraint("entitlement_price >= 0", name="entitlement_price_not_negative"),
    )

    @property
    def subjects(self) -> list[str]:
        """Subject slugs, primary first."""
        return [link.subject for link in self.subject_links]


class RunStaff(Base):
    """The instructors of a run, in display order."""

    __tablename__ = "course_run_staff"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("course_runs.id", ondelete="CASCADE"), primary_key=True
    )
    instructor_id: Mapped[int] = mapped_column(ForeignKey("instructors.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    instructor: Mapped[Instructor] = relationship()


class CourseRun(Fingerprinted, EventTracked, Timestamped, Base):
    """One offering of a course: key `course-v1:ORG+NUMBER+TERM`, derived once and kept."""

    __tablename__ = "course_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(
        Uuid(), unique=True, default=uuid.uuid4, insert_sentinel=True
    )
    key: Mapped[str] = mapped_column(String(255), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    external_id: Mapped[str | None] = mapped_column(EXTERNAL_ID)
    start: Mapped[datetime] = mapped_column(UTCDateTime())
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    enrollment_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enrollment_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    go_live_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pacing: Mapped[Pacing] = mapped_column(_enum_column(Pacing, "pacing"))
    run_type: Mapped[str] = mapped_column(ForeignKey("run_types.slug"))
    min_effort: Mapped[int | None]
    max_effort: Mapped[int | None]
    weeks_to_complete: Mapped[int | None]
    content_language: Mapped[str | None] = mapped_column(String(35))
    transcript_languages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    status: Mapped[RunStatus] = mapped_column(
        _enum_column(RunStatus, "run_status"), default=RunStatus.UNPUBLISHED
    )
    restriction: Mapped[Restriction | None] = mapped_column(
        _enum_column(Restriction, "run_restriction")
    )
    fixed_price_usd: Mapped[Decimal | None] = mapped_column(Money())

    course: Mapped[Course] = relationship(back_populates="runs")
    staff_links: Mapped[list[RunStaff]] = relationship(
        order_by=RunStaff.position, cascade="all, delete-orphan"
    )
    seats: Mapped[list[Seat]] = relationship(
        back_populates="run", order_by="Seat.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("course_id", "external_id"),
        CheckConstraint('"end" > start', name="end_after_start"),
        CheckConstraint("min_effort IS NULL OR min_effort >= 0", name="min_effort_not_negative"),
        CheckConstraint(
            "min_effort IS NULL OR max_effort IS NULL OR min_effort <= max_effort",
            name="effort_range",
        ),
        CheckConstraint("fixed_price_usd >= 0", name="fixed_price_not_negative"),
    )

    @property
    def staff(self) -> list[Instructor]:
        """The run's instructors, in display order."""
        return [link.instructor for link in self.staff_links]


class Seat(Base):
    """A way to enroll in a run at a price. `sku` comes from ecommerce.

    `price` is what learners see. On a published run that ecommerce sells, a new price waits in
    `pending_price` until ecommerce accepts it, so the catalog never shows a price checkout
    does not know."""

    __tablename__ = "seats"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("course_runs.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(ForeignKey("seat_types.slug"))
    price: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    upgrade_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sku: Mapped[str | None] = mapped_column(String(128))
    pending_price: Mapped[Decimal | None] = mapped_column(Money())
    run: Mapped[CourseRun] = relationship(back_populates="seats")

    __table_args__ = (
        UniqueConstraint("run_id", "type", "currency"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("pending_price >= 0", name="pending_price_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )


class DegreeCourse(Base):
    """A course inside a degree, in the degree's order."""

    __tablename__ = "degree_courses"

    degree_id: Mapped[int] = mapped_column(
        ForeignKey("degrees.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    course: Mapped[Course] = relationship()


class Degree(EventTracked, Timestamped, Base):
    """A degree or program made of courses; shown at its marketing slug."""

    __tablename__ = "degrees"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(
        Uuid(), unique=True, default=uuid.uuid4, insert_sentinel=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    external_id: Mapped[str] = mapped_column(EXTERNAL_ID)
    marketing_slug: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    subtitle: Mapped[str | None] = mapped_column(String(255))
    program_type: Mapped[str] = mapped_column(ForeignKey("program_types.slug"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    overview: Mapped[str | None] = mapped_column(Text)
    card_image_url: Mapped[str | None] = mapped_column(URL)
    specializations: Mapped[list[str]] = mapped_column(JSONType, default=list)
    level: Mapped[str | None] = mapped_column(ForeignKey("levels.slug"))
    primary_subject: Mapped[str | None] = mapped_column(ForeignKey("subjects.slug"))
    content_language: Mapped[str | None] = mapped_column(String(35))
    external_url: Mapped[str | None] = mapped_column(URL)
    organic_url: Mapped[str | None] = mapped_column(URL)
    lead_capture_form_url: Mapped[str | None] = mapped_column(URL)
    organization_short_code_override: Mapped[str | None] = mapped_column(String(64))
    product_status: Mapped[ProductStatus] = mapped_column(
        _enum_column(ProductStatus, "degree_status"), default=ProductStatus.PUBLISHED
    )

    source: Mapped[Source] = relationship()
    organization: Mapped[Organization] = relationship()
    course_links: Mapped[list[DegreeCourse]] = relationship(
        order_by=DegreeCourse.position, cascade="all, delete-orphan"
    )

    __table_args__ = (UniqueConstraint("source_id", "external_id"),)

    @property
    def courses(self) -> list[Course]:
        """The degree's courses, in order."""
        return [link.course for link in self.course_links]
