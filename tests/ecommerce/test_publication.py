"""The `ecommerce.publish` step against the reference ecommerce server running as a real process:
success and SKU write-back, idempotent re-publication, retries honouring Retry-After, failures
that keep the catalog data and leave the runs unpublished, and resume."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from catalog_gateway.catalog.models import CourseRun
from catalog_gateway.catalog.vocabulary import load_vocabulary
from catalog_gateway.db.engine import Database
from catalog_gateway.gateway.publication import publication_body
from tests.ecommerce.conftest import BUDGET_SECONDS, GatewayFactory
from tests.ecommerce.payloads import (
    COURSE_KEY,
    ENTITLEMENT_PRICE,
    RUN_ENDS,
    RUN_KEYS,
    SEAT_PRICES,
    SEAT_TYPE,
    UPGRADE_DEADLINE_RUN_0,
    envelope,
    product_payload,
)
from tests.ecommerce.server import Ecommerce, attribute, by_class
from tests.ecommerce.support import (
    Gateway,
    runs_by_key,
    steps_named,
)

CATALOG_STEPS = ("instructor.upsert", "course.upsert", "course_run.upsert", "seat.upsert")
# No breaker in the way: these tests look at one event's own retries and budget.
NO_BREAKER = {"ecommerce_breaker_failures": 1000}
ENTITLEMENT = "Course Entitlement"


def send_applied(gateway: Gateway, event_id: str = "evt-1", **kwargs: Any) -> dict[str, Any]:
    """Send the product and insist that it applied."""
    response = gateway.send(envelope(event_id, product_payload(**kwargs)))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["status"] == "applied", answer
    return answer


def seat_skus(course: dict[str, Any]) -> dict[str, str | None]:
    """Run key → the SKU of its (only) seat, as the catalog shows it."""
    skus = {}
    for key, run in runs_by_key(course).items():
        assert len(run["seats"]) == 1, run["seats"]
        skus[key] = run["seats"][0]["sku"]
    return skus


def server_seat(ecommerce: Ecommerce, run_key: str) -> dict[str, Any]:
    """The one Seat product the server stores for a run."""
    seats = by_class(ecommerce.products(run_key), "Seat")
    assert len(seats) == 1, f"{run_key}: {len(seats)} Seat products on the server: {seats}"
    return seats[0]


def assert_one_product_per_seat(ecommerce: Ecommerce) -> None:
    """Each run has exactly one Seat product and one Course Entitlement product on the server."""
    for run_key in RUN_KEYS:
        products = ecommerce.products(run_key)
        classes = sorted(p["product_class"] for p in products)
        assert classes == ["Course Entitlement", "Seat"], f"{run_key}: {products}"


def assert_published_with_server_skus(gateway: Gateway, ecommerce: Ecommerce) -> None:
    """Every run is published and its seat carries the SKU ecommerce gave it."""
    course = gateway.course()
    assert course is not None
    runs = runs_by_key(course)
    assert sorted(runs) == sorted(RUN_KEYS)
    for run_key, sku in seat_skus(course).items():
        assert runs[run_key]["status"] == "published"
        assert sku is not None
        assert sku == server_seat(ecommerce, run_key)["partner_sku"]


def test_success_stores_the_skus_and_publishes_the_runs(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    answer = send_applied(gateway)

    assert answer["retryable"] is False
    assert answer["errors"] == []
    publish_steps = steps_named(answer, "ecommerce.publish")
    assert [(s["status"], s["system"], s["target"]) for s in publish_steps] == [
        ("ok", "ecommerce", f"course_run:{run_key}") for run_key in RUN_KEYS
    ]
    assert [s["status"] for s in steps_named(answer, "course_run.publish")] == ["ok", "ok"]

    course = gateway.course()
    assert course is not None
    for run_key, run in runs_by_key(course).items():
        assert run["status"] == "published"
        seat = run["seats"][0]
        assert seat["sku"] is not None
        assert seat["sku"] == server_seat(ecommerce, run_key)["partner_sku"]
    assert course["entitlement"]["sku"] is not None
    assert_one_product_per_seat(ecommerce)


def test_the_course_entitlement_is_one_product_with_one_sku(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    """The entitlement is the course's product: every run's publication carries it, and
    ecommerce must answer the same SKU for it each time, the one the catalog stores."""
    send_applied(gateway)

    course = gateway.course()
    assert course is not None
    stored_sku = course["entitlement"]["sku"]
    server_skus = {
        run_key: [p["partner_sku"] for p in by_class(ecommerce.products(run_key), ENTITLEMENT)]
        for run_key in RUN_KEYS
    }
    assert server_skus == {run_key: [stored_sku] for run_key in RUN_KEYS}


def test_the_publication_body_the_server_stored(
    gateway: Gateway, ecommerce: Ecommerce, database: Database
) -> None:
    send_applied(gateway)
    course = gateway.course()
    assert course is not None

    for index, run_key in enumerate(RUN_KEYS):
        stored = ecommerce.stored_run(run_key)
        assert stored["id"] == run_key
        assert stored["uuid"] == course["uuid"]
        assert stored["name"] == "Data Science for Leaders"
        assert datetime.fromisoformat(stored["verification_deadline"]) == datetime.fromisoformat(
            RUN_ENDS[index]
        )
        seat = server_seat(ecommerce, run_key)
        assert seat["price"] == SEAT_PRICES[index]
        assert attribute(seat, "certificate_type") == SEAT_TYPE
        assert attribute(seat, "id_verification_required") is False
        expected_expiry = UPGRADE_DEADLINE_RUN_0 if index == 0 else None
        assert (datetime.fromisoformat(seat["expires"]) if seat["expires"] else None) == (
            datetime.fromisoformat(expected_expiry) if expected_expiry else None
        )
        (entitlement,) = by_class(stored["products"], ENTITLEMENT)
        assert entitlement["price"] == ENTITLEMENT_PRICE
        assert attribute(entitlement, "certificate_type") == SEAT_TYPE

    # What the gateway sends: prices as decimal strings, not numbers.
    with database.read() as session:
        paid = load_vocabulary(session).paid_seat_types
        run = session.scalar(select(CourseRun).where(CourseRun.key == RUN_KEYS[0]))
        assert run is not None
        body = publication_body(run, paid)
    assert body["id"] == RUN_KEYS[0]
    assert body["uuid"] == course["uuid"]
    prices = [product["price"] for product in body["products"]]
    assert prices == [SEAT_PRICES[0], ENTITLEMENT_PRICE]
    assert all(isinstance(price, str) for price in prices)


def test_sending_the_same_product_again_changes_nothing(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    send_applied(gateway)
    course = gateway.course()
    assert course is not None
    skus_before = seat_skus(course)
    entitlement_before = course["entitlement"]["sku"]

    response = gateway.send(envelope("evt-2", product_payload(), minutes=5))

    assert response.status_code == 200, response.text
    course = gateway.course()
    assert course is not None
    assert seat_skus(course) == skus_before
    assert_one_product_per_seat(ecommerce)
    answer = response.json()
    assert [s["action"] for s in steps_named(answer, "ecommerce.publish")] == [
        "unchanged",
        "unchanged",
    ], steps_named(answer, "ecommerce.publish")
    assert course["entitlement"]["sku"] == entitlement_before
    assert answer["status"] == "unchanged"


def test_a_price_change_is_republished_under_the_same_sku(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    send_applied(gateway)
    sku_before = server_seat(ecommerce, RUN_KEYS[0])["partner_sku"]

    response = gateway.send(
        envelope("evt-2", product_payload(prices=("3100.00", SEAT_PRICES[1])), minutes=5)
    )

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    seat = server_seat(ecommerce, RUN_KEYS[0])
    assert seat["price"] == "3100.00"
    assert seat["partner_sku"] == sku_before
    course = gateway.course()
    assert course is not None
    run = runs_by_key(course)[RUN_KEYS[0]]
    assert Decimal(run["seats"][0]["price"]) == Decimal("3100.00")
    assert run["seats"][0]["sku"] == sku_before
    assert server_seat(ecommerce, RUN_KEYS[1])["price"] == SEAT_PRICES[1]
    assert_one_product_per_seat(ecommerce)


def test_429_then_success_honours_retry_after(gateway: Gateway, ecommerce: Ecommerce) -> None:
    ecommerce.fault(status=429, retry_after=1, count=1)

    started = time.monotonic()
    response = gateway.send(envelope("evt-1", product_payload()))
    elapsed = time.monotonic() - started

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    # Behaviour, not performance: the gateway waited the second ecommerce asked for.
    assert elapsed >= 0.9
    first_publish = steps_named(response.json(), "ecommerce.publish")[0]
    assert first_publish["status"] == "ok"
    assert first_publish["duration_ms"] >= 900
    assert_published_with_server_skus(gateway, ecommerce)
    assert_one_product_per_seat(ecommerce)


def test_500_until_the_budget_runs_out_fails_retryably_and_the_same_event_resumes(
    make_gateway: GatewayFactory, ecommerce: Ecommerce
) -> None:
    gateway = make_gateway(**NO_BREAKER)
    ecommerce.fault(status=500)

    started = time.monotonic()
    response = gateway.send(envelope("evt-1", product_payload()))
    elapsed = time.monotonic() - started

    assert response.status_code == 502, response.text
    answer = response.json()
    assert answer["status"] == "failed"
    assert answer["retryable"] is True
    # Retried until the budget was spent, and no longer than that.
    assert BUDGET_SECONDS * 0.9 <= elapsed < BUDGET_SECONDS + 2
    first_error = answer["errors"][0]
    assert first_error["code"] == "ecommerce_unavailable"
    assert first_error["step"] == "ecommerce.publish"
    # It names the run it is about, in the canonical payload and in the source's.
    assert (first_error["path"], first_error["source_path"]) == ("/course_runs/0", "/course_runs/0")
    assert RUN_KEYS[0] in first_error["message"]
    assert "injected fault: HTTP 500" in first_error["detail"]
    assert {error["code"] for error in answer["errors"]} == {"ecommerce_unavailable"}
    publish_steps = steps_named(answer, "ecommerce.publish")
    assert [(s["status"], s["target"]) for s in publish_steps] == [
        ("failed", f"course_run:{run_key}") for run_key in RUN_KEYS
    ]
    assert "injected fault: HTTP 500" in publish_steps[0]["detail"]
    assert [s["status"] for s in steps_named(answer, "course_run.publish")] == [
        "skipped",
        "skipped",
    ]
    # The catalog kept the data; nothing is published, nothing is sold.
    course = gateway.course()
    assert course is not None
    for run in course["course_runs"]:
        assert run["status"] == "unpublished"
        assert [(seat["type"], seat["sku"]) for seat in run["seats"]] == [(SEAT_TYPE, None)]
    for run_key in RUN_KEYS:
        assert ecommerce.products(run_key) == []
    record = gateway.event("evt-1").json()
    assert (record["status"], record["retryable"], record["attempts"]) == ("failed", True, 1)

    ecommerce.clear_faults()
    response = gateway.send(envelope("evt-1", product_payload()))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied"
    assert response.headers.get("Idempotent-Replayed") is None
    for name in CATALOG_STEPS:
        assert {(s["status"], s["action"]) for s in steps_named(answer, name)} == {
            ("ok", "unchanged")
        }, name
    assert [s["status"] for s in steps_named(answer, "ecommerce.publish")] == ["ok", "ok"]
    assert [s["action"] for s in steps_named(answer, "course_run.publish")] == [
        "updated",
        "updated",
    ]
    assert_published_with_server_skus(gateway, ecommerce)
    assert_one_product_per_seat(ecommerce)
    record = gateway.event("evt-1").json()
    assert (record["status"], record["retryable"], record["attempts"]) == ("applied", False, 2)
    assert record["errors"] == []
    assert [s["status"] for s in steps_named(record, "ecommerce.publish")] == ["ok", "ok"]


def test_400_is_rejected_at_once_and_the_answer_is_stored(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    # One call fails: had the gateway retried, the retry would have published the run.
    ecommerce.fault(status=400, count=1, run_keys=[RUN_KEYS[0]])

    started = time.monotonic()
    response = gateway.send(envelope("evt-1", product_payload()))
    elapsed = time.monotonic() - started

    assert response.status_code == 502, response.text
    answer = response.json()
    assert answer["status"] == "failed"
    assert answer["retryable"] is False
    [error] = answer["errors"]
    assert error["code"] == "ecommerce_rejected"
    assert error["step"] == "ecommerce.publish"
    assert RUN_KEYS[0] in error["message"]
    assert "HTTP 400" in error["message"]
    assert "injected fault: HTTP 400" in error["detail"]
    assert elapsed < BUDGET_SECONDS
    # Not retried: the run the 400 was for is neither in ecommerce nor published.
    assert ecommerce.products(RUN_KEYS[0]) == []
    course = gateway.course()
    assert course is not None
    runs = runs_by_key(course)
    assert runs[RUN_KEYS[0]]["status"] == "unpublished"
    assert runs[RUN_KEYS[0]]["seats"][0]["sku"] is None
    assert runs[RUN_KEYS[1]]["status"] == "published"

    again = gateway.send(envelope("evt-1", product_payload()))

    assert again.status_code == 502
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["status"] == "failed"
    assert again.json()["errors"] == answer["errors"]
    assert ecommerce.products(RUN_KEYS[0]) == []

    # The fault was used up by that single call: the next call succeeds.
    response = gateway.send(envelope("evt-2", product_payload(), minutes=5))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "applied"
    assert_published_with_server_skus(gateway, ecommerce)


def test_a_hanging_ecommerce_times_out_within_the_budget(
    make_gateway: GatewayFactory, ecommerce: Ecommerce
) -> None:
    gateway = make_gateway(**NO_BREAKER)
    ecommerce.fault(hang=True)

    started = time.monotonic()
    response = gateway.send(envelope("evt-1", product_payload()))
    elapsed = time.monotonic() - started

    assert elapsed < BUDGET_SECONDS + 2
    assert response.status_code == 502, response.text
    answer = response.json()
    assert answer["status"] == "failed"
    assert answer["retryable"] is True
    assert [error["code"] for error in answer["errors"]] == ["ecommerce_timeout"] * 2
    assert RUN_KEYS[0] in answer["errors"][0]["message"]
    course = gateway.course()
    assert course is not None
    assert [run["status"] for run in course["course_runs"]] == ["unpublished"] * 2


def test_a_fault_for_one_run_affects_only_that_run(gateway: Gateway, ecommerce: Ecommerce) -> None:
    ecommerce.fault(status=500, run_keys=[RUN_KEYS[1]])

    response = gateway.send(envelope("evt-1", product_payload()))

    assert response.status_code == 502, response.text
    answer = response.json()
    assert answer["status"] == "failed"
    assert answer["retryable"] is True
    assert [error["code"] for error in answer["errors"]] == ["ecommerce_unavailable"]
    assert RUN_KEYS[1] in answer["errors"][0]["message"]
    assert [(s["status"], s["target"]) for s in steps_named(answer, "ecommerce.publish")] == [
        ("ok", f"course_run:{RUN_KEYS[0]}"),
        ("failed", f"course_run:{RUN_KEYS[1]}"),
    ]
    assert [s["status"] for s in steps_named(answer, "course_run.publish")] == ["ok", "skipped"]
    course = gateway.course()
    assert course is not None
    runs = runs_by_key(course)
    assert runs[RUN_KEYS[0]]["status"] == "published"
    assert (
        runs[RUN_KEYS[0]]["seats"][0]["sku"] == server_seat(ecommerce, RUN_KEYS[0])["partner_sku"]
    )
    assert runs[RUN_KEYS[1]]["status"] == "unpublished"
    assert runs[RUN_KEYS[1]]["seats"][0]["sku"] is None
    assert ecommerce.products(RUN_KEYS[1]) == []
    assert course["key"] == COURSE_KEY


def test_only_usd_seats_are_sent_and_the_step_says_which_stay_in_the_catalog(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    """Issue 14's contract decision: a EUR seat is kept in the catalog, never sent to ecommerce
    (which sells in USD), and the run's ecommerce.publish step says so."""
    payload = product_payload()
    usd = payload["course_runs"][0]["seats"][0]
    payload["course_runs"][0]["seats"].append(usd | {"currency": "EUR", "price": "2500.00"})

    response = gateway.send(envelope("evt-eur", payload))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied", answer
    details = [step["detail"] for step in steps_named(answer, "ecommerce.publish")]
    assert details == [
        "2 products published, 2 SKUs stored; only USD seats are sold through ecommerce: "
        f"the {SEAT_TYPE} seat in EUR stay in the catalog only",
        "2 products published, 1 SKU stored",  # the course entitlement's SKU came with run 0
    ]
    seat = server_seat(ecommerce, RUN_KEYS[0])
    assert seat["price"] == SEAT_PRICES[0]
    course = gateway.course()
    assert course is not None
    seats = {s["currency"]: s for s in runs_by_key(course)[RUN_KEYS[0]]["seats"]}
    assert sorted(seats) == ["EUR", "USD"]
    assert seats["EUR"]["price"] == "2500.00"
    assert seats["EUR"]["sku"] is None
    assert seats["USD"]["sku"] == seat["partner_sku"]


