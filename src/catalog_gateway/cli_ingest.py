"""The `catalog-gateway ingest` command (DESIGN §5): options in, `ingest.command` does the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from catalog_gateway.events.types import EventType
from catalog_gateway.ingest.client import DEFAULT_URL
from catalog_gateway.ingest.command import IngestOptions, ingest
from catalog_gateway.ingest.readers import FileFormat
from catalog_gateway.ingest.report import say
from catalog_gateway.ingest.sender import DEFAULT_CONCURRENCY

EXIT_INTERRUPTED = 130


def ingest_command(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="JSON, JSON lines or CSV payloads.",
        ),
    ],
    source: Annotated[str, typer.Option(help="The source (slug) the key belongs to.")],
    event_type: Annotated[
        EventType, typer.Option(help="Event type of payloads not in a full envelope.")
    ] = EventType.PRODUCT_UPSERT,
    file_format: Annotated[
        FileFormat | None,
        typer.Option("--format", help="The file's format (default: from its extension)."),
    ] = None,
    url: Annotated[
        str, typer.Option(envvar="CATALOG_GATEWAY_URL", help="The gateway's base URL.")
    ] = DEFAULT_URL,
    key: Annotated[
        str,
        typer.Option(
            envvar="CATALOG_GATEWAY_API_KEY", show_default=False, help="The source's API key."
        ),
    ] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Transform, validate and plan only; write nothing.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Write a JSON report of every event to this file."),
    ] = None,
    full_sync: Annotated[
        bool,
        typer.Option(
            "--full-sync",
            help="The file is the whole catalog: retire the source's products it no longer "
            "holds (only when every event succeeded).",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Retire without asking for confirmation.")
    ] = False,
    concurrency: Annotated[
        int, typer.Option(min=1, max=16, help="Batches in flight at once.")
    ] = DEFAULT_CONCURRENCY,
) -> None:
    """Send a file of source payloads through the batch API, with a summary of every answer."""
    options = IngestOptions(
        file=file,
        source=source,
        key=key,
        url=url,
        event_type=event_type,
        file_format=file_format,
        dry_run=dry_run,
        report=report,
        full_sync=full_sync,
        yes=yes,
        concurrency=concurrency,
    )
    err = Console(stderr=True)
    try:
        code = ingest(options, Console(), err, _confirm)
    except KeyboardInterrupt:
        say(
            err,
            "interrupted: run the same command again; events already answered are answered "
            "again from the gateway's log, not applied twice",
        )
        code = EXIT_INTERRUPTED
    if code:
        raise typer.Exit(code=code)


def _confirm(question: str) -> bool:
    try:
        return typer.confirm(question, default=False)
    except typer.Abort:  # end of input: nobody to answer
        return False
