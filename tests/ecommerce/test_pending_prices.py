"""Prices are never published unconfirmed: a published run's new price waits as the seat's
`pending_price` until ecommerce accepts it; learners (and the read API's `price`) keep seeing the
price checkout knows. A resend or a replay confirms it. Runs not yet published take new prices
at once, as before."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from catalog_gateway.api.app import create_app
from catalog_gateway.cli import app as cli
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings, get_settings
from tests.ecommerce.conftest import GatewayFactory
from tests.ecommerce.payloads import RUN_KEYS, SEAT_PRICES, envelope, product_payload
from tests.ecommerce.server import Ecommerce
from tests.ecommerce.support import Gateway, runs_by_key, steps_named, url_of

NO_BREAKER = {"ecommerce_breaker_failures": 1000}
NEW_PRICE = "3100.00"


def seat_of(gateway: Gateway, run_key: str = RUN_KEYS[0]) -> dict[str, Any]:
    """The (only) seat of a run, as the read API shows it."""
    course = gateway.course()
    assert course is not None
    [seat] = runs_by_key(course)[run_key]["seats"]
    return seat


def server_price(ecommerce: Ecommerce, run_key: str = RUN_KEYS[0]) -> str:
    [seat] = [p for p in ecommerce.products(run_key) if p["product_class"] == "Seat"]
    price: str = seat["price"]
    return price


def publish(gateway: Gateway) -> None:
    response = gateway.send(envelope("evt-1", product_payload()))
    assert response.status_code == 200, response.text
    assert seat_of(gateway)["pending_price"] is None


def test_a_price_ecommerce_did_not_accept_stays_pending_and_a_resend_confirms_it(
    make_gateway: GatewayFactory, ecommerce: Ecommerce
) -> None:
    gateway = make_gateway(**NO_BREAKER, ecommerce_budget_seconds=1)
    publish(gateway)
    changed = envelope("evt-2", product_payload(prices=(NEW_PRICE, SEAT_PRICES[1])), minutes=5)
    ecommerce.fault(status=500)

    failed = gateway.send(changed)

    assert failed.status_code == 502, failed.text
    assert failed.json()["status"] == "failed"
    assert failed.json()["retryable"] is True
    [seats_step, _] = steps_named(failed.json(), "seat.upsert")
    assert seats_step["action"] == "updated"
    assert seats_step["detail"].endswith("; 1 new price waits for ecommerce to accept it")
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (SEAT_PRICES[0], NEW_PRICE)
    assert server_price(ecommerce) == SEAT_PRICES[0]
    assert runs_by_key(gateway.course() or {})[RUN_KEYS[0]]["status"] == "published"

    ecommerce.clear_faults()
    resumed = gateway.send(changed)

    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "applied"
    [publish_step, _] = steps_named(resumed.json(), "ecommerce.publish")
    assert (publish_step["status"], publish_step["action"]) == ("ok", "updated")
    assert publish_step["detail"].endswith(", 1 new price confirmed")
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (NEW_PRICE, None)
    assert server_price(ecommerce) == NEW_PRICE


def test_a_new_event_with_the_confirmed_price_clears_the_pending_one(
    make_gateway: GatewayFactory, ecommerce: Ecommerce
) -> None:
    gateway = make_gateway(**NO_BREAKER, ecommerce_budget_seconds=1)
    publish(gateway)
    ecommerce.fault(status=500)
    changed = envelope("evt-2", product_payload(prices=(NEW_PRICE, SEAT_PRICES[1])), minutes=5)
    assert gateway.send(changed).status_code == 502
    ecommerce.clear_faults()

    back = gateway.send(envelope("evt-3", product_payload(), minutes=10))

    assert back.status_code == 200, back.text
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (SEAT_PRICES[0], None)
    assert server_price(ecommerce) == SEAT_PRICES[0]


def test_the_same_content_sent_again_as_a_new_event_confirms_a_pending_price(
    make_gateway: GatewayFactory, ecommerce: Ecommerce
) -> None:
    """A pending price keeps the event off the unchanged fast path: ecommerce is asked again."""
    gateway = make_gateway(**NO_BREAKER, ecommerce_budget_seconds=1)
    publish(gateway)
    ecommerce.fault(status=500)
    payload = product_payload(prices=(NEW_PRICE, SEAT_PRICES[1]))
    assert gateway.send(envelope("evt-2", payload, minutes=5)).status_code == 502
    ecommerce.clear_faults()

    again = gateway.send(envelope("evt-3", payload, minutes=10))

    assert again.status_code == 200, again.text
    assert again.json()["status"] == "applied"
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (NEW_PRICE, None)
    assert server_price(ecommerce) == NEW_PRICE


def test_an_unpublished_run_takes_a_new_price_at_once(
    make_gateway: GatewayFactory, ecommerce: Ecommerce
) -> None:
    gateway = make_gateway(**NO_BREAKER, ecommerce_budget_seconds=1)
    ecommerce.fault(status=500)
    assert gateway.send(envelope("evt-1", product_payload())).status_code == 502

    changed = gateway.send(
        envelope("evt-2", product_payload(prices=(NEW_PRICE, SEAT_PRICES[1])), minutes=5)
    )

    assert changed.status_code == 502, changed.text
    seat = seat_of(gateway)
    assert (Decimal(seat["price"]), seat["pending_price"]) == (Decimal(NEW_PRICE), None)


@pytest.fixture
def cli_env(database: Database, ecommerce_url: str) -> Iterator[dict[str, str]]:
    """The environment the command line reads its settings from (as in test_replay_cli.py)."""
    get_settings.cache_clear()
    yield {
        "CATALOG_GATEWAY_DATABASE_URL": url_of(database),
        "CATALOG_GATEWAY_ECOMMERCE_URL": ecommerce_url,
        "CATALOG_GATEWAY_ECOMMERCE_BUDGET_SECONDS": "1",
        "CATALOG_GATEWAY_ECOMMERCE_BREAKER_FAILURES": "1000",
    }
    get_settings.cache_clear()


def test_events_replay_confirms_a_pending_price(
    make_gateway: GatewayFactory, ecommerce: Ecommerce, cli_env: dict[str, str]
) -> None:
    gateway = make_gateway(**NO_BREAKER, ecommerce_budget_seconds=1)
    publish(gateway)
    ecommerce.fault(status=500)
    changed = envelope("evt-2", product_payload(prices=(NEW_PRICE, SEAT_PRICES[1])), minutes=5)
    assert gateway.send(changed).status_code == 502
    assert seat_of(gateway)["pending_price"] == NEW_PRICE
    ecommerce.clear_faults()

    result = CliRunner().invoke(
        cli, ["events", "replay", "evt-2", "--source", "exec-ed"], env=cli_env
    )

    assert result.exit_code == 0, result.output
    assert "event evt-2: applied" in result.output
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (NEW_PRICE, None)
    assert server_price(ecommerce) == NEW_PRICE
    record = gateway.event("evt-2").json()
    assert (record["status"], record["attempts"]) == ("applied", 2)
    [publish_step, _] = steps_named(record, "ecommerce.publish")
    assert publish_step["detail"].endswith(", 1 new price confirmed")


def test_a_rejected_price_stays_pending_and_a_corrected_event_confirms_its_own(
    make_gateway: GatewayFactory, ecommerce: Ecommerce
) -> None:
    """An `ecommerce_rejected` (400) is not retryable: the pending price stays, resending the
    event answers the stored failure, and a new event with a corrected price replaces it."""
    gateway = make_gateway(**NO_BREAKER, ecommerce_budget_seconds=1)
    publish(gateway)
    ecommerce.fault(status=400, count=1, run_keys=[RUN_KEYS[0]])
    rejected = envelope("evt-2", product_payload(prices=(NEW_PRICE, SEAT_PRICES[1])), minutes=5)

    answer = gateway.send(rejected)

    assert answer.status_code == 502, answer.text
    assert (answer.json()["status"], answer.json()["retryable"]) == ("failed", False)
    assert [error["code"] for error in answer.json()["errors"]] == ["ecommerce_rejected"]
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (SEAT_PRICES[0], NEW_PRICE)
    assert server_price(ecommerce) == SEAT_PRICES[0]
    again = gateway.send(rejected)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert seat_of(gateway)["pending_price"] == NEW_PRICE

    corrected_price = "3050.00"
    corrected = gateway.send(
        envelope("evt-3", product_payload(prices=(corrected_price, SEAT_PRICES[1])), minutes=10)
    )

    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "applied"
    [seats_step, _] = steps_named(corrected.json(), "seat.upsert")
    assert seats_step["detail"].endswith("; 1 new price waits for ecommerce to accept it")
    [publish_step, _] = steps_named(corrected.json(), "ecommerce.publish")
    assert publish_step["detail"].endswith(", 1 new price confirmed")
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (corrected_price, None)
    assert server_price(ecommerce) == corrected_price


def test_a_seat_in_another_currency_takes_its_new_price_at_once(
    make_gateway: GatewayFactory, ecommerce: Ecommerce
) -> None:
    """Ecommerce sells in USD only: a EUR seat's new price has nothing to wait for, even while
    the USD seat's waits because ecommerce fails."""
    gateway = make_gateway(**NO_BREAKER, ecommerce_budget_seconds=1)

    def with_eur(usd_price: str, eur_price: str) -> dict[str, Any]:
        payload = product_payload(prices=(usd_price, SEAT_PRICES[1]))
        usd = payload["course_runs"][0]["seats"][0]
        payload["course_runs"][0]["seats"].append(usd | {"currency": "EUR", "price": eur_price})
        return payload

    assert gateway.send(envelope("evt-1", with_eur(SEAT_PRICES[0], "2500.00"))).status_code == 200
    ecommerce.fault(status=500)

    failed = gateway.send(envelope("evt-2", with_eur(NEW_PRICE, "2600.00"), minutes=5))

    assert failed.status_code == 502, failed.text
    course = gateway.course()
    assert course is not None
    seats = {seat["currency"]: seat for seat in runs_by_key(course)[RUN_KEYS[0]]["seats"]}
    assert (seats["USD"]["price"], seats["USD"]["pending_price"]) == (SEAT_PRICES[0], NEW_PRICE)
    assert (seats["EUR"]["price"], seats["EUR"]["pending_price"]) == ("2600.00", None)
    [seats_step, _] = steps_named(failed.json(), "seat.upsert")
    assert seats_step["detail"].endswith("; 1 new price waits for ecommerce to accept it")


