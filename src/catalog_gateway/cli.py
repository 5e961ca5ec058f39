"""The `catalog-gateway` command line (DESIGN §5). Thin: each command calls a service."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from catalog_gateway.auth.keys import issue_key, list_keys, revoke_key
from catalog_gateway.auth.revocation import announce_revocation
from catalog_gateway.bootstrap import bootstrap
from catalog_gateway.catalog import subjects
from catalog_gateway.catalog.clock import reset_clock
from catalog_gateway.catalog.organizations import ensure_organization, list_organizations
from catalog_gateway.catalog.vocabulary import load_vocabulary
from catalog_gateway.cli_ingest import ingest_command
from catalog_gateway.cli_transformers import transformers_app
from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database
from catalog_gateway.db.migrations import is_up_to_date, upgrade
from catalog_gateway.errors import CatalogGatewayError, ErrorCode, NotFoundError
from catalog_gateway.events import log
from catalog_gateway.events.log import purge as purge_events
from catalog_gateway.observability.logging import configure_logging, log_serving
from catalog_gateway.observability.metrics import multiprocess_directory
from catalog_gateway.settings import get_settings
from catalog_gateway.shared_state import REDIS_FAILURES
from catalog_gateway.sources import aliases
from catalog_gateway.sources import service as sources_service
from catalog_gateway.transformers.mapping import MappingFileError
from catalog_gateway.transformers.registry import TransformerRegistry

app = typer.Typer(
    help="Catalog Gateway: the course catalog and its gateway.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sources_app = typer.Typer(
    help="Sources (lines of business) that send events.", no_args_is_help=True
)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
organizations_app = typer.Typer(help="Organizations.", no_args_is_help=True)
subjects_app = typer.Typer(
    help="Subjects: reference data that transformers resolve names against.",
    no_args_is_help=True,
)
events_app = typer.Typer(help="The event log.", no_args_is_help=True)
products_app = typer.Typer(help="Repairs of catalog products.", no_args_is_help=True)
devserver_app = typer.Typer(help="Reference peers for development and tests.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(sources_app, name="sources")
app.add_typer(keys_app, name="keys")
app.add_typer(organizations_app, name="organizations")
app.add_typer(subjects_app, name="subjects")
app.add_typer(events_app, name="events")
app.add_typer(products_app, name="products")
app.command("ingest")(ingest_command)
app.add_typer(transformers_app, name="transformers")
app.add_typer(devserver_app, name="devserver")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]
ResultT = TypeVar("ResultT")


def _database() -> Database:
    return Database.from_settings(get_settings())


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """A transaction on a migrated database; domain errors become a message and exit 1."""
    database = _database()
    try:
        if not is_up_to_date(database):
            raise _fail("the database is not migrated: run `catalog-gateway db upgrade` first")
        with database.unit_of_work() as session:
            yield session
    except CatalogGatewayError as error:
        raise _fail(error.message) from error
    except DBAPIError as error:
        raise _fail(f"the database failed: {error.orig}") from error
    finally:
        database.dispose()


def _run(work: Callable[[Session], ResultT]) -> ResultT:
    with _unit_of_work() as session:
        return work(session)


def _echo_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data))


def _listing(name: str, rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    """`rows` as `{name: rows}` JSON, or as a table of `columns` (None shown as `-`)."""
    if as_json:
        _echo_json({name: rows})
        return
    if not rows:
        typer.echo(f"no {name}")
        return
    cells = [[_cell(row[column]) for column in columns] for row in rows]
    widths = [max(len(line[i]) for line in [columns, *cells]) for i in range(len(columns))]
    for line in [columns, *cells]:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _split(events: str | None) -> list[str] | None:
    return [name.strip() for name in events.split(",") if name.strip()] if events else None


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Address to bind (default: CATALOG_GATEWAY_HOST, else 127.0.0.1).",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(metavar="PORT", help="Port (default: CATALOG_GATEWAY_PORT, else 8000)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Server processes (default: CATALOG_GATEWAY_WORKERS, else 1).",
        ),
    ] = None,
) -> None:
    """Migrate the database, then serve the API."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    host, port = host or settings.host, port or settings.port
    _require_free_port(host, port)
    database = _database()
    try:
        upgrade(database)
    finally:
        database.dispose()
    _say_where_to_go(host, port)
    processes = workers or settings.workers
    # The processes read their settings from the environment: tell them how many they are.
    os.environ["CATALOG_GATEWAY_WORKERS"] = str(processes)
    # Several processes share their metrics through files (see observability.metrics).
    with multiprocess_directory(processes):
        uvicorn.run(
            "catalog_gateway.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=processes,
            # Keep the logging set up above (uvicorn's lines in our format too); the app's
            # request line replaces uvicorn's access log.
            log_config=None,
            log_level=settings.log_level.lower(),
            access_log=False,
        )


