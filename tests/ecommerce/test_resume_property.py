"""Whatever ecommerce does between re-sends of one event — fail for a while, throttle, recover —
once it recovers and the event is sent until it applies, the catalog and ecommerce hold the
product exactly once: no duplicate seats, runs, SKUs or ecommerce products.

A randomized but seeded sequence (reproducible; the seed and the steps are in the failure
message), bounded to keep the run short.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import func, select

from catalog_gateway.catalog.models import Course, CourseRun, Seat
from catalog_gateway.db.engine import Database
from tests.ecommerce.conftest import GatewayFactory
from tests.ecommerce.payloads import COURSE_KEY, RUN_KEYS, SEAT_TYPE, envelope, product_payload
from tests.ecommerce.server import Ecommerce, by_class
from tests.ecommerce.support import Gateway, runs_by_key

ITERATIONS = 15
EVENT_ID = "evt-resume"
# A small budget keeps failing sends short; the breaker must not get in the way here.
SETTINGS = {"ecommerce_budget_seconds": 0.4, "ecommerce_breaker_failures": 1000}


def random_action(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """One thing that happens: a fault is injected or cleared, or the event is sent again."""
    roll = rng.random()
    if roll < 0.45:
        return "send", {}
    if roll < 0.6:
        return "fault", {"status": rng.choice([500, 502, 503]), "count": rng.choice([1, 2, 3, 5])}
    if roll < 0.7:
        return "fault", {"status": 500}
    if roll < 0.8:
        return "fault", {"status": 429, "retry_after": rng.choice([0, 1]), "count": 1}
    if roll < 0.9:
        return "fault", {"status": 500, "run_keys": [rng.choice(RUN_KEYS)]}
    return "clear", {}


def count(database: Database, model: type[Any]) -> int:
    with database.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def check_invariants(gateway: Gateway, ecommerce: Ecommerce, history: list[str]) -> None:
    """At any moment: at most one product per seat in ecommerce, and a run is published only
    with the SKU ecommerce gave its seat."""
    course = gateway.course()
    if course is None:
        return
    runs = runs_by_key(course)
    assert sorted(runs) == sorted(RUN_KEYS), history
    for run_key, run in runs.items():
        products = ecommerce.products(run_key)
        seats = by_class(products, "Seat")
        assert len(seats) <= 1, (history, products)
        assert len(by_class(products, "Course Entitlement")) <= 1, (history, products)
        assert [seat["type"] for seat in run["seats"]] == [SEAT_TYPE], (history, run)
        if run["status"] == "published":
            assert len(seats) == 1, (history, run_key)
            assert run["seats"][0]["sku"] == seats[0]["partner_sku"], (history, run_key)


@pytest.mark.parametrize("seed", [20261128, 11])
def test_any_sequence_of_failures_and_resends_ends_with_the_product_exactly_once(
    seed: int, make_gateway: GatewayFactory, ecommerce: Ecommerce, database: Database
) -> None:
    gateway = make_gateway(**SETTINGS)
    event = envelope(EVENT_ID, product_payload())
    rng = random.Random(seed)
    history: list[str] = [f"seed {seed}"]
    runs_of_the_event = 0

    for _ in range(ITERATIONS):
        action, spec = random_action(rng)
        if action == "fault":
            ecommerce.fault(**spec)
            history.append(f"fault {spec}")
        elif action == "clear":
            ecommerce.clear_faults()
            history.append("clear")
        else:
            response = gateway.send(event)
            answer = response.json()
            history.append(f"send → {response.status_code} {answer.get('status')}")
            assert (response.status_code, answer["status"]) in {
                (200, "applied"),
                (502, "failed"),
            }, (history, answer)
            if response.status_code == 502:
                assert answer["retryable"] is True, (history, answer)
            if response.headers.get("Idempotent-Replayed") is None:
                runs_of_the_event += 1
            check_invariants(gateway, ecommerce, history)

    ecommerce.clear_faults()
    history.append("clear")
    for _ in range(3):
        response = gateway.send(event)
        history.append(f"send → {response.status_code} {response.json().get('status')}")
        if response.headers.get("Idempotent-Replayed") is None:
            runs_of_the_event += 1
        if response.status_code == 200:
            break
    assert response.status_code == 200, history
    assert response.json()["status"] == "applied", history

    # The catalog: one course, two runs, one seat each, published with ecommerce's SKU.
    assert (count(database, Course), count(database, CourseRun), count(database, Seat)) == (
        1,
        2,
        2,
    ), history
    course = gateway.course(COURSE_KEY)
    assert course is not None
    check_invariants(gateway, ecommerce, history)
    skus = []
    for run_key, run in runs_by_key(course).items():
        assert run["status"] == "published", (history, run_key)
        skus.append(run["seats"][0]["sku"])
        # Ecommerce: exactly one product per seat, and the entitlement, per run.
        products = ecommerce.products(run_key)
        assert sorted(p["product_class"] for p in products) == ["Course Entitlement", "Seat"], (
            history,
            products,
        )
    assert None not in skus, history
    assert len(set(skus)) == 2, (history, skus)
    record = gateway.event(EVENT_ID).json()
    assert (record["status"], record["attempts"]) == ("applied", runs_of_the_event), history