def test_a_seat_the_source_sells_itself_takes_its_new_price_at_once(
    make_gateway: GatewayFactory, ecommerce: Ecommerce
) -> None:
    """An `unpaid-executive-education` run is never sent to ecommerce (issue 14, point 2), so
    on a published run its new price is the price at once, whatever ecommerce does."""
    gateway = make_gateway(**NO_BREAKER, ecommerce_budget_seconds=1)

    def own_storefront(prices: tuple[str, str]) -> dict[str, Any]:
        payload = product_payload(prices=prices)
        payload["course"]["entitlement"] = None
        for run in payload["course_runs"]:
            run["run_type"] = "unpaid-executive-education"
            run["seats"] = [seat | {"type": "unpaid-executive-education"} for seat in run["seats"]]
        return payload

    first = gateway.send(envelope("evt-1", own_storefront(SEAT_PRICES)))
    assert first.status_code == 200, first.text
    assert gateway.run(RUN_KEYS[0])["status"] == "published"
    ecommerce.fault(status=500)

    changed = gateway.send(
        envelope("evt-2", own_storefront((NEW_PRICE, SEAT_PRICES[1])), minutes=5)
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "applied"
    [seats_step, _] = steps_named(changed.json(), "seat.upsert")
    assert "wait for ecommerce" not in seats_step["detail"]
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (NEW_PRICE, None)
    assert ecommerce.products(RUN_KEYS[0]) == []


@pytest.fixture
def gateway_without_ecommerce(database: Database, api_key: str) -> Iterator[Gateway]:
    """The gateway app with no ecommerce configured (no `ecommerce_url`)."""
    app = create_app(Settings(database_url=url_of(database), ecommerce_url=None), database)
    with TestClient(app) as client:
        yield Gateway(client, api_key)


def test_without_ecommerce_a_published_run_takes_a_new_price_at_once(
    gateway_without_ecommerce: Gateway, ecommerce: Ecommerce
) -> None:
    gateway = gateway_without_ecommerce
    publish(gateway)
    assert gateway.run(RUN_KEYS[0])["status"] == "published"

    changed = gateway.send(
        envelope("evt-2", product_payload(prices=(NEW_PRICE, SEAT_PRICES[1])), minutes=5)
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "applied"
    [publish_step, _] = steps_named(changed.json(), "ecommerce.publish")
    assert (publish_step["status"], publish_step["detail"]) == (
        "skipped",
        "ecommerce not configured",
    )
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (NEW_PRICE, None)
    assert ecommerce.products(RUN_KEYS[0]) == []


def test_a_price_changed_again_while_pending_ends_at_the_latest_price(
    make_gateway: GatewayFactory, ecommerce: Ecommerce
) -> None:
    """P1 confirmed; P2 pending after a failure; P3 sent while ecommerce works: P3 is the
    price, nothing waits, and ecommerce sells at P3."""
    p1, p2, p3 = SEAT_PRICES[0], NEW_PRICE, "3200.00"
    gateway = make_gateway(**NO_BREAKER, ecommerce_budget_seconds=1)
    publish(gateway)
    assert server_price(ecommerce) == p1
    ecommerce.fault(status=500)
    assert (
        gateway.send(
            envelope("evt-2", product_payload(prices=(p2, SEAT_PRICES[1])), minutes=5)
        ).status_code
        == 502
    )
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (p1, p2)
    ecommerce.clear_faults()

    latest = gateway.send(
        envelope("evt-3", product_payload(prices=(p3, SEAT_PRICES[1])), minutes=10)
    )

    assert latest.status_code == 200, latest.text
    assert latest.json()["status"] == "applied"
    [publish_step, _] = steps_named(latest.json(), "ecommerce.publish")
    assert publish_step["detail"].endswith(", 1 new price confirmed")
    seat = seat_of(gateway)
    assert (seat["price"], seat["pending_price"]) == (p3, None)
    assert server_price(ecommerce) == p3
    assert gateway.run(RUN_KEYS[0])["seats"][0]["price"] == p3