def _require_free_port(host: str, port: int) -> None:
    """Stop with a hint, not a traceback, when the port is taken (uvicorn would say Errno 98)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as error:
            raise _fail(
                f"cannot listen on {host}:{port} ({error.strerror}): serve on another port with "
                f"`make run PORT={port + 1}` or `catalog-gateway serve --port {port + 1}` "
                "(or set CATALOG_GATEWAY_PORT)"
            ) from error


def _say_where_to_go(host: str, port: int) -> None:
    """Where the server is and what to do first: a few lines for a person at a terminal, one
    log line (JSON where the logs are) otherwise."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (a name to show)
    base = f"http://{shown}:{port}" if ":" not in shown else f"http://[{shown}]:{port}"
    if not sys.stderr.isatty():
        log_serving(base)
        return
    typer.echo(
        f"Catalog Gateway on {base}\n"
        f"  API docs   {base}/docs\n"
        f"  console    {base}/console (log in with an admin key: "
        "`.venv/bin/catalog-gateway keys create --admin`)\n"
        "  next       the README's walk-through: send a LoB's file in a minute",
        err=True,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations (idempotent)."""
    database = _database()
    try:
        upgrade(database)
    finally:
        database.dispose()
    typer.echo("database is up to date")


@sources_app.command("create")
def sources_create(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The source's slug, e.g. exec-ed.")],
    transformer: Annotated[str, typer.Option(help="Transformer that maps its payloads.")],
    rate: Annotated[str | None, typer.Option(help="Rate limit, e.g. 50/second.")] = None,
    burst: Annotated[
        int | None, typer.Option(help="Requests allowed at once above the rate.")
    ] = None,
    events: Annotated[
        str | None, typer.Option(help="Allowed event types, comma-separated (default: all).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name (default: the slug).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a source and print its API key (shown this once only)."""
    settings = get_settings()
    try:
        installed = TransformerRegistry(settings.mappings_dir).origins()
    except MappingFileError as error:
        raise _fail("; ".join(error.problems)) from error
    source, key = _run(
        lambda session: sources_service.create_source(
            session,
            slug,
            transformer=transformer,
            installed=installed,
            rate=rate if rate is not None else settings.default_rate,
            burst=burst if burst is not None else settings.default_burst,
            event_types=_split(events),
            name=name,
        )
    )
    if as_json:
        _echo_json({"slug": source.slug, "api_key": key.api_key})
        return
    typer.echo(f"source {source.slug} created (rate {source.rate}, burst {source.burst})")
    typer.echo(f"API key (shown once, store it now): {key.api_key}")
    typer.echo(f"key id (for revoking): {key.id}")


@sources_app.command("update")
def sources_update(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The source's slug.")],
    rate: Annotated[str | None, typer.Option(help="New rate limit, e.g. 100/second.")] = None,
    burst: Annotated[int | None, typer.Option(help="New burst.")] = None,
    events: Annotated[str | None, typer.Option(help="New allowed event types.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a source's rate, burst or allowed event types."""
    result = _run(
        lambda session: sources_service.update_source(
            session, slug, rate=rate, burst=burst, event_types=_split(events)
        )
    )
    source = result.entity
    if as_json:
        _echo_json(
            {
                "slug": source.slug,
                "rate": source.rate,
                "burst": source.burst,
                "events": source.allowed_event_types,
                "action": result.action.value,
            }
        )
        return
    typer.echo(
        f"source {source.slug} {result.action.value}: rate {source.rate}, burst {source.burst}, "
        f"events {','.join(source.allowed_event_types)}"
    )


@sources_app.command("list")
def sources_list(as_json: JsonOption = False) -> None:
    """List the sources: slug, transformer, rate, burst and allowed event types."""
    rows = _run(
        lambda session: [
            {
                "slug": source.slug,
                "name": source.name,
                "transformer": source.transformer,
                "rate": source.rate,
                "burst": source.burst,
                "events": source.allowed_event_types,
            }
            for source in sources_service.list_sources(session)
        ]
    )
    _listing("sources", rows, ["slug", "transformer", "rate", "burst", "events"], as_json)


@sources_app.command("map-org")
def sources_map_org(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The source's slug.")],
    external_code: Annotated[
        str, typer.Argument(metavar="EXTERNAL_CODE", help="The source's own organization code.")
    ],
    organization_key: Annotated[
        str, typer.Argument(metavar="ORGANIZATION_KEY", help="The catalog organization key.")
    ],
) -> None:
    """Let a source name an organization by its own code."""
    result = _run(
        lambda session: sources_service.map_organization_code(
            session, slug, external_code, organization_key
        )
    )
    typer.echo(f"{slug}: {external_code} → {organization_key} ({result.action.value})")


@sources_app.command("map-value")
def sources_map_value(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The source's slug.")],
    field: Annotated[str, typer.Argument(metavar="FIELD", help="subject, language or level.")],
    lob_value: Annotated[
        str, typer.Argument(metavar="LOB_VALUE", help="The value as the source writes it.")
    ],
    catalog_value: Annotated[
        str,
        typer.Argument(
            metavar="CATALOG_VALUE",
            help="What it means: a subject's slug or name, a level, or a language tag (en-US).",
        ),
    ],
) -> None:
    """Let a source write its own value for a catalog subject, language or level. Matching
    ignores case, accents and punctuation, and reads `&` as `and`."""

    def alias(session: Session) -> Any:
        return aliases.map_value(
            session, slug, field, lob_value, catalog_value, load_vocabulary(session)
        )

    result = _run(alias)
    entity = result.entity
    typer.echo(
        f"{slug}: {entity.field} {entity.lob_value!r} → {entity.catalog_value} "
        f"({result.action.value})"
    )


@sources_app.command("unmap-value")
def sources_unmap_value(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The source's slug.")],
    field: Annotated[str, typer.Argument(metavar="FIELD", help="subject, language or level.")],
    lob_value: Annotated[
        str, typer.Argument(metavar="LOB_VALUE", help="The value as the source writes it.")
    ],
) -> None:
    """Remove one of a source's value aliases."""
    removed = _run(lambda session: aliases.unmap_value(session, slug, field, lob_value))
    typer.echo(f"{slug}: {removed.field} {removed.lob_value!r} no longer aliased")


@sources_app.command("values")
def sources_values(
    slug: Annotated[str, typer.Argument(metavar="SLUG", help="The source's slug.")],
    as_json: JsonOption = False,
) -> None:
    """List a source's value aliases."""
    rows = _run(
        lambda session: [
            {"field": a.field, "lob_value": a.lob_value, "catalog_value": a.catalog_value}
            for a in aliases.list_aliases(session, slug)
        ]
    )
    if as_json:
        _echo_json({"source": slug, "aliases": rows})
        return
    if not rows:
        typer.echo(f"{slug} has no value aliases")
    for row in rows:
        typer.echo(f"{row['field']:<9} {row['lob_value']!r} → {row['catalog_value']}")


@subjects_app.command("create")
def subjects_create(
    slug: Annotated[
        str, typer.Argument(metavar="SLUG", help="The subject's slug, e.g. design-and-marketing.")
    ],
    name: Annotated[str, typer.Option(help="Its English name, e.g. 'Design and Marketing'.")],
) -> None:
    """Create a subject (idempotent when it exists with this name)."""
    result = _run(lambda session: subjects.create_subject(session, slug, name))
    typer.echo(f"subject {slug} ({result.entity.name}) {result.action.value}")


@subjects_app.command("rename")
def subjects_rename(
    slug: Annotated[
        str, typer.Argument(metavar="SLUG", help="The subject's slug (it never changes).")
    ],
    name: Annotated[str, typer.Option(help="Its new English name.")],
) -> None:
    """Give a subject a new English name."""
    result = _run(lambda session: subjects.rename_subject(session, slug, name))
    typer.echo(f"subject {slug} ({result.entity.name}) {result.action.value}")


@subjects_app.command("list")
def subjects_list(as_json: JsonOption = False) -> None:
    """List the subjects: slug and English name."""
    rows = _run(
        lambda session: [{"slug": s.slug, "name": s.name} for s in subjects.list_subjects(session)]
    )
    if as_json:
        _echo_json({"subjects": rows})
        return
    width = max((len(row["slug"]) for row in rows), default=0)
    for row in rows:
        typer.echo(f"{row['slug']:<{width}}  {row['name']}")


@keys_app.command("create")
def keys_create(
    admin: Annotated[bool, typer.Option("--admin", help="An admin key.")] = False,
    source: Annotated[
        str | None, typer.Option(help="A further key for this source (e.g. to rotate).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key and print it (shown this once only)."""
    if admin == (source is not None):
        raise _fail("give exactly one of --admin or --source SLUG")

    def create(session: Session) -> Any:
        owner = sources_service.get_source(session, source) if source else None
        return issue_key(session, source=owner)

    key = _run(create)
    if as_json:
        _echo_json({"id": key.id, "api_key": key.api_key})
        return
    typer.echo(f"API key (shown once, store it now): {key.api_key}")
    typer.echo(f"key id (for revoking): {key.id}")


@keys_app.command("list")
def keys_list(as_json: JsonOption = False) -> None:
    """List the API keys (never the keys themselves): id, source (or admin), created, last used
    (to the minute), revoked."""
    rows = _run(
        lambda session: [
            {
                "id": key.id,
                "source": key.source.slug if key.source else None,
                "admin": key.is_admin,
                "created": key.created.isoformat(),
                "last_used": key.last_used.isoformat() if key.last_used else None,
                "revoked": key.revoked.isoformat() if key.revoked else None,
            }
            for key in list_keys(session)
        ]
    )
    _listing("keys", rows, ["id", "source", "admin", "created", "last_used", "revoked"], as_json)


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The key itself, or its id.")],
) -> None:
    """Revoke an API key. Server processes refuse it at once when CATALOG_GATEWAY_REDIS_URL
    is set (they are told through Redis), otherwise within CATALOG_GATEWAY_AUTH_CACHE_SECONDS."""
    settings = get_settings()
    key_id = _run(lambda session: revoke_key(session, key).id)
    typer.echo(f"key {key_id} revoked")
    if not settings.redis_url:
        return
    try:
        announce_revocation(settings.redis_url, key_id)
    except REDIS_FAILURES as error:
        typer.secho(
            f"warning: the server processes could not be told through Redis ({error}): each "
            f"refuses the key within {settings.auth_cache_seconds:g} s "
            "(CATALOG_GATEWAY_AUTH_CACHE_SECONDS)",
            err=True,
            fg=typer.colors.YELLOW,
        )


@organizations_app.command("create")
def organizations_create(
    key: Annotated[str, typer.Argument(metavar="KEY", help="Organization key, e.g. MITx.")],
    name: Annotated[str, typer.Option(help="Display name.")],
) -> None:
    """Create an organization, or update its name (idempotent)."""
    result = _run(lambda session: ensure_organization(session, key, name))
    typer.echo(f"organization {key} {result.action.value}")


@organizations_app.command("list")
def organizations_list(as_json: JsonOption = False) -> None:
    """List the organizations: key and name."""
    rows = _run(
        lambda session: [
            {"key": organization.key, "name": organization.name}
            for organization in list_organizations(session)
        ]
    )
    _listing("organizations", rows, ["key", "name"], as_json)


_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `3600s`, `2w` → a timedelta."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if match is None or int(match.group(1)) == 0:
        raise typer.BadParameter(f"{text!r} is not a duration such as 30d, 12h or 90m")
    return timedelta(**{_DURATION_UNITS[match.group(2)]: int(match.group(1))})


@events_app.command("list")
def events_list(
    source: Annotated[str | None, typer.Option(help="Only this source's events.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only events in this status (e.g. failed).")
    ] = None,
    stuck: Annotated[
        bool,
        typer.Option(
            "--stuck",
            help="Only events left in_progress past their lease (a process died after the "
            "catalog commit): `events replay` takes them over.",
        ),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """The event log, oldest first: id, source, type, status, retryable, attempts, updated."""
    settings = get_settings()

    def listed(session: Session) -> list[dict[str, Any]]:
        source_id = None
        if source is not None:
            found = log.source_by_slug(session, source)
            if found is None:
                raise NotFoundError(f"no source {source!r}", code=ErrorCode.UNKNOWN_SOURCE)
            source_id = found.id
        lease = timedelta(seconds=settings.event_lease_seconds)
        filters = log.EventFilter(
            source_id=source_id,
            status=status,
            claimed_before=utcnow() - lease if stuck else None,
        )
        page = log.list_events(session, filters, cursor=None, limit=limit)
        return [
            {
                "event_id": record.event_id,
                "source": record.source.slug,
                "event_type": record.event_type,
                "status": record.status,
                "retryable": record.retryable,
                "attempts": record.attempts,
                "updated": record.updated_at.isoformat(timespec="seconds"),
            }
            for record in page.results
        ]

    rows = _run(listed)
    columns = ["event_id", "source", "event_type", "status", "retryable", "attempts", "updated"]
    _listing("events", rows, columns, as_json)


@events_app.command("purge")
def events_purge(
    older_than: Annotated[
        str | None,
        typer.Option(help="Age, e.g. 30d or 12h (default: the retention setting, in days)."),
    ] = None,
) -> None:
    """Delete event records received longer ago than that (events in progress are kept)."""
    settings = get_settings()
    age = (
        parse_duration(older_than) if older_than else timedelta(days=settings.event_retention_days)
    )
    database = _database()
    try:
        if not is_up_to_date(database):
            raise _fail("the database is not migrated: run `catalog-gateway db upgrade` first")
        deleted = purge_events(database, age)
    finally:
        database.dispose()
    typer.echo(f"{deleted} event records older than {older_than or f'{age.days}d'} deleted")


@products_app.command("reset-clock")
def products_reset_clock(
    key: Annotated[
        str,
        typer.Argument(
            metavar="KEY",
            help="A course key (its runs and their instructors too), a run key, a degree's "
            "marketing slug or an instructor's uuid.",
        ),
    ],
    to: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"],
            help="The time to bring the clock back to (RFC 3339; default: now).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Bring a product's stale-protection clock back from the future, so its events apply
    again (needed when an event dated in the future was applied)."""
    moment = (to if to.tzinfo else to.replace(tzinfo=UTC)) if to else utcnow()
    resets = _run(lambda session: reset_clock(session, key, moment))
    if as_json:
        _echo_json(
            {
                "key": key,
                "to": moment.isoformat(),
                "reset": [
                    {"entity": r.entity, "was": r.was.isoformat(), "now": r.now.isoformat()}
                    for r in resets
                ],
            }
        )
        return
    for reset in resets:
        typer.echo(f"{reset.entity}: {reset.was.isoformat()} -> {reset.now.isoformat()}")
    typer.echo(f"{len(resets)} clocks reset" if resets else f"nothing of {key} is ahead of then")


@events_app.command("replay")
def events_replay(
    event_id: Annotated[str, typer.Argument(metavar="EVENT_ID", help="The event's id.")],
    source: Annotated[str, typer.Option(help="The source that sent it.")],
    as_json: JsonOption = False,
) -> None:
    """Run a stored event that failed retryably, or was left in progress past its lease, again
    (it resumes at the failed step)."""
    services = bootstrap()
    try:
        if not is_up_to_date(services.database):
            raise _fail("the database is not migrated: run `catalog-gateway db upgrade` first")
        gateway = services.gateway
        handled = gateway.replay(gateway.profile_by_slug(source), event_id)
    except CatalogGatewayError as error:
        raise _fail(error.message) from error
    finally:
        services.close()
    answer = handled.answer
    if as_json:
        typer.echo(answer.model_dump_json())
    else:
        typer.echo(f"event {answer.event_id}: {answer.status.value}")
        for step in answer.steps:
            typer.echo(
                f"  {step.name:<20} {step.status.value:<8} {step.target or ''} {step.detail or ''}"
            )
        for issue in answer.errors:
            typer.echo(f"  error {issue.code.value}: {issue.message}")
    if answer.status.value not in ("applied", "unchanged"):
        raise typer.Exit(code=1)


@devserver_app.command("ecommerce")
def devserver_ecommerce(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 18130,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    data: Annotated[
        Path | None, typer.Option(help="JSON file to keep products in (default: a temporary file).")
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="Require this bearer token (default: accept any).")
    ] = None,
) -> None:
    """Serve the reference ecommerce publication API (with fault injection)."""
    from catalog_gateway.devservers.ecommerce import create_app as create_ecommerce

    uvicorn.run(create_ecommerce(data, token), host=host, port=port, log_level="warning")
