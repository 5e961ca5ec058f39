"""The ecommerce circuit breaker (3 consecutive failures open it for 1 s), seen over HTTP."""

from __future__ import annotations

import time
from typing import Any

from tests.ecommerce.conftest import BREAKER_RESET_SECONDS
from tests.ecommerce.payloads import COURSE_KEY, RUN_KEYS, course_payload, envelope, product_payload
from tests.ecommerce.server import Ecommerce
from tests.ecommerce.support import Gateway, runs_by_key, steps_named

PROBLEM_JSON = "application/problem+json"
OTHER_COURSE_KEY = "MITx+DS102"


def other_product() -> dict[str, Any]:
    """A second product of the same source (course MITx+DS102)."""
    return product_payload(number="DS102", external_id="xe-7002")


def other_run_keys() -> list[str]:
    return [key.replace("DS101", "DS102") for key in RUN_KEYS]


def trip_the_breaker(gateway: Gateway, ecommerce: Ecommerce) -> dict[str, Any]:
    """Ecommerce fails for good; one product event opens the breaker. Its answer."""
    ecommerce.fault(status=500)
    response = gateway.send(envelope("evt-trip", product_payload()))
    assert response.status_code == 502, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_the_breaker_opens_refuses_publishing_events_and_closes_after_a_probe(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    started = time.monotonic()
    answer = trip_the_breaker(gateway, ecommerce)
    elapsed = time.monotonic() - started

    # The event during which the breaker opens is still answered 502 failed, retryable.
    assert answer["status"] == "failed"
    assert answer["retryable"] is True
    assert answer["errors"][0]["code"] == "ecommerce_unavailable"
    assert "injected fault: HTTP 500" in answer["errors"][0]["detail"]
    # It stopped retrying when the breaker opened instead of spending the whole budget.
    assert elapsed < 2.5

    refused = gateway.send(envelope("evt-other", other_product()))

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    problem = refused.json()
    assert problem["code"] == "downstream_unavailable"
    assert problem["status"] == 503
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= BREAKER_RESET_SECONDS + 1
    # Nothing changed: no course, no event record, nothing sent to ecommerce.
    assert gateway.course(OTHER_COURSE_KEY) is None
    assert gateway.event("evt-other").status_code == 404
    for run_key in other_run_keys():
        assert ecommerce.products(run_key) == []

    ecommerce.clear_faults()
    time.sleep(max(retry_after, BREAKER_RESET_SECONDS) + 0.2)

    # Half-open: the probe succeeds, the event applies.
    response = gateway.send(envelope("evt-other", other_product()))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    course = gateway.course(OTHER_COURSE_KEY)
    assert course is not None
    assert [run["status"] for run in course["course_runs"]] == ["published"] * 2

    # Closed again: the event that tripped it resumes at once, and more failures are
    # retried within an event instead of being refused.
    response = gateway.send(envelope("evt-trip", product_payload()))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    assert gateway.event("evt-trip").json()["attempts"] == 2
    ecommerce.fault(status=500, count=2)
    response = gateway.send(envelope("evt-3", product_payload(prices=("3000.00", "3000.00"))))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"


def test_an_event_that_publishes_nothing_is_not_refused_while_the_breaker_is_open(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    trip_the_breaker(gateway, ecommerce)
    assert gateway.send(envelope("evt-probe", other_product())).status_code == 503

    response = gateway.send(
        envelope(
            "evt-course",
            {"course": course_payload(number="DS103", external_id="xe-7003")},
            event_type="course.upsert",
        )
    )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied"
    assert steps_named(answer, "ecommerce.publish") == []
    assert gateway.course("MITx+DS103") is not None


def test_a_refused_resend_of_a_failed_event_keeps_it_resumable(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    trip_the_breaker(gateway, ecommerce)

    refused = gateway.send(envelope("evt-trip", product_payload()))

    assert refused.status_code == 503, refused.text
    record = gateway.event("evt-trip").json()
    assert (record["status"], record["retryable"]) == ("failed", True)
    ecommerce.clear_faults()
    time.sleep(BREAKER_RESET_SECONDS + 0.2)
    response = gateway.send(envelope("evt-trip", product_payload()))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    course = gateway.course(COURSE_KEY)
    assert course is not None
    assert {run["status"] for run in runs_by_key(course).values()} == {"published"}


def test_rejected_data_does_not_open_the_breaker(gateway: Gateway, ecommerce: Ecommerce) -> None:
    """A 400 is ecommerce working and refusing one product's data; it must not stop every
    other product from being published (issue 4: 4xx = `ecommerce_rejected`, not an outage)."""
    # Ecommerce refuses both runs of MITx+DS101, sent twice: 4 rejections in a row.
    ecommerce.fault(status=400, run_keys=list(RUN_KEYS))
    for index in range(2):
        response = gateway.send(envelope(f"evt-bad-{index}", product_payload(), minutes=index))
        assert response.status_code == 502, response.text
        assert response.json()["errors"][0]["code"] == "ecommerce_rejected"

    response = gateway.send(envelope("evt-other", other_product()))

    assert response.status_code == 200, (
        f"a healthy ecommerce that rejected another product's data refused this one: "
        f"{response.status_code} {response.text}"
    )
    assert response.json()["status"] == "applied"
    course = gateway.course(OTHER_COURSE_KEY)
    assert course is not None
    assert [run["status"] for run in course["course_runs"]] == ["published"] * 2
