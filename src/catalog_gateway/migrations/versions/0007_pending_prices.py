"""A seat of a published run keeps a new price apart until ecommerce accepts it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import catalog_gateway.db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("seats") as table:
        table.add_column(
            sa.Column(
                "pending_price",
                catalog_gateway.db.types.Money(precision=10, scale=2),
                nullable=True,
            )
        )
        table.create_check_constraint(
            op.f("ck_seats_pending_price_not_negative"), "pending_price >= 0"
        )


def downgrade() -> None:
    with op.batch_alter_table("seats") as table:
        table.drop_constraint(op.f("ck_seats_pending_price_not_negative"), type_="check")
        table.drop_column("pending_price")
