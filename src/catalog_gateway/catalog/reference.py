"""Reference data: the vocabularies products are checked against. Seeded by a migration."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog_gateway.db.base import Base

SLUG = String(64)

# Run types whose seats the line of business sells on its own storefront: their price is kept
# for display, and they are never published to ecommerce.
SOLD_BY_SOURCE_RUN_TYPES = frozenset({"unpaid-executive-education"})
# The currency ecommerce sells in: seats in other currencies stay in the catalog only.
ECOMMERCE_CURRENCY = "USD"


class SeatType(Base):
    """A kind of enrollment that can be sold or granted (audit, verified, paid-bootcamp, …)."""

    __tablename__ = "seat_types"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    is_paid: Mapped[bool] = mapped_column(default=True)


run_type_seat_types = Table(
    "run_type_seat_types",
    Base.metadata,
    Column("run_type", SLUG, ForeignKey("run_types.slug"), primary_key=True),
    Column("seat_type", SLUG, ForeignKey("seat_types.slug"), primary_key=True),
)

course_type_run_types = Table(
    "course_type_run_types",
    Base.metadata,
    Column("course_type", SLUG, ForeignKey("course_types.slug"), primary_key=True),
    Column("run_type", SLUG, ForeignKey("run_types.slug"), primary_key=True),
)


class RunType(Base):
    """A kind of course run; it decides which seat types a run may have."""

    __tablename__ = "run_types"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    seat_types: Mapped[list[SeatType]] = relationship(
        secondary=run_type_seat_types, order_by=SeatType.slug
    )


class CourseType(Base):
    """A kind of course; it decides which run types its runs may have."""

    __tablename__ = "course_types"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    run_types: Mapped[list[RunType]] = relationship(
        secondary=course_type_run_types, order_by=RunType.slug
    )


class Subject(Base):
    """A subject area; `name` is the English name transformers map from."""

    __tablename__ = "subjects"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Level(Base):
    """A course level (introductory, intermediate, advanced)."""

    __tablename__ = "levels"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))


class ProgramType(Base):
    """A kind of degree or program (masters, micromasters, …)."""

    __tablename__ = "program_types"

    slug: Mapped[str] = mapped_column(SLUG, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
