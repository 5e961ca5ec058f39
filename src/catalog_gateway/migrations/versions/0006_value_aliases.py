"""Operators alias a source's own subject, language and level values to catalog values.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "source_value_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("lob_value", sa.String(length=255), nullable=False),
        sa.Column("lob_key", sa.String(length=255), nullable=False),
        sa.Column("catalog_value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_value_aliases_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_value_aliases")),
        sa.UniqueConstraint(
            "source_id",
            "field",
            "lob_key",
            name=op.f("uq_source_value_aliases_source_id_field_lob_key"),
        ),
    )


def downgrade() -> None:
    op.drop_table("source_value_aliases")
