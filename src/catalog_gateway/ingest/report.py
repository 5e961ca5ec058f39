"""What a run tells its user: the progress bar, the summary table, the JSON report."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich import progress as bar
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from catalog_gateway.events.results import EventStatus
from catalog_gateway.ingest.answers import DRY_RUN_SUCCESS, SUCCESS
from catalog_gateway.ingest.identity import rfc3339
from catalog_gateway.ingest.sender import Delivery, Progress

STATUSES = [s.value for s in EventStatus if s is not EventStatus.IN_PROGRESS]
ERRORS_SHOWN = 10


@dataclass(frozen=True, slots=True)
class Problem:
    """One error of one event, located in the file."""

    where: str
    status: str
    event_id: str
    code: str
    source_path: str | None
    message: str


def say(console: Console, text: str, style: str | None = None) -> None:
    """Print a line as is: no markup, no highlighting, never wrapped (logs stay greppable)."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def succeeded(delivery: Delivery, *, dry_run: bool) -> bool:
    """Applied or unchanged (planned, for a dry run)."""
    good = DRY_RUN_SUCCESS if dry_run else SUCCESS
    return delivery.reply is not None and delivery.reply.status in good


def problems(deliveries: list[Delivery], *, dry_run: bool) -> Iterator[Problem]:
    """Every error of every event that did not succeed, in file order."""
    for delivery in deliveries:
        reply = delivery.reply
        if reply is None or succeeded(delivery, dry_run=dry_run):
            continue
        event = delivery.event
        if reply.answer is None or not reply.answer.errors:
            reason = reply.failure or f"answered {reply.status} without an error"
            yield Problem(event.where, reply.status, event.event_id, "-", None, reason)
            continue
        for issue in reply.answer.errors:
            yield Problem(
                event.locate(issue.source_path),
                reply.status,
                event.event_id,
                issue.code,
                issue.source_path,
                issue.message,
            )


@contextmanager
def progress_bar(console: Console, total: int, description: str) -> Iterator[Progress]:
    """A progress bar on a terminal (events done/total, rate); elsewhere (a log, a CI job) a
    line every `PROGRESS_EVERY` seconds, and one at the end."""
    if total == 0:
        yield lambda _done: None
        return
    if not console.is_terminal:
        lines = _ProgressLines(console, total, description)
        yield lines.advance
        lines.finish()
        return
    with bar.Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        _EventRateColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.advance(task, done)


PROGRESS_EVERY = 10.0  # seconds between progress lines when not on a terminal


class _ProgressLines:
    """`sending: 1200/5000 events (24%), 180/s`, every few seconds."""

    def __init__(self, console: Console, total: int, description: str) -> None:
        self.console, self.total, self.description = console, total, description
        self.done = 0
        self.started = self.said = time.monotonic()

    def advance(self, done: int) -> None:
        self.done += done
        if time.monotonic() - self.said >= PROGRESS_EVERY and self.done < self.total:
            self._say()

    def finish(self) -> None:
        if self.done:
            self._say()

    def _say(self) -> None:
        now = time.monotonic()
        self.said = now
        rate = self.done / (now - self.started) if now > self.started else 0.0
        share = self.done * 100 // self.total
        say(
            self.console,
            f"{self.description}: {self.done}/{self.total} events ({share}%), {rate:,.0f}/s",
        )


class _EventRateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")


def print_summary(
    console: Console, title: str, deliveries: list[Delivery], *, dry_run: bool
) -> None:
    """Counts per status, then the first errors with where they are in the file."""
    counts = Counter(d.reply.status for d in deliveries if d.reply)
    say(console, title, style="bold")
    table = Table()
    table.add_column("status")
    table.add_column("events", justify="right")
    for status in [*STATUSES, *sorted(set(counts) - set(STATUSES))]:
        table.add_row(status, str(counts[status]))
    table.add_row("total", str(len(deliveries)), style="bold")
    console.print(table)
    found = list(problems(deliveries, dry_run=dry_run))
    if not found:
        return
    say(console, f"errors ({len(found)}):", style="bold")
    for problem in found[:ERRORS_SHOWN]:
        path = f" {problem.source_path}" if problem.source_path else ""
        say(
            console, f"  {problem.where} [{problem.status}]{path} {problem.code}: {problem.message}"
        )
    if len(found) > ERRORS_SHOWN:
        say(console, f"  … and {len(found) - ERRORS_SHOWN} more (all of them: --report FILE)")


def event_report(delivery: Delivery) -> dict[str, Any]:
    """One event in the JSON report."""
    event = delivery.event
    reply = delivery.reply
    details = reply.report() if reply else {}
    for issue in details.get("errors", []):
        issue["where"] = event.locate(issue["source_path"])
    return {
        "where": event.where,
        "event_id": event.event_id,
        "event_type": event.event_type.value,
        **details,
    }


def write_report(path: Path, run: dict[str, Any], deliveries: list[Delivery]) -> None:
    """The full JSON report: the run, a count per status, every event."""
    counts = Counter(d.reply.status for d in deliveries if d.reply)
    document = {
        **run,
        "written_at": rfc3339(datetime.now(UTC)),
        "summary": {status: counts[status] for status in sorted({*STATUSES, *counts})},
        "events": [event_report(delivery) for delivery in deliveries],
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
