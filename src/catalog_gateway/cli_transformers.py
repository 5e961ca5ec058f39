"""`catalog-gateway transformers …`: list the transformers, and try one on a sample file.

`check` runs what the gateway runs before it needs the database — the transform, then the
canonical schema — and prints the canonical payload with every problem and its source path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from catalog_gateway.errors import CatalogGatewayError, ErrorCode
from catalog_gateway.events.payloads import PAYLOAD_MODELS
from catalog_gateway.events.results import EventIssue
from catalog_gateway.events.types import EventType
from catalog_gateway.gateway.schema_errors import field_errors
from catalog_gateway.ingest.readers import (
    FileFormat,
    InputError,
    SourceRecord,
    detect_format,
    read_records,
)
from catalog_gateway.transformers.base import Transformer
from catalog_gateway.transformers.mapping import MappingFileError, MappingTransformer, load_mapping
from catalog_gateway.transformers.registry import get_transformer, list_transformers

EXIT_ERRORS = 1
EXIT_UNUSABLE = 2  # a bad mapping file, an unknown transformer, an unreadable sample

transformers_app = typer.Typer(
    help="Transformers: list them, and check one on a sample payload.", no_args_is_help=True
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]


@transformers_app.command("list")
def list_command(as_json: JsonOption = False) -> None:
    """The transformers sources can name: installed ones and the mapping files' ones."""
    try:
        transformers = list_transformers()
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
    """Transform a sample file and check it against the canonical schema; exit 1 on errors."""
    transformer = _transformer(transformer_name, mapping)
    chosen = event_type or _default_event_type(transformer)
    try:
        records = read_records(file, file_format or detect_format(file), chosen)
    except InputError as error:
        raise _unusable(f"{file}: {error}") from error
    checks = [_check(transformer, record) for record in records]
    if as_json:
        typer.echo(json.dumps({"transformer": transformer.name, "results": _json(checks)}))
    else:
        _print(transformer, checks)
    if any(check.errors for check in checks):
        raise typer.Exit(code=EXIT_ERRORS)


@dataclass(slots=True)
class _Check:
    record: SourceRecord
    payload: dict[str, Any] | None
    errors: list[EventIssue] = field(default_factory=list)
    warnings: list[EventIssue] = field(default_factory=list)


def _check(transformer: Transformer, record: SourceRecord) -> _Check:
    """The transform, then the schema; a schema error where the transform already reported one
    is left out (it would say the same thing less precisely)."""
    try:
        result = transformer.transform(record.event_type, record.payload)
    except Exception as error:  # as the gateway does: a transformer bug is an answer
        issue = EventIssue(
            code=ErrorCode.TRANSFORM_FAILED,
            message=f"transformer {transformer.name!r} failed: {type(error).__name__}: {error}",
            step="transform",
        )
        return _Check(record, None, [issue])
    check = _Check(record, result.payload, list(result.errors), list(result.warnings))
    if result.payload is None:
        return check
    try:
        PAYLOAD_MODELS[record.event_type].model_validate(result.payload)
    except ValidationError as error:
        reported = {issue.path for issue in check.errors}
        check.errors.extend(
            EventIssue(
                code=code,
                message=message,
                step="validate",
                path=path,
                source_path=result.provenance.source_path(path),
            )
            for code, message, path in field_errors(error)
            if path not in reported
        )
    return check


def _transformer(name: str | None, mapping: Path | None) -> Transformer:
    if (name is None) == (mapping is None):
        raise _unusable("give exactly one of --transformer NAME or --mapping FILE")
    try:
        if mapping is not None:
            return load_mapping(mapping)
        assert name is not None
        return get_transformer(name)
    except MappingFileError as error:
        raise _unusable(*error.problems) from error
    except CatalogGatewayError as error:
        raise _unusable(error.message) from error


def _default_event_type(transformer: Transformer) -> EventType:
    """The one event type a mapping file maps, else `product.upsert`."""
    if isinstance(transformer, MappingTransformer) and len(transformer.mapped_event_types) == 1:
        return transformer.mapped_event_types[0]
    return EventType.PRODUCT_UPSERT


def _print(transformer: Transformer, checks: list[_Check]) -> None:
    console = Console(soft_wrap=True, highlight=False)
    for check in checks:
        record = check.record
        console.print(
            f"[bold]{escape(record.where)}[/bold]: {record.event_type.value} through "
            f"{escape(transformer.name)}: {_count(check.errors, 'error')}, "
            f"{_count(check.warnings, 'warning')}"
        )
        if check.payload is not None:
            console.print_json(json.dumps(check.payload), indent=2)
        for issue in check.errors:
            console.print(f"  [red]error[/red] {_describe(issue, record)}")
        for issue in check.warnings:
            console.print(f"  [yellow]warning[/yellow] {_describe(issue, record)}")


def _describe(issue: EventIssue, record: SourceRecord) -> str:
    return escape(f"{issue.code.value} at {_where(issue, record)}: {issue.message}")


def _where(issue: EventIssue, record: SourceRecord) -> str:
    canonical = issue.path or "(payload)"
    if issue.source_path is None:
        return canonical
    return f"{canonical} ← {issue.source_path} ({record.locate(issue.source_path)})"


def _json(checks: list[_Check]) -> list[dict[str, Any]]:
    return [
        {
            "where": check.record.where,
            "event_type": check.record.event_type.value,
            "payload": check.payload,
            "errors": [issue.model_dump(mode="json") for issue in check.errors],
            "warnings": [issue.model_dump(mode="json") for issue in check.warnings],
        }
        for check in checks
    ]


def _count(items: list[EventIssue], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _unusable(*messages: str) -> typer.Exit:
    for message in messages:
        typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=EXIT_UNUSABLE)
