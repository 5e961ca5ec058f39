"""`catalog-gateway ingest`: a file of source payloads → events through the HTTP batch API.

    read the file → events (content ids, the file's time) → check the key is the source's
    → with --concurrency above 1: learn what each event names (a dry run) and split the events
    into lanes → send in batches → summary (and JSON report) → full sync, if asked → exit code

Exit codes: 0 every event applied or unchanged (planned, for a dry run) and the full sync, if
asked, retired what it had to; 1 anything else; 2 a usage or input error (nothing was sent).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console

from catalog_gateway.events.types import EventType
from catalog_gateway.ingest.answers import Reply
from catalog_gateway.ingest.client import GatewayClient, GatewayError, KeyRefusedError
from catalog_gateway.ingest.full_sync import (
    KINDS_BY_EVENT_TYPE,
    Product,
    kinds_in,
    plan_retirement,
    retire_events,
)
from catalog_gateway.ingest.identity import Event, events_from_records, file_occurred_at, rfc3339
from catalog_gateway.ingest.lanes import lanes_of
from catalog_gateway.ingest.readers import FileFormat, InputError, detect_format, read_records
from catalog_gateway.ingest.report import (
    event_report,
    print_summary,
    progress_bar,
    say,
    succeeded,
)
from catalog_gateway.ingest.report import write_report as write_json_report
from catalog_gateway.ingest.sender import DEFAULT_CONCURRENCY, Delivery, Sender

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
SHOWN_PRODUCTS = 5
_SLUG = re.compile(r"^[a-z0-9-]{2,64}$")

Confirm = Callable[[str], bool]


class UsageError(Exception):
    """The command was given something it cannot work with."""


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """What `ingest` was asked to do."""

    file: Path
    source: str
    key: str
    url: str
    event_type: EventType = EventType.PRODUCT_UPSERT
    file_format: FileFormat | None = None
    dry_run: bool = False
    report: Path | None = None
    full_sync: bool = False
    yes: bool = False
    concurrency: int = DEFAULT_CONCURRENCY


def ingest(options: IngestOptions, out: Console, err: Console, confirm: Confirm) -> int:
    """Run the command; its exit code."""
    try:
        _check(options)
        occurred_at = file_occurred_at(options.file)
        file_format = options.file_format or detect_format(options.file)
        records = read_records(options.file, file_format, options.event_type)
        events = events_from_records(records, options.source, occurred_at)
        if options.full_sync:
            _check_full_sync(events)
    except InputError as error:
        say(err, f"error: {options.file.name}: {error}", style="red")
        return EXIT_USAGE
    except UsageError as error:
        say(err, f"error: {error}", style="red")
        return EXIT_USAGE
    run = _Run(options, occurred_at, file_format, out, err, confirm)
    return asyncio.run(run.run(events))


def _check(options: IngestOptions) -> None:
    if not _SLUG.match(options.source):
        raise UsageError(f"--source {options.source!r} is not a source slug ([a-z0-9-]{{2,64}})")
    url = urlsplit(options.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise UsageError(f"--url {options.url!r} is not an http(s) URL")
    if not options.key.strip():
        raise UsageError("no API key: give --key or set CATALOG_GATEWAY_API_KEY")
    if options.report and not options.report.parent.is_dir():
        raise UsageError(f"--report {options.report}: no such directory")


def _check_full_sync(events: list[Event]) -> None:
    if not events:
        raise UsageError(
            "the file holds no events: a full sync would retire every product of the source"
        )
    if not kinds_in(events):
        types = ", ".join(t.value for t in KINDS_BY_EVENT_TYPE)
        raise UsageError(f"--full-sync needs a file of products ({types} events)")


class _Run:
    """One run against the gateway: send, summarise, full sync, report."""

    def __init__(
        self,
        options: IngestOptions,
        occurred_at: datetime,
        file_format: FileFormat,
        out: Console,
        err: Console,
        confirm: Confirm,
    ) -> None:
        self.options = options
        self.occurred_at = occurred_at
        self.file_format = file_format
        self.out = out
        self.err = err
        self.confirm = confirm

    async def run(self, events: list[Event]) -> int:
        options = self.options
        async with GatewayClient(options.url, options.key) as client:
            try:
                await client.check_source(options.source)
            except KeyRefusedError as error:
                self._error(str(error))
                return EXIT_USAGE
            except GatewayError as error:
                self._error(str(error))
                return EXIT_FAILED
            lanes, aborted = await self._lanes(client, events)
            if aborted is None:
                deliveries, aborted = await self._send(client, events, "sending", lanes)
            else:
                deliveries = [
                    Delivery(e, reply=Reply.failed(f"not sent: {aborted}")) for e in events
                ]
            title = f"{options.file.name} → {options.source}" + (
                " (dry run)" if options.dry_run else ""
            )
            print_summary(self.out, title, deliveries, dry_run=options.dry_run)
            if aborted:
                self._error(aborted)
            synced, sync_report = (
                await self._full_sync(client, deliveries) if options.full_sync else (True, None)
            )
        if options.report:
            self._write_report(deliveries, aborted, sync_report)
        everything_succeeded = all(succeeded(d, dry_run=options.dry_run) for d in deliveries)
        return EXIT_OK if everything_succeeded and synced and not aborted else EXIT_FAILED

    async def _send(
        self,
        client: GatewayClient,
        events: list[Event],
        description: str,
        lanes: list[list[int]] | None = None,
        *,
        dry_run: bool | None = None,
    ) -> tuple[list[Delivery], str | None]:
        with progress_bar(self.err, len(events), description) as advance:
            sender = Sender(
                client,
                self.options.source,
                dry_run=self.options.dry_run if dry_run is None else dry_run,
                concurrency=self.options.concurrency,
                progress=advance,
            )
            deliveries = await sender.send(events, lanes)
        return deliveries, sender.aborted

    async def _lanes(
        self, client: GatewayClient, events: list[Event]
    ) -> tuple[list[list[int]] | None, str | None]:
        """(lanes, None) for sending concurrently without reordering a product's events, or
        (None, why not) when the gateway could not be asked. A dry run needs no lanes (nothing
        is applied, so order does not matter), nor does --concurrency 1 (one lane)."""
        if self.options.dry_run or self.options.concurrency == 1 or len(events) < 2:
            return None if self.options.dry_run else [list(range(len(events)))], None
        named, aborted = await self._send(client, events, "naming", dry_run=True)
        if aborted:
            return None, aborted
        names = [d.reply.answer.names if d.reply and d.reply.answer else None for d in named]
        if all(n is None for n in names):
            say(
                self.err,
                "warning: the gateway does not name events in its dry-run answers (an older "
                "version): sending in file order, one batch at a time",
                style="yellow",
            )
            return [list(range(len(events)))], None
        lanes = lanes_of(
            [event.event_type for event in events],
            [n or [] for n in names],
            self.options.concurrency,
        )
        return lanes, None

    async def _full_sync(
        self, client: GatewayClient, deliveries: list[Delivery]
    ) -> tuple[bool, dict[str, Any]]:
        """Retire the products the file no longer holds: (succeeded, its part of the report)."""
        source, dry_run = self.options.source, self.options.dry_run
        try:
            retirement = await plan_retirement(client, source, deliveries, dry_run=dry_run)
        except GatewayError as error:
            self._error(f"full sync: nothing retired: {error}")
            return False, {"status": "failed", "reason": str(error)}
        if retirement.refused:
            self._error(f"full sync refused: {retirement.refused}")
            return False, {"status": "refused", "reason": retirement.refused}
        products = retirement.products
        listed = [_product_report(product) for product in products]
        if not products:
            say(self.out, f"full sync: every published product of {source} is in the file")
            return True, {"status": "nothing_to_retire", "products": []}
        if dry_run:
            say(self.out, f"full sync (dry run): would retire {_describe(products)}")
            return True, {"status": "would_retire", "products": listed}
        question = (
            f"Retire {_describe(products)} of source {source}, "
            f"which {self.options.file.name} no longer holds?"
        )
        if not self.options.yes and not self.confirm(question):
            self._error("full sync: nothing retired (not confirmed; --yes confirms in advance)")
            return False, {"status": "not_confirmed", "products": listed}
        events = retire_events(products, source, self.occurred_at)
        retired, aborted = await self._send(client, events, "retiring")
        print_summary(self.out, "full sync: retirements", retired, dry_run=False)
        if aborted:
            self._error(aborted)
        report = {
            "status": "retired",
            "products": listed,
            "events": [event_report(delivery) for delivery in retired],
        }
        return all(succeeded(d, dry_run=False) for d in retired) and not aborted, report

    def _write_report(
        self, deliveries: list[Delivery], aborted: str | None, sync: dict[str, Any] | None
    ) -> None:
        options = self.options
        assert options.report is not None
        run = {
            "file": str(options.file),
            "format": self.file_format.value,
            "source": options.source,
            "url": options.url,
            "dry_run": options.dry_run,
            "occurred_at": rfc3339(self.occurred_at),
            "aborted": aborted,
            "full_sync": sync,
        }
        write_json_report(options.report, run, deliveries)
        say(self.err, f"report written to {options.report}")

    def _error(self, message: str) -> None:
        say(self.err, f"error: {message}", style="red")


def _describe(products: list[Product]) -> str:
    """`3 products (MITx+A, MITx+B, MITx+C)`, the first few named."""
    names = ", ".join(product.label for product in products[:SHOWN_PRODUCTS])
    more = f", … {len(products) - SHOWN_PRODUCTS} more" if len(products) > SHOWN_PRODUCTS else ""
    noun = "product" if len(products) == 1 else "products"
    return f"{len(products)} {noun} ({names}{more})"


def _product_report(product: Product) -> dict[str, str]:
    return {"kind": product.kind, "label": product.label, "external_id": product.external_id}
