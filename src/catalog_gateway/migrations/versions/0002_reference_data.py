"""Reference data: seat, run, course and program types, subjects and levels.

The values are written out here, not imported, so that this migration means the same thing
forever. Later additions go in new migrations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEAT_TYPES = [
    ("audit", "Audit", False),
    ("verified", "Verified", True),
    ("professional", "Professional", True),
    ("paid-executive-education", "Paid Executive Education", True),
    ("unpaid-executive-education", "Unpaid Executive Education", False),
    ("paid-bootcamp", "Paid Bootcamp", True),
]

RUN_TYPES = {
    "audit": ("Audit Only", ["audit"]),
    "verified-audit": ("Verified and Audit", ["audit", "verified"]),
    "professional": ("Professional Only", ["professional"]),
    "paid-executive-education": ("Paid Executive Education", ["paid-executive-education"]),
    "unpaid-executive-education": ("Unpaid Executive Education", ["unpaid-executive-education"]),
    "paid-bootcamp": ("Paid Bootcamp", ["paid-bootcamp"]),
}

COURSE_TYPES = {
    "audit": ("Audit Only", ["audit"]),
    "verified-audit": ("Verified and Audit", ["verified-audit"]),
    "professional": ("Professional Only", ["professional"]),
    "executive-education-2u": (
        "Executive Education",
        ["paid-executive-education", "unpaid-executive-education"],
    ),
    "bootcamp-2u": ("Bootcamp", ["paid-bootcamp"]),
}

SUBJECT_NAMES = [
    "Architecture",
    "Art & Culture",
    "Biology & Life Sciences",
    "Business & Management",
    "Chemistry",
    "Communication",
    "Computer Science",
    "Data Analysis & Statistics",
    "Design",
    "Economics & Finance",
    "Education & Teacher Training",
    "Electronics",
    "Energy & Earth Sciences",
    "Engineering",
    "Environmental Studies",
    "Ethics",
    "Food & Nutrition",
    "Health & Safety",
    "History",
    "Humanities",
    "Language",
    "Law",
    "Literature",
    "Math",
    "Medicine",
    "Music",
    "Philanthropy",
    "Philosophy & Ethics",
    "Physics",
    "Science",
    "Social Sciences",
]

LEVELS = [
    ("introductory", "Introductory"),
    ("intermediate", "Intermediate"),
    ("advanced", "Advanced"),
]

PROGRAM_TYPES = [
    ("masters", "Masters"),
    ("bachelors", "Bachelors"),
    ("doctorate", "Doctorate"),
    ("micromasters", "MicroMasters"),
    ("professional-certificate", "Professional Certificate"),
    ("certificate", "Certificate"),
    ("xseries", "XSeries"),
]


def _subject_slug(name: str) -> str:
    """`Art & Culture` → `art-culture`: lower-case, `&` dropped, each run of spaces → `-`."""
    return "-".join(name.lower().replace("&", " ").split())


def _slug_table(name: str, *extra: sa.ColumnClause[object]) -> sa.TableClause:
    return sa.table(name, sa.column("slug"), sa.column("name"), *extra)


def upgrade() -> None:
    op.bulk_insert(
        _slug_table("seat_types", sa.column("is_paid")),
        [{"slug": s, "name": n, "is_paid": paid} for s, n, paid in SEAT_TYPES],
    )
    op.bulk_insert(
        _slug_table("run_types"), [{"slug": s, "name": n} for s, (n, _) in RUN_TYPES.items()]
    )
    op.bulk_insert(
        sa.table("run_type_seat_types", sa.column("run_type"), sa.column("seat_type")),
        [
            {"run_type": run, "seat_type": seat}
            for run, (_, seats) in RUN_TYPES.items()
            for seat in seats
        ],
    )
    op.bulk_insert(
        _slug_table("course_types"),
        [{"slug": s, "name": n} for s, (n, _) in COURSE_TYPES.items()],
    )
    op.bulk_insert(
        sa.table("course_type_run_types", sa.column("course_type"), sa.column("run_type")),
        [
            {"course_type": course, "run_type": run}
            for course, (_, runs) in COURSE_TYPES.items()
            for run in runs
        ],
    )
    op.bulk_insert(
        _slug_table("subjects"),
        [{"slug": _subject_slug(name), "name": name} for name in SUBJECT_NAMES],
    )
    op.bulk_insert(_slug_table("levels"), [{"slug": s, "name": n} for s, n in LEVELS])
    op.bulk_insert(_slug_table("program_types"), [{"slug": s, "name": n} for s, n in PROGRAM_TYPES])


def downgrade() -> None:
    for table in (
        "course_type_run_types",
        "run_type_seat_types",
        "course_types",
        "run_types",
        "seat_types",
        "subjects",
        "levels",
        "program_types",
    ):
        op.execute(sa.table(table).delete())
