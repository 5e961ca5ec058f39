"""Batches while the ecommerce breaker is open (3 failures open it for 1 s): an event that would
publish is refused alone, answered `failed`, `downstream_unavailable`, retryable, with nothing
of it written or stored; the batch's other events are answered as usual. A single event is
still answered 503 `downstream_unavailable` (test_breaker.py)."""

from __future__ import annotations

import time
from typing import Any

from catalog_gateway.events.envelope import Envelope
from catalog_gateway.gateway.engine import ErrorPolicy, commit_together, prepare_events
from catalog_gateway.gateway.service import EventGateway
from tests.ecommerce.conftest import BREAKER_RESET_SECONDS
from tests.ecommerce.payloads import course_payload, envelope, product_payload
from tests.ecommerce.server import Ecommerce
from tests.ecommerce.support import Gateway, runs_by_key
from tests.ecommerce.test_breaker import trip_the_breaker
from tests.factories import bearer


def _product(n: int) -> dict[str, Any]:
    return envelope(f"evt-p{n}", product_payload(number=f"DS20{n}", external_id=f"xe-720{n}"))


def _course_only(n: int) -> dict[str, Any]:
    """An event that publishes nothing: a course without runs."""
    payload = {"course": course_payload(number=f"DS30{n}", external_id=f"xe-730{n}")}
    return envelope(f"evt-c{n}", payload, event_type="course.upsert")


def _batch(gateway: Gateway, events: list[dict[str, Any]], policy: str) -> list[dict[str, Any]]:
    response = gateway.client.post(
        "/api/v1/events/batch",
        json={"events": events, "error_policy": policy},
        headers=bearer(gateway.api_key),
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def _assert_refused(answer: dict[str, Any]) -> None:
    assert (answer["status"], answer["retryable"]) == ("failed", True)
    assert [(e["code"], e["step"]) for e in answer["errors"]] == [
        ("downstream_unavailable", "ecommerce.publish")
    ]
    assert "nothing of this event was changed" in answer["errors"][0]["message"]
    ran = [s for s in answer["steps"] if s["name"] not in ("transform", "validate")]
    assert ran, answer
    assert {s["status"] for s in ran} == {"skipped"}


def test_an_independent_batch_refuses_only_the_events_that_publish_while_the_breaker_is_open(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    trip_the_breaker(gateway, ecommerce)
    events = [_product(1), _course_only(1), _product(2)]

    results = _batch(gateway, events, "independent")

    assert [r["event_id"] for r in results] == ["evt-p1", "evt-c1", "evt-p2"]
    _assert_refused(results[0])
    assert results[1]["status"] == "applied"
    _assert_refused(results[2])
    # Nothing of the refused events was written, nor stored: sending them again starts afresh.
    assert gateway.course("MITx+DS201") is None
    assert gateway.course("MITx+DS202") is None
    assert gateway.course("MITx+DS301") is not None
    assert gateway.event("evt-p1").status_code == 404

    ecommerce.clear_faults()
    time.sleep(BREAKER_RESET_SECONDS + 0.2)
    again = _batch(gateway, events, "independent")

    assert [r["status"] for r in again] == ["applied", "applied", "applied"]
    assert again[1]["replayed"] is True
    course = gateway.course("MITx+DS202")
    assert course is not None
    assert {run["status"] for run in runs_by_key(course).values()} == {"published"}


def test_an_all_or_nothing_batch_is_aborted_retryably_while_the_breaker_is_open(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    trip_the_breaker(gateway, ecommerce)
    events = [_course_only(1), _product(1), _product(2)]

    results = _batch(gateway, events, "all_or_nothing")

    # Applied dependency-first: the course, then the first product, which is refused.
    _assert_refused(results[1])
    for aborted in (results[0], results[2]):
        assert aborted["status"] == "rejected"
        assert [e["code"] for e in aborted["errors"]] == ["batch_aborted"]
    assert [r["retryable"] for r in results] == [True, True, True]
    assert gateway.course("MITx+DS301") is None
    assert gateway.event("evt-c1").status_code == 404


def test_an_event_refused_by_the_breaker_does_not_fail_other_requests_committed_with_it(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    """Requests of one source committed together (the writer lane's group commit)."""
    trip_the_breaker(gateway, ecommerce)
    service: EventGateway = gateway.client.app.state.gateway  # type: ignore[attr-defined]
    source = service.profile_by_slug("exec-ed")
    publishing = prepare_events(service, source, [_envelope(_product(1))])
    plain = prepare_events(service, source, [_envelope(_course_only(1))], ErrorPolicy.INDEPENDENT)

    shares = commit_together([publishing, plain])

    refused, applied = (share.finish() for share in shares)
    assert refused[0].retry_after is not None
    assert refused[0].answer.errors[0].code == "downstream_unavailable"
    assert applied[0].answer.status == "applied"
    assert applied[0].retry_after is None
    assert gateway.course("MITx+DS301") is not None


def _envelope(event: dict[str, Any]) -> Envelope:
    return Envelope.model_validate(event)
