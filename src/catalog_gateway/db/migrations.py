"""Apply the Alembic migrations shipped in `catalog_gateway.migrations`."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from catalog_gateway.db.engine import Database


def alembic_config() -> Config:
    """A config that finds the packaged migrations, wherever the process runs from."""
    config = Config()
    config.set_main_option("script_location", "catalog_gateway:migrations")
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema (and the seeded reference data) up to `revision`."""
    config = alembic_config()
    with database.writer.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def is_up_to_date(database: Database) -> bool:
    """True when the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with database.reader.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current == head
