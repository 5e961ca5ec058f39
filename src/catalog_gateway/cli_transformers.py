"""`catalog-gateway transformers …`: list the transformers, and try one on a sample file.

`check` runs the gateway's own preparation of an event (`EventGateway.prepare`: the transform,
sanitizing, the canonical schema, the cross-field rules, the reference data, and the
organizations, references and ownership, against the configured database), and prints the
canonical payload with every problem and its source path. When that database cannot be used,
it runs the same preparation against a scratch database holding only the migrations' reference
data, and says which checks that skips and why.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from catalog_gateway.bootstrap import bootstrap
from catalog_gateway.db.base import utcnow
from catalog_gateway.db.engine import Database
from catalog_gateway.db.migrations import is_up_to_date, upgrade
from catalog_gateway.errors import CatalogGatewayError, ErrorCode
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.results import EventIssue
from catalog_gateway.events.types import EventType
from catalog_gateway.gateway.service import EventGateway, SourceProfile
from catalog_gateway.ingest.readers import (
    FileFormat,
    InputError,
    SourceRecord,
    detect_format,
    read_records,
)
from catalog_gateway.settings import Settings, get_settings
from catalog_gateway.transformers.base import Transformer
from catalog_gateway.transformers.mapping import MappingFileError, MappingTransformer, load_mapping
from catalog_gateway.transformers.registry import TransformerRegistry

EXIT_ERRORS = 1
EXIT_UNUSABLE = 2  # a bad mapping file, an unknown transformer or source, an unreadable sample

CHECK_EVENT_ID = "transformers-check"
# Source ids start at 1: a profile with id 0 has no mapped organization codes and owns nothing.
NO_SOURCE_ID = 0
ALWAYS_CHECKED = ("transform", "schema", "cross-field rules", "reference data")
# The checks that read the catalog's own rows, each with the codes of what it finds. Without a
# usable database they are skipped: the preparation then runs on a scratch database that holds
# only the reference data (seeded by the migrations, as in every database), where every such
# lookup would fail, so their findings are left out.
CATALOG_CHECKS: dict[str, frozenset[ErrorCode]] = {
    "organizations": frozenset({ErrorCode.UNKNOWN_ORGANIZATION}),
    "course/instructor/degree references": frozenset(
        {ErrorCode.UNKNOWN_COURSE, ErrorCode.UNKNOWN_INSTRUCTOR, ErrorCode.UNKNOWN_DEGREE}
    ),
    "ownership": frozenset(
        {ErrorCode.NOT_OWNER, ErrorCode.COURSE_KEY_TAKEN, ErrorCode.MARKETING_SLUG_TAKEN}
    ),
}
WITHOUT_SOURCE = (
    "without --source: organization codes must be organization keys (no source's mapped codes), "
    "and external-id references and ownership are checked as for a source with nothing in the "
    "catalog; give --source SLUG to check them as that source"
)

transformers_app = typer.Typer(
    help="Transformers: list them, and check one on a sample payload.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]


@transformers_app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """The transformers sources can name: installed ones and the mapping files' ones."""
    try:
        transformers = TransformerRegistry(get_settings().mappings_dir).describe()
    except MappingFileError as error:
        raise _unusable(*error.problems) from error
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": info.name,
                        "origin": info.origin,
                        "event_types": [event_type.value for event_type in info.event_types],
                        "description": info.description,
                        "problem": info.problem,
                    }
                    for info in transformers
                ]
            )
        )
    else:
        for info in transformers:
            typer.echo(f"{info.name}  ({info.origin})")
            if info.description:
                typer.echo(f"  {info.description}")
            if info.problem is not None:
                typer.secho(f"  cannot be loaded: {info.problem}", fg=typer.colors.RED)
            elif set(info.event_types) == set(EventType):
                typer.echo("  every event type")
            else:
                typer.echo("  " + ", ".join(t.value for t in info.event_types))
    if any(info.problem for info in transformers):
        raise typer.Exit(code=EXIT_ERRORS)


