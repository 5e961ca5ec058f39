"""The ecommerce breaker opening in the middle of a batch: the real fault is the reference
ecommerce server (a process of its own) answering 503 to publications, until the gateway's
circuit breaker (threshold 2) opens while a batch of product upserts is being published; and a
batch sent while that breaker is open. A real `catalog-gateway serve` process on SQLite; nothing
is monkeypatched.

It proves that an open breaker never turns a batch into a 500, a whole-request refusal or a lost
answer: the batch is answered 200 with one answer per event, each `failed` and retryable
(`downstream_unavailable` once the breaker is open), ecommerce is called no more than the
breaker allows, what was committed stays committed (runs unpublished), and the same batch sent
once the breaker has reset is applied whole.

How many publication calls ecommerce received is read from ecommerce itself: it fails exactly
the first `BREAKER_FAILURES` calls (`count`) and would store the products of any later one, so
"nothing stored" means no call past the threshold reached it, and the breaker having opened
means the threshold's calls did.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from catalog_gateway.catalog.models import RunStatus
from tests.ecommerce.server import Ecommerce
from tests.factories import bearer
from tests.faults.conftest import (
    FreshDatabase,
    GatewayProcess,
    expected_counts,
    product_event,
    record_statuses,
    row_counts,
    run_keys,
    run_statuses,
    server_env,
)

BREAKER_FAILURES = 2
BREAKER_RESET_SECONDS = 3
BATCH = 10
OPEN = "downstream_unavailable"  # refused by the open breaker, ecommerce not called
CALL_FAILED = "ecommerce_unavailable"  # ecommerce was called and answered 503
UNPUBLISHED = str(RunStatus.UNPUBLISHED)
PUBLISHED = str(RunStatus.PUBLISHED)


@dataclass
class Deployment:
    """A server process on a fresh SQLite database, and the ecommerce server it publishes to."""

    url: str
    fresh: FreshDatabase
    ecommerce: Ecommerce
    http: httpx.Client

    def batch(self, events: list[dict[str, Any]], policy: str) -> httpx.Response:
        return self.http.post(
            f"{self.url}/api/v1/events/batch",
            json={"events": events, "error_policy": policy},
            headers=bearer(self.fresh.api_key),
        )

    def event(self, event: dict[str, Any]) -> httpx.Response:
        return self.http.post(
            f"{self.url}/api/v1/events", json=event, headers=bearer(self.fresh.api_key)
        )

    def ecommerce_calls(self) -> float:
        """The publication calls the gateway counts having made (its own metrics)."""
        response = self.http.get(f"{self.url}/metrics")
        assert response.status_code == 200, response.text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in response.text.splitlines()
            if line.startswith("catalog_gateway_downstream_calls_total{")
            and 'system="ecommerce"' in line
        )

    def stored_runs(self) -> set[str]:
        """The runs ecommerce stores, as its `--data` file holds them."""
        assert self.ecommerce.data_path is not None
        return set(json.loads(self.ecommerce.data_path.read_text()))


@pytest.fixture
def deployment(
    make_database: Callable[[str], FreshDatabase],
    ecommerce: Ecommerce,
    gateway_process: Callable[..., GatewayProcess],
) -> Iterator[Deployment]:
    fresh = make_database("sqlite")
    server = gateway_process(
        server_env(
            fresh.url,
            ecommerce.url,
            ecommerce_breaker_failures=BREAKER_FAILURES,
            ecommerce_breaker_reset_seconds=BREAKER_RESET_SECONDS,
            ecommerce_budget_seconds=3,
            ecommerce_connect_timeout=1,
            ecommerce_read_timeout=1,
        )
    )
    url = server.start()
    with httpx.Client(timeout=60) as http:
        yield Deployment(url, fresh, ecommerce, http)


def _codes(answer: dict[str, Any]) -> list[str]:
    return [error["code"] for error in answer["errors"]]


def _described(answers: list[dict[str, Any]]) -> list[tuple[str, str, bool, list[str]]]:
    return [(a["event_id"], a["status"], a["retryable"], _codes(a)) for a in answers]


@pytest.mark.parametrize("policy", ["independent", "all_or_nothing"])
def test_the_breaker_opening_mid_batch_fails_the_rest_retryably_and_a_resend_applies_them(
    deployment: Deployment, policy: str
) -> None:
    """Ecommerce fails the first two publications: the first event's first run is tried (and
    retried) until the breaker opens; every later publication of the batch is refused by the
    open breaker without a call. Every event is answered, `failed` and retryable; the catalog
    transaction had committed before the publications, so the courses are there, their runs
    unpublished. Once the breaker has reset, the same batch is applied whole."""
    events = [product_event("B", index) for index in range(BATCH)]
    deployment.ecommerce.fault(status=503, count=BREAKER_FAILURES)

    response = deployment.batch(events, policy)
    opened = time.monotonic()

    assert response.status_code == 200, response.text[:2000]
    answers = response.json()["results"]
    described = _described(answers)
    assert [a["event_id"] for a in answers] == [e["event_id"] for e in events]
    assert [(a["status"], a["retryable"]) for a in answers] == [("failed", True)] * BATCH, described
    # The first event's first run was tried; its second run, and every later event's runs,
    # were refused by the open breaker.
    first, *later = answers
    assert _codes(first)[0] == CALL_FAILED, described
    assert set(_codes(first)) <= {CALL_FAILED, OPEN}, described
    for answer in later:
        assert _codes(answer), described
        assert set(_codes(answer)) == {OPEN}, described
    assert response.json()["summary"]["failed"] == BATCH

    # Ecommerce got exactly the threshold's calls (a later one would have stored products).
    assert deployment.stored_runs() == set()
    assert deployment.ecommerce_calls() == BREAKER_FAILURES
    # The catalog writes were committed; no run was published; every event may be resumed.
    fresh = deployment.fresh
    assert row_counts(fresh.database, fresh.source_id) == expected_counts([2] * BATCH)
    assert set(run_statuses(fresh.database, fresh.source_id).values()) == {UNPUBLISHED}
    assert set(record_statuses(fresh.database, fresh.source_id).values()) == {"failed"}

    # Ecommerce is healthy again; once the breaker lets a probe through, the batch is applied.
    deployment.ecommerce.clear_faults()
    time.sleep(max(0.0, opened + BREAKER_RESET_SECONDS + 0.2 - time.monotonic()))
    resent = deployment.batch(events, policy)

    assert resent.status_code == 200, resent.text[:2000]
    answers = resent.json()["results"]
    assert [(a["status"], a["errors"]) for a in answers] == [("applied", [])] * BATCH, _described(
        answers
    )
    assert row_counts(fresh.database, fresh.source_id) == expected_counts([2] * BATCH)
    assert set(run_statuses(fresh.database, fresh.source_id).values()) == {PUBLISHED}
    assert set(record_statuses(fresh.database, fresh.source_id).values()) == {"applied"}
    expected_runs = {key for index in range(BATCH) for key in run_keys("B", index)}
    assert deployment.stored_runs() == expected_runs
    assert deployment.ecommerce_calls() == BREAKER_FAILURES + len(expected_runs)


def _open_the_breaker(deployment: Deployment) -> float:
    """Trip the breaker with one event whose publication fails `BREAKER_FAILURES` times; when
    it opened (monotonic)."""
    deployment.ecommerce.fault(status=503, count=BREAKER_FAILURES)
    tripped = deployment.event(product_event("T", 0, runs=1))
    opened = time.monotonic()
    assert tripped.status_code == 502, tripped.text
    assert _codes(tripped.json()) == [CALL_FAILED], tripped.text
    assert deployment.ecommerce_calls() == BREAKER_FAILURES
    return opened


def test_an_independent_batch_sent_while_the_breaker_is_open_is_answered_per_event(
    deployment: Deployment,
) -> None:
    """A batch that arrives while the breaker is open: every event is answered (200, one answer
    each, in order), `failed`, retryable, `downstream_unavailable`; ecommerce is not called and
    none of the batch's products is written (nothing published with prices ecommerce lacks)."""
    opened = _open_the_breaker(deployment)
    events = [product_event("O", index) for index in range(5)]

    response = deployment.batch(events, "independent")

    assert time.monotonic() - opened < BREAKER_RESET_SECONDS, "too slow: the breaker had reset"
    assert response.status_code == 200, (response.status_code, response.text[:2000])
    answers = response.json()["results"]
    assert [a["event_id"] for a in answers] == [e["event_id"] for e in events]
    assert [(a["status"], a["retryable"], set(_codes(a))) for a in answers] == [
        ("failed", True, {OPEN})
    ] * len(events), _described(answers)
    assert deployment.ecommerce_calls() == BREAKER_FAILURES
    fresh = deployment.fresh
    assert row_counts(fresh.database, fresh.source_id) == expected_counts([1])  # the trip's