def test_a_run_the_source_sells_itself_is_published_without_ecommerce(
    gateway: Gateway, ecommerce: Ecommerce
) -> None:
    """Issue 14, point 2: an `unpaid-executive-education` run (the partner's own storefront)
    keeps its price for display, is never sent to ecommerce, and is published; its
    ecommerce.publish step says why."""
    payload = product_payload()
    payload["course"]["entitlement"] = None
    for run in payload["course_runs"]:
        run["run_type"] = "unpaid-executive-education"
        run["seats"] = [seat | {"type": "unpaid-executive-education"} for seat in run["seats"]]

    response = gateway.send(envelope("evt-own", payload))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "applied", answer
    assert [
        (step["status"], step["detail"]) for step in steps_named(answer, "ecommerce.publish")
    ] == [("skipped", "sold by the source")] * 2
    for run_key in RUN_KEYS:
        assert ecommerce.products(run_key) == []
    course = gateway.course()
    assert course is not None
    runs = runs_by_key(course)
    assert [runs[key]["status"] for key in RUN_KEYS] == ["published", "published"]
    assert [runs[key]["seats"][0]["price"] for key in RUN_KEYS] == list(SEAT_PRICES)
    assert [runs[key]["seats"][0]["sku"] for key in RUN_KEYS] == [None, None]
