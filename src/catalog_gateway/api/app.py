"""The ASGI application."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from catalog_gateway import __version__
from catalog_gateway.api.dependencies import Lookups
from catalog_gateway.api.docs_pages import install_api_docs
from catalog_gateway.api.early_throttle import EarlyEventThrottle
from catalog_gateway.api.kept_connections import GatewayApp
from catalog_gateway.api.openapi import without_default_validation_errors
from catalog_gateway.api.problems import install_problem_handlers
from catalog_gateway.api.protection import RateLimitHeaders, WriteGate
from catalog_gateway.api.request_observation import RequestObservability
from catalog_gateway.api.routers import bench, catalog, events, health
from catalog_gateway.api.routers.metrics import router as metrics_router
from catalog_gateway.auth.cache import PrincipalCache
from catalog_gateway.auth.revocation import Revocations
from catalog_gateway.bootstrap import bootstrap
from catalog_gateway.console import mount_console
from catalog_gateway.db.engine import Database
from catalog_gateway.gateway.intake import EventIntake
from catalog_gateway.observability import heap
from catalog_gateway.observability.heap import GcPauses
from catalog_gateway.observability.logging import configure_logging
from catalog_gateway.observability.loop_lag import LoopLagMonitor
from catalog_gateway.observability.metrics import process_stopped
from catalog_gateway.observability.opentelemetry import NO_OPENTELEMETRY
from catalog_gateway.settings import Settings, prepare_threads
from catalog_gateway.throttling.limiter import RateLimiter


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """The service, on the given settings (default: the environment's) and database."""
    services = bootstrap(settings, database=database)
    settings = services.settings
    configure_logging(settings.log_level, settings.log_format)
    principals = PrincipalCache(settings.auth_cache_seconds)
    # Keys revoked anywhere are evicted here at once, when Redis is configured.
    revocations = Revocations(settings.redis_url, principals)

    # The event loop shares the GIL with the prepare and writer threads: each time it comes back
    # from waiting on its sockets, it waits up to this long for them to let go of it.
    sys.setswitchinterval(settings.switch_interval_ms / 1000)
    intake = EventIntake(
        cpu_workers=prepare_threads(settings),
        writers=settings.writers or (1 if services.database.is_sqlite else 2),
        max_group_events=settings.group_commit_max_events,
    )
    gc_pauses = GcPauses()
    loop_lag = LoopLagMonitor(each_tick=gc_pauses.drain)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        revocations.start()
        intake.lane.start()
        sampling = asyncio.create_task(loop_lag.run(), name="loop-lag")
        gc_pauses.install()
        try:
            heap.settle(settings.freeze_heap)  # last: what starting built is now all there
            yield
        finally:
            heap.unsettle(settings.freeze_heap)
            gc_pauses.remove()
            sampling.cancel()
            intake.close()
            revocations.stop()
            services.close()
            process_stopped()

    app = GatewayApp(
        title="Catalog Gateway",
        version=__version__,
        summary="The course catalog and the gateway through which lines of business feed it.",
        lifespan=lifespan,
        # FastAPI's own pages load Swagger UI and ReDoc from a CDN: ours serve them (docs_pages).
        docs_url=None,
        redoc_url=None,
        telemetry=NO_OPENTELEMETRY,
    )
    app.state.settings = settings
    app.state.database = services.database
    app.state.gateway = services.gateway
    app.state.principals = principals
    app.state.lookups = Lookups()
    app.state.revocations = revocations
    app.state.limiter = RateLimiter(settings.redis_url)
    app.state.intake = intake
    app.state.loop_lag = loop_lag
    app.state.write_gate = WriteGate(settings.max_in_flight_writes, settings.overload_wait_seconds)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(RequestObservability)  # it sees every answer but early 429s
    app.add_middleware(EarlyEventThrottle)  # added last, so outermost: 429s cost least
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics_router)
    app.include_router(events.router)
    app.include_router(events.read_router)
    app.include_router(catalog.router)
    mount_console(app)
    install_api_docs(app)
    if settings.bench_control:
        app.include_router(bench.router)
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = without_default_validation_errors(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
