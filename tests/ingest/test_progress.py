"""Progress where no one watches a bar: on a terminal `ingest` draws a progress bar; elsewhere
(a log file, a CI job) it prints a line every few seconds, and one when it is done."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from catalog_gateway.ingest import report
from catalog_gateway.ingest.report import progress_bar


def plain_console() -> tuple[Console, io.StringIO]:
    written = io.StringIO()
    return Console(file=written, force_terminal=False, width=200), written


def test_off_a_terminal_progress_is_a_line_every_few_seconds_and_one_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    console, written = plain_console()
    # started; each advance reads the clock, and each line it prints reads it again
    clock = iter([0.0, 5.0, 11.0, 12.0, 20.0, 30.0])
    monkeypatch.setattr(report.time, "monotonic", lambda: next(clock))

    with progress_bar(console, 400, "sending") as advance:
        advance(100)  # at 5 s: too soon for a line
        advance(100)  # at 11 s: a line
        advance(200)  # at 20 s: done; the last line (at 30 s) says so

    lines = written.getvalue().splitlines()
    assert lines == [
        "sending: 200/400 events (50%), 17/s",
        "sending: 400/400 events (100%), 13/s",
    ]


def test_nothing_to_send_prints_nothing() -> None:
    console, written = plain_console()

    with progress_bar(console, 0, "sending") as advance:
        advance(0)

    assert written.getvalue() == ""
