"""Alembic environment: runs on the connection `db.migrations` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from catalog_gateway.migrations.metadata import Base

# Any number taken by nothing else: serializes migrations of several processes on PostgreSQL.
_MIGRATION_LOCK_ID = 7_340_021


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `catalog-gateway db upgrade`")
_run(connection)
