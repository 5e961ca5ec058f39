"""Instructors, courses and runs keep a fingerprint of the content last written to them, so an
event that would change nothing is recognised without loading the rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 19:45:00

Existing rows start without one; the next event applied to each fills it in.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("instructors", "courses", "course_runs")


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as table:
            table.add_column(sa.Column("fingerprint", sa.String(32), nullable=True))


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name) as table:
            table.drop_column("fingerprint")
