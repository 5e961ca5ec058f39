"""Every attempt of an event keeps its answer, and the event page shows them, on each database
backend; a run is named by its key in every step of the trace.

The failures are made for real: the service publishes to the reference ecommerce server (the
ecommerce tests' process), which fails on demand.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest

from catalog_gateway.db.engine import Database
from catalog_gateway.errors import ErrorCode
from catalog_gateway.events import log
from catalog_gateway.events.envelope import Envelope
from catalog_gateway.events.models import EventRecord
from catalog_gateway.events.results import (
    EventAnswer,
    EventIssue,
    EventStatus,
    StepRecord,
    StepStatus,
)
from catalog_gateway.events.types import EventType
from catalog_gateway.sources.models import Source
from tests.console import test_pending_prices
from tests.console.conftest import Browser, bootcamp_event
from tests.console.test_find import answer_of
from tests.ecommerce.server import Ecommerce
from tests.gateway.payloads import occurred

# The service publishing to the reference ecommerce server, as the pending prices tests run it.
console_app = test_pending_prices.console_app

RUN_KEY = "course-v1:HarvardX+CODE200+2T2027"
RUN_STEPS = ("course_run.upsert", "seat.upsert", "ecommerce.publish", "course_run.publish")
EVENT = "/events/bootcamps/bc-2"


def attempts(page: str) -> list[tuple[int, str]]:
    """(number, status) of each attempt the event page lists, top to bottom."""
    found = re.findall(r'<li class="attempt" data-attempt="(\d+)" data-status="([a-z_]+)">', page)
    return [(int(number), status) for number, status in found]


def attempt_html(page: str, number: int) -> str:
    """The part of the event page about one attempt."""
    match = re.search(
        rf'<li class="attempt" data-attempt="{number}" [^>]*>(.*?)\n    </li>', page, re.S
    )
    assert match, f"no attempt {number}"
    return match.group(1)


def targets(page: str) -> dict[str, set[str]]:
    """Step name → the targets it shows, over the whole page (every attempt's trace)."""
    shown: dict[str, set[str]] = {}
    for name, target in re.findall(
        r'data-step="([^"]+)"[^>]*>\s*<div class="step-name">.*?'
        r'(?:<span class="step-target">([^<]*)</span>)?\s*</div>',
        page,
        re.S,
    ):
        shown.setdefault(name, set()).add(html.unescape(target))
    return shown


def test_a_failed_event_resumed_twice_shows_every_attempt_with_its_trace(
    admin: Browser, ecommerce: Ecommerce
) -> None:
    ecommerce.fault(status=500)
    first = admin.send(admin.keys.bootcamps, bootcamp_event("bc-2", number="CODE200"))
    assert first.status_code == 502, first.text
    resent = admin.send(admin.keys.bootcamps, bootcamp_event("bc-2", number="CODE200"))
    assert resent.status_code == 502, resent.text
    ecommerce.clear_faults()

    replayed = admin.submit(f"{EVENT}/replay")

    assert replayed.status_code == 303
    page = admin.get(EVENT).text
    assert "Replayed: the event is now applied." in page
    assert '<dt>Attempts</dt><dd><a href="#attempts">3</a></dd>' in page
    assert "Step trace of attempt 3, the latest" in page
    assert "Attempts, newest first" in page
    assert attempts(page) == [(3, "applied"), (2, "failed"), (1, "failed")]
    latest = attempt_html(page, 3)
    assert "Its trace, errors and warnings are above." in latest
    assert "<details" not in latest
    for number in (2, 1):
        earlier = attempt_html(page, number)
        assert f"Step trace of attempt {number}, 1 error" in earlier
        assert ", retryable." in earlier
        assert re.search(r'class="step step-failed" data-step="ecommerce.publish"', earlier)
        assert 'data-step="course_run.publish" data-status="skipped"' in earlier
        assert 'data-code="ecommerce_unavailable"' in earlier
        assert "injected fault: HTTP 500" in earlier
        assert f"of attempt {number}'s <span" in earlier
    assert "<details open>" in attempt_html(page, 2)
    assert "<details>" in attempt_html(page, 1)
    assert 'id="attempts-not-kept"' not in page
    # The API still answers the latest attempt only, in its own shape.
    api = answer_of(admin, "bootcamps", "bc-2")
    assert api["status"] == "applied"
    assert api["attempts"] == 3
    assert "earlier_attempts" not in api


def test_every_step_of_a_run_names_it_by_its_key_even_a_skipped_one(
    admin: Browser, ecommerce: Ecommerce
) -> None:
    ecommerce.fault(status=500)
    failed = admin.send(admin.keys.bootcamps, bootcamp_event("bc-2", number="CODE200"))
    assert failed.status_code == 502, failed.text

    steps = {step["name"]: step for step in failed.json()["steps"]}
    page = admin.get(EVENT).text

    assert steps["course_run.publish"]["status"] == "skipped"
    assert {steps[name]["target"] for name in RUN_STEPS} == {f"course_run:{RUN_KEY}"}
    shown = targets(page)
    assert {name: shown[name] for name in RUN_STEPS} == {
        name: {f"course_run:{RUN_KEY}"} for name in RUN_STEPS
    }
    assert shown["course.upsert"] == {"course:HarvardX+CODE200"}
    assert "cohort-CODE200" not in page.split('id="payloads-title"')[0]


def test_an_event_run_once_lists_no_attempts(admin: Browser) -> None:
    sent = admin.send(admin.keys.bootcamps, bootcamp_event("bc-2", number="CODE200"))
    assert sent.status_code == 200, sent.text

    page = admin.get(EVENT).text

    assert 'id="attempts"' not in page
    assert '<h2 id="trace-title">Step trace</h2>' in page


# --- the event log keeps the attempts -----------------------------------------------------


def _envelope(event_id: str) -> Envelope:
    return Envelope(
        event_id=event_id,
        event_type=EventType.PRODUCT_UPSERT,
        occurred_at=occurred(),
        payload={"course": {"external_id": event_id}},
    )


def _failed(envelope: Envelope, attempt: int) -> EventAnswer:
    return EventAnswer(
        event_id=envelope.event_id,
        event_type=envelope.event_type.value,
        source="bootcamps",
        status=EventStatus.FAILED,
        retryable=True,
        duration_ms=float(attempt),
        steps=[StepRecord(name="ecommerce.publish", status=StepStatus.FAILED)],
        errors=[
            EventIssue(
                code=ErrorCode.ECOMMERCE_UNAVAILABLE,
                message=f"down at attempt {attempt}",
                step="ecommerce.publish",
            )
        ],
    )


def _attempt(
    database: Database, envelope: Envelope, answer: EventAnswer | None
) -> tuple[int, log.Claim]:
    """Claim the event and store `answer` (None: left in progress), as the engine does."""
    digest = log.payload_hash(envelope.event_type.value, envelope.payload)
    with database.unit_of_work() as session:
        source_id = session.query(Source.id).filter(Source.slug == "bootcamps").scalar()
        records = log.records_of(session, source_id, [envelope.event_id])
        claim = log.claim(records, envelope, digest, timedelta(minutes=5))
        assert claim.kind in (log.ClaimKind.NEW, log.ClaimKind.RESUME)
        ids = log.save(session, source_id, [log.Entry(envelope, digest, claim, answer, None)])
    return ids[envelope.event_id], claim


def _record(database: Database, event_id: str) -> dict[str, Any]:
    with database.read() as session:
        record = session.query(EventRecord).filter(EventRecord.event_id == event_id).one()
        return {
            "status": record.status,
            "attempts": record.attempts,
            "errors": record.errors,
            "steps": record.steps,
            "duration_ms": record.duration_ms,
            "earlier": record.earlier_attempts,
        }


def test_a_record_keeps_its_last_earlier_attempts_only(admin: Browser, database: Database) -> None:
    envelope = _envelope("ev-many")
    runs = log.MAX_EARLIER_ATTEMPTS + 3
    for attempt in range(1, runs + 1):
        _attempt(database, envelope, _failed(envelope, attempt))

    record = _record(database, "ev-many")
    page = admin.get("/events/bootcamps/ev-many").text

    assert record["attempts"] == runs
    assert [item["attempt"] for item in record["earlier"]] == list(range(3, runs))
    assert [item["errors"][0]["message"] for item in record["earlier"]] == [
        f"down at attempt {n}" for n in range(3, runs)
    ]
    assert {item["status"] for item in record["earlier"]} == {"failed"}
    assert attempts(page) == [(n, "failed") for n in range(runs, 2, -1)]
    assert "The answers of attempts 1\N{EN DASH}2 were not kept" in page


def test_an_attempt_left_in_progress_is_listed_as_such(
    database: Database, admin: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    envelope = _envelope("ev-left")
    _attempt(database, envelope, None)
    with database.unit_of_work() as session:
        record = session.query(EventRecord).filter(EventRecord.event_id == "ev-left").one()
        record.updated_at -= timedelta(hours=1)  # older than the lease: abandoned
    _attempt(database, envelope, _failed(envelope, 2))

    page = admin.get("/events/bootcamps/ev-left").text

    assert attempts(page) == [(2, "failed"), (1, "in_progress")]
    assert "Left in progress (its process stopped)" in attempt_html(page, 1)
    assert "No steps ran in this attempt." in attempt_html(page, 1)
