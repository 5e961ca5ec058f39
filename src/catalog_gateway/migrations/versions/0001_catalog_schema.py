"""Catalog schema: sources, keys, reference vocabularies, products and the event log.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 05:51:03.821475
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import catalog_gateway.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "course_types",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_course_types")),
    )
    op.create_table(
        "levels",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_levels")),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("length(key) >= 1", name=op.f("ck_organizations_key_not_empty")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("key", name=op.f("uq_organizations_key")),
    )
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organizations_modified"), ["modified"], unique=False)

    op.create_table(
        "program_types",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_program_types")),
    )
    op.create_table(
        "run_types",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_run_types")),
    )
    op.create_table(
        "seat_types",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("is_paid", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_seat_types")),
    )
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("transformer", sa.String(length=128), nullable=False),
        sa.Column(
            "allowed_event_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("rate", sa.String(length=64), nullable=False),
        sa.Column("burst", sa.Integer(), nullable=False),
        sa.Column("publish_policy", sa.String(length=32), nullable=False),
        sa.Column("created", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("burst >= 1", name=op.f("ck_sources_burst_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("slug", name=op.f("uq_sources_slug")),
    )
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sources_modified"), ["modified"], unique=False)

    op.create_table(
        "subjects",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_subjects")),
        sa.UniqueConstraint("name", name=op.f("uq_subjects_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(is_admin AND source_id IS NULL) OR (NOT is_admin AND source_id IS NOT NULL)",
            name=op.f("ck_api_keys_admin_xor_source"),
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_api_keys_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_source_id"), ["source_id"], unique=False)

    op.create_table(
        "course_type_run_types",
        sa.Column("course_type", sa.String(length=64), nullable=False),
        sa.Column("run_type", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_type"],
            ["course_types.slug"],
            name=op.f("fk_course_type_run_types_course_type_course_types"),
        ),
        sa.ForeignKeyConstraint(
            ["run_type"],
            ["run_types.slug"],
            name=op.f("fk_course_type_run_types_run_type_run_types"),
        ),
        sa.PrimaryKeyConstraint("course_type", "run_type", name=op.f("pk_course_type_run_types")),
    )
    op.create_table(
        "courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("short_description", sa.Text(), nullable=True),
        sa.Column("full_description", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("syllabus", sa.Text(), nullable=True),
        sa.Column("prerequisites", sa.Text(), nullable=True),
        sa.Column("faq", sa.Text(), nullable=True),
        sa.Column("learner_testimonials", sa.Text(), nullable=True),
        sa.Column("level", sa.String(length=64), nullable=True),
        sa.Column("image_url", sa.String(length=2048), nullable=True),
        sa.Column("video_url", sa.String(length=2048), nullable=True),
        sa.Column("course_type", sa.String(length=64), nullable=False),
        sa.Column(
            "marketing",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("entitlement_seat_type", sa.String(length=64), nullable=True),
        sa.Column(
            "entitlement_price",
            catalog_gateway.db.types.Money(precision=10, scale=2),
            nullable=True,
        ),
        sa.Column("entitlement_currency", sa.String(length=3), nullable=True),
        sa.Column("entitlement_sku", sa.String(length=128), nullable=True),
        sa.Column("organization_short_code_override", sa.String(length=64), nullable=True),
        sa.Column("organization_logo_override", sa.String(length=2048), nullable=True),
        sa.Column(
            "product_status",
            sa.Enum(
                "published",
                "archived",
                name="product_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "last_occurred_at", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "entitlement_price >= 0", name=op.f("ck_courses_entitlement_price_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["course_type"], ["course_types.slug"], name=op.f("fk_courses_course_type_course_types")
        ),
        sa.ForeignKeyConstraint(
            ["entitlement_seat_type"],
            ["seat_types.slug"],
            name=op.f("fk_courses_entitlement_seat_type_seat_types"),
        ),
        sa.ForeignKeyConstraint(["level"], ["levels.slug"], name=op.f("fk_courses_level_levels")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_courses_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_courses_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("key", name=op.f("uq_courses_key")),
        sa.UniqueConstraint(
            "source_id", "external_id", name=op.f("uq_courses_source_id_external_id")
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_courses_uuid")),
    )
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_courses_modified"), ["modified"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_courses_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "degrees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("marketing_slug", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("subtitle", sa.String(length=255), nullable=True),
        sa.Column("program_type", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("overview", sa.Text(), nullable=True),
        sa.Column("card_image_url", sa.String(length=2048), nullable=True),
        sa.Column(
            "specializations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("level", sa.String(length=64), nullable=True),
        sa.Column("primary_subject", sa.String(length=64), nullable=True),
        sa.Column("content_language", sa.String(length=35), nullable=True),
        sa.Column("external_url", sa.String(length=2048), nullable=True),
        sa.Column("organic_url", sa.String(length=2048), nullable=True),
        sa.Column("lead_capture_form_url", sa.String(length=2048), nullable=True),
        sa.Column("organization_short_code_override", sa.String(length=64), nullable=True),
        sa.Column(
            "product_status",
            sa.Enum(
                "published",
                "archived",
                name="degree_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "last_occurred_at", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["level"], ["levels.slug"], name=op.f("fk_degrees_level_levels")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_degrees_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["primary_subject"], ["subjects.slug"], name=op.f("fk_degrees_primary_subject_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["program_type"],
            ["program_types.slug"],
            name=op.f("fk_degrees_program_type_program_types"),
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_degrees_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_degrees")),
        sa.UniqueConstraint("marketing_slug", name=op.f("uq_degrees_marketing_slug")),
        sa.UniqueConstraint(
            "source_id", "external_id", name=op.f("uq_degrees_source_id_external_id")
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_degrees_uuid")),
    )
    with op.batch_alter_table("degrees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_degrees_modified"), ["modified"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_degrees_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "event_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "raw_payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "canonical_payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column(
            "steps",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "warnings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "products",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("duration_ms", sa.Double(), nullable=True),
        sa.Column(
            "occurred_at", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "received_at", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_event_records_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_records")),
        sa.UniqueConstraint(
            "source_id", "event_id", name=op.f("uq_event_records_source_id_event_id")
        ),
    )
    with op.batch_alter_table("event_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_records_event_type"), ["event_type"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_event_records_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_event_records_status"), ["status"], unique=False)

    op.create_table(
        "instructors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("given_name", sa.String(length=255), nullable=False),
        sa.Column("family_name", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("image_url", sa.String(length=2048), nullable=True),
        sa.Column("position_title", sa.String(length=255), nullable=True),
        sa.Column("position_organization", sa.String(length=255), nullable=True),
        sa.Column(
            "last_occurred_at", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_instructors_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instructors")),
        sa.UniqueConstraint(
            "source_id", "external_id", name=op.f("uq_instructors_source_id_external_id")
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_instructors_uuid")),
    )
    with op.batch_alter_table("instructors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_instructors_modified"), ["modified"], unique=False)

    op.create_table(
        "run_type_seat_types",
        sa.Column("run_type", sa.String(length=64), nullable=False),
        sa.Column("seat_type", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_type"], ["run_types.slug"], name=op.f("fk_run_type_seat_types_run_type_run_types")
        ),
        sa.ForeignKeyConstraint(
            ["seat_type"],
            ["seat_types.slug"],
            name=op.f("fk_run_type_seat_types_seat_type_seat_types"),
        ),
        sa.PrimaryKeyConstraint("run_type", "seat_type", name=op.f("pk_run_type_seat_types")),
    )
    op.create_table(
        "source_organization_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_code", sa.String(length=255), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_source_organization_codes_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_organization_codes_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_organization_codes")),
        sa.UniqueConstraint(
            "source_id",
            "external_code",
            name=op.f("uq_source_organization_codes_source_id_external_code"),
        ),
    )
    op.create_table(
        "course_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("start", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "enrollment_start", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "enrollment_end", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "go_live_date", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "pacing",
            sa.Enum(
                "instructor_paced",
                "self_paced",
                name="pacing",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("run_type", sa.String(length=64), nullable=False),
        sa.Column("min_effort", sa.Integer(), nullable=True),
        sa.Column("max_effort", sa.Integer(), nullable=True),
        sa.Column("weeks_to_complete", sa.Integer(), nullable=True),
        sa.Column("content_language", sa.String(length=35), nullable=True),
        sa.Column(
            "transcript_languages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "unpublished",
                "reviewed",
                "published",
                "archived",
                name="run_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "restriction",
            sa.Enum(
                "custom-b2b-enterprise",
                "custom-b2c",
                name="run_restriction",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "fixed_price_usd", catalog_gateway.db.types.Money(precision=10, scale=2), nullable=True
        ),
        sa.Column(
            "last_occurred_at", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('"end" > start', name=op.f("ck_course_runs_end_after_start")),
        sa.CheckConstraint(
            "fixed_price_usd >= 0", name=op.f("ck_course_runs_fixed_price_not_negative")
        ),
        sa.CheckConstraint(
            "min_effort IS NULL OR max_effort IS NULL OR min_effort <= max_effort",
            name=op.f("ck_course_runs_effort_range"),
        ),
        sa.CheckConstraint(
            "min_effort IS NULL OR min_effort >= 0",
            name=op.f("ck_course_runs_min_effort_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_course_runs_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["run_type"], ["run_types.slug"], name=op.f("fk_course_runs_run_type_run_types")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_runs")),
        sa.UniqueConstraint(
            "course_id", "external_id", name=op.f("uq_course_runs_course_id_external_id")
        ),
        sa.UniqueConstraint("key", name=op.f("uq_course_runs_key")),
        sa.UniqueConstraint("uuid", name=op.f("uq_course_runs_uuid")),
    )
    with op.batch_alter_table("course_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_course_runs_modified"), ["modified"], unique=False)

    op.create_table(
        "course_subjects",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_subjects_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject"], ["subjects.slug"], name=op.f("fk_course_subjects_subject_subjects")
        ),
        sa.PrimaryKeyConstraint("course_id", "subject", name=op.f("pk_course_subjects")),
    )
    op.create_table(
        "degree_courses",
        sa.Column("degree_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"], ["courses.id"], name=op.f("fk_degree_courses_course_id_courses")
        ),
        sa.ForeignKeyConstraint(
            ["degree_id"],
            ["degrees.id"],
            name=op.f("fk_degree_courses_degree_id_degrees"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("degree_id", "course_id", name=op.f("pk_degree_courses")),
    )
    op.create_table(
        "course_run_staff",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("instructor_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instructor_id"],
            ["instructors.id"],
            name=op.f("fk_course_run_staff_instructor_id_instructors"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_runs.id"],
            name=op.f("fk_course_run_staff_run_id_course_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "instructor_id", name=op.f("pk_course_run_staff")),
    )
    op.create_table(
        "seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("price", catalog_gateway.db.types.Money(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "upgrade_deadline", catalog_gateway.db.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("sku", sa.String(length=128), nullable=True),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_seats_currency_code")),
        sa.CheckConstraint("price >= 0", name=op.f("ck_seats_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["course_runs.id"],
            name=op.f("fk_seats_run_id_course_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["type"], ["seat_types.slug"], name=op.f("fk_seats_type_seat_types")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seats")),
        sa.UniqueConstraint(
            "run_id", "type", "currency", name=op.f("uq_seats_run_id_type_currency")
        ),
    )


def downgrade() -> None:
    op.drop_table("seats")
    op.drop_table("course_run_staff")
    op.drop_table("degree_courses")
    op.drop_table("course_subjects")
    with op.batch_alter_table("course_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_runs_modified"))

    op.drop_table("course_runs")
    op.drop_table("source_organization_codes")
    op.drop_table("run_type_seat_types")
    with op.batch_alter_table("instructors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_instructors_modified"))

    op.drop_table("instructors")
    with op.batch_alter_table("event_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_records_status"))
        batch_op.drop_index(batch_op.f("ix_event_records_received_at"))
        batch_op.drop_index(batch_op.f("ix_event_records_event_type"))

    op.drop_table("event_records")
    with op.batch_alter_table("degrees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_degrees_organization_id"))
        batch_op.drop_index(batch_op.f("ix_degrees_modified"))

    op.drop_table("degrees")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_courses_organization_id"))
        batch_op.drop_index(batch_op.f("ix_courses_modified"))

    op.drop_table("courses")
    op.drop_table("course_type_run_types")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_source_id"))

    op.drop_table("api_keys")
    op.drop_table("subjects")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sources_modified"))

    op.drop_table("sources")
    op.drop_table("seat_types")
    op.drop_table("run_types")
    op.drop_table("program_types")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organizations_modified"))

    op.drop_table("organizations")
    op.drop_table("levels")
    op.drop_table("course_types")
