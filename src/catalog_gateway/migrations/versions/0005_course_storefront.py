"""Courses keep what the storefront needs: SEO metadata, the URL slug (unique in the catalog)
and the inquiry form.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 21:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("courses") as table:
        table.add_column(sa.Column("seo", _JSON, nullable=True))
        table.add_column(sa.Column("slug", sa.String(length=255), nullable=True))
        table.add_column(sa.Column("inquiry", _JSON, nullable=True))
        table.create_unique_constraint(op.f("uq_courses_slug"), ["slug"])


def downgrade() -> None:
    with op.batch_alter_table("courses") as table:
        table.drop_constraint(op.f("uq_courses_slug"), type_="unique")
        table.drop_column("inquiry")
        table.drop_column("slug")
        table.drop_column("seo")
