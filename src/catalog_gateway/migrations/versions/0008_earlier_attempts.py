"""Event records keep the answers of their earlier attempts (a resumed event no longer loses
the answer it had).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("event_records") as table:
        table.add_column(sa.Column("earlier_attempts", _JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("event_records") as table:
        table.drop_column("earlier_attempts")
