"""The catalog page shows a price that waits for ecommerce to accept it, on each database backend.

The pending price is made for real: the service publishes to the reference ecommerce server (the
ecommerce tests' process), which fails while a published run's price changes.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from tests.console.conftest import Browser, ConsoleKeys, bootcamp_event, console_settings
from tests.console.test_pages import cells
from tests.ecommerce.server import Ecommerce
from tests.gateway.payloads import occurred

RUN_KEY = "course-v1:HarvardX+CODE100+2T2027"
RUN = f'data-run="{RUN_KEY}"'
NEW_PRICE = "12500.00"
BADGE_TITLE = 'title="ecommerce has not accepted it yet: send the event again or replay it"'


@pytest.fixture
def console_app(database: Database, console_keys: ConsoleKeys, ecommerce: Ecommerce) -> FastAPI:
    """The whole service publishing to the reference ecommerce server (a small budget, so a
    failing event fails fast; a breaker that stays closed)."""
    settings = console_settings(
        database,
        ecommerce_url=ecommerce.url,
        ecommerce_budget_seconds=1,
        ecommerce_connect_timeout=1,
        ecommerce_read_timeout=1,
        ecommerce_breaker_failures=1000,
    )
    return create_app(settings, database)


def repriced(event_id: str, price: str) -> dict[str, object]:
    """`bootcamps`' product HarvardX+CODE100 with its cohort's seat at another price."""
    event = bootcamp_event(event_id)
    event["payload"]["course_runs"][0]["seats"][0]["price"] = price
    event["occurred_at"] = occurred(hours=1)  # after the first event
    return event


def test_the_catalog_shows_a_price_that_waits_for_ecommerce_beside_the_price_learners_see(
    admin: Browser, ecommerce: Ecommerce
) -> None:
    published = admin.send(admin.keys.bootcamps, bootcamp_event("bc-1"))
    assert published.status_code == 200, published.text
    [sku] = [p["partner_sku"] for p in ecommerce.products(RUN_KEY) if p["product_class"] == "Seat"]
    ecommerce.fault(status=500)
    failed = admin.send(admin.keys.bootcamps, repriced("bc-2", NEW_PRICE))
    assert failed.status_code == 502, failed.text

    waiting = admin.get("/catalog").text

    assert cells(waiting, RUN) == [
        RUN_KEY,
        "published",
        "2027-05-03 → 2027-08-27",
        f"paid-bootcamp: 12000.00 USD pending {NEW_PRICE} USD · SKU {sku}",
    ]
    assert (
        f'<span class="badge s-in_progress" {BADGE_TITLE}>pending {NEW_PRICE} USD</span>' in waiting
    )

    ecommerce.clear_faults()
    resent = admin.send(admin.keys.bootcamps, repriced("bc-2", NEW_PRICE))
    assert resent.status_code == 200, resent.text

    confirmed = admin.get("/catalog").text

    assert cells(confirmed, RUN)[3] == f"paid-bootcamp: {NEW_PRICE} USD · SKU {sku}"
    assert BADGE_TITLE not in confirmed