@transformers_app.command("check")
def check_command(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            help="A sample source payload: JSON (or JSON lines) or CSV.",
        ),
    ],
    transformer_name: Annotated[
        str | None, typer.Option("--transformer", help="An installed transformer's name.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(dir_okay=False, help="A mapping file to try (not installed).")
    ] = None,
    source_slug: Annotated[
        str | None,
        typer.Option(
            "--source",
            help="Check as this source: its organization codes, its products, its allowed event "
            "types (and its transformer, unless --transformer or --mapping is given).",
        ),
    ] = None,
    event_type: Annotated[
        EventType | None,
        typer.Option(help="Event type of the payloads (default: the one the mapping maps)."),
    ] = None,
    file_format: Annotated[
        FileFormat | None,
        typer.Option("--format", help="The file's format (default: from its extension)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the gateway's validation on a sample file (against the configured database, when it
    can be used); exit 1 on errors."""
    chosen = [option for option in (transformer_name, mapping) if option is not None]
    if len(chosen) > 1 or (not chosen and source_slug is None):
        raise _unusable(
            "give exactly one of --transformer NAME or --mapping FILE "
            "(or --source SLUG alone, to use that source's transformer)"
        )
    request = _Request(
        file=file,
        file_format=file_format,
        event_type=event_type,
        transformer=transformer_name,
        trial=_load_trial(mapping) if mapping is not None else None,
        source=source_slug,
    )
    settings = get_settings()
    if request.trial is not None:
        # The file tried stands in for the installed ones: a broken file in the mappings
        # directory (maybe the one being fixed) must not stop it.
        settings = settings.model_copy(update={"mappings_dir": None})
    outcome = _check_with_catalog(settings, request)
    if as_json:
        typer.echo(json.dumps(_json(outcome)))
    else:
        _print(outcome)
    if any(check.errors for check in outcome.checks):
        raise typer.Exit(code=EXIT_ERRORS)


@dataclass(frozen=True, slots=True)
class _Request:
    file: Path
    file_format: FileFormat | None
    event_type: EventType | None
    transformer: str | None
    trial: MappingTransformer | None
    source: str | None


@dataclass(slots=True)
class _Check:
    record: SourceRecord
    payload: dict[str, Any] | None
    errors: list[EventIssue] = field(default_factory=list)
    warnings: list[EventIssue] = field(default_factory=list)


@dataclass(slots=True)
class _Outcome:
    transformer: str
    source: str | None  # the source checked as, when --source was applied
    database: str  # the configured database's URL (password hidden)
    checks: list[_Check]
    checked: list[str]
    skipped: list[str] = field(default_factory=list)
    skipped_because: str | None = None
    notes: list[str] = field(default_factory=list)


class _TrialRegistry(TransformerRegistry):
    """The installed transformers, and the mapping file being tried under its name."""

    def __init__(self, trial: MappingTransformer) -> None:
        super().__init__()
        self.trial = trial

    def get(self, name: str) -> Transformer:
        return self.trial if name == self.trial.name else super().get(name)


def _check_with_catalog(settings: Settings, request: _Request) -> _Outcome:
    """The checks against the configured database, else against a scratch one (and what that
    skips)."""
    database = Database.from_settings(settings)
    shown = database.url.render_as_string(hide_password=True)
    try:
        problem = _database_problem(database)
        if problem is None:
            try:
                return _check_all(database, settings, request, shown)
            except SQLAlchemyError as error:
                problem = f"database failed: {_reason(error)}"
    finally:
        database.dispose()
    scratch = Database("sqlite://")
    try:
        upgrade(scratch)  # the reference data, as every migrated database has it
        return _check_all(scratch, settings, request, shown, skipped_because=problem)
    finally:
        scratch.dispose()


def _database_problem(database: Database) -> str | None:
    """Why the database cannot be used for the checks, or None."""
    url = database.url
    if (
        database.is_sqlite
        and url.database not in (None, "", ":memory:")
        and not url.query.get("uri")
        and not Path(str(url.database)).exists()
    ):
        # Connecting would create an empty file.
        return f"database unreachable: no SQLite database file {url.database}"
    try:
        if not is_up_to_date(database):
            return "database not migrated (run `catalog-gateway db upgrade`)"
    except SQLAlchemyError as error:
        return f"database unreachable: {_reason(error)}"
    return None


def _reason(error: SQLAlchemyError) -> str:
    return " ".join(str(getattr(error, "orig", None) or error).split())


def _check_all(
    database: Database,
    settings: Settings,
    request: _Request,
    shown: str,
    *,
    skipped_because: str | None = None,
) -> _Outcome:
    """Every record of the sample through `EventGateway.prepare`, as the service prepares it.

    With `skipped_because`, `database` is a scratch one with reference data only: what the
    lookups of the catalog's rows find there is left out, and listed as skipped."""
    offline = skipped_because is not None
    try:
        trial = _TrialRegistry(request.trial) if request.trial is not None else None
        gateway = bootstrap(settings, database=database, transformers=trial).gateway
    except MappingFileError as error:
        raise _unusable(*error.problems) from error
    try:
        profile = _profile(gateway, request, skipped_because)
        try:
            transformer = gateway.transformers.get(profile.transformer)
        except CatalogGatewayError as error:
            raise _unusable(error.message) from error
        chosen = request.event_type or _default_event_type(transformer)
        try:
            records = read_records(
                request.file, request.file_format or detect_format(request.file), chosen
            )
        except InputError as error:
            raise _unusable(f"{request.file}: {error}") from error
        as_source = request.source is not None and not offline
        checks = [
            _check(gateway, profile, record, as_source=as_source, offline=offline)
            for record in records
        ]
    finally:
        gateway.close()
    outcome = _Outcome(
        transformer=transformer.name,
        source=request.source if as_source else None,
        database=shown,
        checks=checks,
        checked=list(ALWAYS_CHECKED),
    )
    source_checks = ["allowed event types"] if request.source is not None else []
    if offline:
        outcome.skipped = [*CATALOG_CHECKS, *source_checks]
        outcome.skipped_because = skipped_because
    else:
        outcome.checked.extend([*CATALOG_CHECKS, *source_checks])
        if request.source is None:
            outcome.notes.append(WITHOUT_SOURCE)
    return outcome


def _profile(
    gateway: EventGateway, request: _Request, skipped_because: str | None
) -> SourceProfile:
    """The sender: the `--source` one (its transformer replaced by the one asked for), or one
    that maps no organization code and owns nothing."""
    name = request.trial.name if request.trial is not None else request.transformer
    if request.source is not None and skipped_because is None:
        try:
            profile = gateway.profile_by_slug(request.source)
        except CatalogGatewayError as error:
            raise _unusable(error.message) from error
        return profile if name is None else replace(profile, transformer=name)
    if name is None:
        raise _unusable(
            f"the transformer of source {request.source!r} cannot be read ({skipped_because}): "
            "give --transformer NAME or --mapping FILE"
        )
    return SourceProfile(
        id=NO_SOURCE_ID,
        slug="(no source)",
        transformer=name,
        allowed_event_types=frozenset(event_type.value for event_type in EventType),
    )


def _check(
    gateway: EventGateway,
    profile: SourceProfile,
    record: SourceRecord,
    *,
    as_source: bool,
    offline: bool,
) -> _Check:
    """What the gateway would answer before it writes anything (a fixed event id, sent now)."""
    envelope = Envelope(
        event_id=CHECK_EVENT_ID,
        event_type=record.event_type,
        occurred_at=utcnow(),
        payload=record.payload,
    )
    errors: list[EventIssue] = []
    if as_source and envelope.event_type.value not in profile.allowed_event_types:
        errors.extend(gateway.refused(profile, envelope, time.perf_counter()).errors)
    prepared = gateway.prepare(profile, envelope)
    errors.extend(prepared.errors)
    if offline:
        skipped = frozenset().union(*CATALOG_CHECKS.values())
        errors = [issue for issue in errors if issue.code not in skipped]
    return _Check(record, prepared.canonical, errors, list(prepared.warnings))


def _load_trial(mapping: Path) -> MappingTransformer:
    try:
        return load_mapping(mapping)
    except MappingFileError as error:
        raise _unusable(*error.problems) from error


def _default_event_type(transformer: Transformer) -> EventType:
    """The one event type a mapping file maps, else `product.upsert`."""
    if isinstance(transformer, MappingTransformer) and len(transformer.mapped_event_types) == 1:
        return transformer.mapped_event_types[0]
    return EventType.PRODUCT_UPSERT


def _print(outcome: _Outcome) -> None:
    console = Console(soft_wrap=True, highlight=False)
    for check in outcome.checks:
        record = check.record
        console.print(
            f"[bold]{escape(record.where)}[/bold]: {record.event_type.value} through "
            f"{escape(outcome.transformer)}: {_count(check.errors, 'error')}, "
            f"{_count(check.warnings, 'warning')}"
        )
        if check.payload is not None:
            console.print_json(json.dumps(check.payload), indent=2)
        for issue in check.errors:
            console.print(f"  [red]error[/red] {_describe(issue, record)}")
        for issue in check.warnings:
            console.print(f"  [yellow]warning[/yellow] {_describe(issue, record)}")
    against = (
        "on the migrations' reference data, without the catalog"
        if outcome.skipped_because is not None
        else f"against {outcome.database}"
    )
    as_source = f" as source {outcome.source}," if outcome.source is not None else ""
    console.print(escape(f"checked: {', '.join(outcome.checked)} —{as_source} {against}"))
    if outcome.skipped:
        console.print(
            "[yellow]skipped[/yellow]: "
            + escape(f"{', '.join(outcome.skipped)} — {outcome.skipped_because}")
        )
    for note in outcome.notes:
        console.print(escape(note))


def _describe(issue: EventIssue, record: SourceRecord) -> str:
    return escape(f"{issue.code.value} at {_where(issue, record)}: {issue.message}")


def _where(issue: EventIssue, record: SourceRecord) -> str:
    canonical = issue.path or "(payload)"
    if issue.source_path is None:
        return canonical
    return f"{canonical} ← {issue.source_path} ({record.locate(issue.source_path)})"


def _json(outcome: _Outcome) -> dict[str, Any]:
    return {
        "transformer": outcome.transformer,
        "source": outcome.source,
        "database": outcome.database,
        "checked": outcome.checked,
        "skipped": [
            {"check": check, "reason": outcome.skipped_because} for check in outcome.skipped
        ],
        "notes": outcome.notes,
        "results": [
            {
                "where": check.record.where,
                "event_type": check.record.event_type.value,
                "payload": check.payload,
                "errors": [issue.model_dump(mode="json") for issue in check.errors],
                "warnings": [issue.model_dump(mode="json") for issue in check.warnings],
            }
            for check in outcome.checks
        ],
    }


def _count(items: list[EventIssue], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _unusable(*messages: str) -> typer.Exit:
    for message in messages:
        typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=EXIT_UNUSABLE)
