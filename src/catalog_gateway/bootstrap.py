"""The composition root: the one place that builds the service's parts from its settings.

The HTTP app, the command line, the benchmarks and the tests all call `bootstrap`, so each
part (the database, the transformer registry, the ecommerce client, the event gateway) is
built the same way everywhere and handed to whoever needs it; nothing is read from the
environment behind their back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from catalog_gateway.connectors.ecommerce import ecommerce_client_from_settings
from catalog_gateway.db.engine import Database
from catalog_gateway.gateway.service import EventGateway
from catalog_gateway.settings import Settings, get_settings
from catalog_gateway.transformers.registry import TransformerRegistry


@dataclass(frozen=True, slots=True)
class Services:
    """The service's parts, built once per process."""

    settings: Settings
    database: Database
    transformers: TransformerRegistry
    gateway: EventGateway

    def close(self) -> None:
        """Close connections to external systems and the database."""
        self.gateway.close()
        self.database.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    transformers: TransformerRegistry | None = None,
) -> Services:
    """The parts the settings describe (default: the environment's). `database` and
    `transformers` replace the ones the settings would build (tests, trial mapping files)."""
    settings = settings or get_settings()
    database = database or Database.from_settings(settings)
    # Built now, so a bad mapping file stops the service at startup.
    transformers = transformers or TransformerRegistry(settings.mappings_dir)
    gateway = EventGateway(
        database,
        lease=timedelta(seconds=settings.event_lease_seconds),
        ecommerce=ecommerce_client_from_settings(settings),
        ecommerce_budget=settings.ecommerce_budget_seconds,
        profile_ttl=settings.auth_cache_seconds,
        transformers=transformers,
    )
    return Services(settings, database, transformers, gateway)