def test_an_all_or_nothing_batch_sent_while_the_breaker_is_open_is_answered_per_event(
    deployment: Deployment,
) -> None:
    """An all_or_nothing batch that arrives while the breaker is open: 200 with one answer per
    event; the first event (the culprit) `failed`, retryable, `downstream_unavailable`, every
    other `batch_aborted`, retryable too (sending the batch again after Retry-After may apply
    it); nothing of the batch is written and ecommerce is not called."""
    opened = _open_the_breaker(deployment)
    events = [product_event("A", index) for index in range(5)]

    response = deployment.batch(events, "all_or_nothing")

    assert time.monotonic() - opened < BREAKER_RESET_SECONDS, "too slow: the breaker had reset"
    assert response.status_code == 200, (response.status_code, response.text[:2000])
    answers = response.json()["results"]
    assert [a["event_id"] for a in answers] == [e["event_id"] for e in events]
    culprit, *aborted = answers
    assert (culprit["status"], culprit["retryable"], _codes(culprit)) == ("failed", True, [OPEN])
    assert [(a["status"], a["retryable"], _codes(a)) for a in aborted] == [
        ("rejected", True, ["batch_aborted"])
    ] * len(aborted), _described(answers)
    assert deployment.ecommerce_calls() == BREAKER_FAILURES
    fresh = deployment.fresh
    assert row_counts(fresh.database, fresh.source_id) == expected_counts([1])  # the trip's
    assert set(record_statuses(fresh.database, fresh.source_id)) == {"evt-t-0"}
