"""A source (LoB) and its own organization codes."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog_gateway.db.base import Base, Timestamped
from catalog_gateway.db.types import JSONType

SLUG_PATTERN = r"^[a-z0-9-]{2,64}$"


class Source(Timestamped, Base):
    """A line of business that sends events. Its slug is its identity everywhere."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    transformer: Mapped[str] = mapped_column(String(128))
    allowed_event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    rate: Mapped[str] = mapped_column(String(64))
    burst: Mapped[int]
    publish_policy: Mapped[str] = mapped_column(String(32), default="auto")
    organization_codes: Mapped[list[SourceOrganizationCode]] = relationship(
        back_populates="source", cascade="all, delete-orphan"
    )

    __table_args__ = (CheckConstraint("burst >= 1", name="burst_positive"),)


class SourceOrganizationCode(Base):
    """A source's own code for an organization (e.g. exec-ed's `MIT` → `MITx`)."""

    __tablename__ = "source_organization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    external_code: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    source: Mapped[Source] = relationship(back_populates="organization_codes")

    __table_args__ = (UniqueConstraint("source_id", "external_code"),)


class SourceValueAlias(Base):
    """A source's own value for a catalog value of one field (`subject`, `language`, `level`),
    e.g. exec-ed's subject "Mktg & Design" → `design-and-marketing`. `lob_key` is the value
    folded (case, accents, punctuation, `&` = `and`): what lookups match on."""

    __tablename__ = "source_value_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(32))
    lob_value: Mapped[str] = mapped_column(String(255))
    lob_key: Mapped[str] = mapped_column(String(255))
    catalog_value: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("source_id", "field", "lob_key"),)
