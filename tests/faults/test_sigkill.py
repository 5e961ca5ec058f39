"""SIGKILL in the middle of a 500-event batch: the real fault is a server process killed with
no warning (no shutdown, no cleanup) while it applies a batch of 500 product upserts (a course,
its instructor, one or two runs with a paid seat each), whose runs the reference ecommerce
server publishes: it dies once the catalog transaction has committed and the publications are
under way. Then the same batch is sent again to a new process on the same database, once the
event lease has passed.

It proves, on SQLite and on PostgreSQL, under both error policies, that such a death never
leaves a lost answer, a half product or a stuck event: the resent batch is answered 200 with
every event applied (or unchanged), every product is in the catalog whole and once, no event
record is left `in_progress`, ecommerce holds exactly one product set per run, and a third
send is answered entirely from the event log (`replayed`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from catalog_gateway.catalog.models import RunStatus
from tests.ecommerce.payloads import ENTITLEMENT_PRICE, SEAT_PRICES, SEAT_TYPE
from tests.ecommerce.server import Ecommerce
from tests.factories import bearer
from tests.faults.conftest import (
    FreshDatabase,
    GatewayProcess,
    catalog_products,
    expected_counts,
    expected_products,
    product_event,
    record_statuses,
    row_counts,
    run_keys,
    run_statuses,
    server_env,
    tally,
)

BATCH = 500
# How many runs product `index` has: two for every tenth (a product half published is then
# possible), one for the others. Each run is one call to ecommerce, whose reference server
# rewrites its whole store on every call: 1000 calls would take 20 s; these 550, 6 s.
RUNS = [2 if index % 10 == 0 else 1 for index in range(BATCH)]
LEASE_SECONDS = 2  # the setting's least is 1; the resend waits past it
KILL_AT_PRODUCT = 20  # killed once ecommerce has this product's first run: mid-publication
KILL_WAIT_SECONDS = 60
TAG = "K"


def _send_batch(url: str, key: str, events: list[dict[str, Any]], policy: str) -> httpx.Response:
    with httpx.Client(timeout=120) as client:
        return client.post(
            f"{url}/api/v1/events/batch",
            json={"events": events, "error_policy": policy},
            headers=bearer(key),
        )


def _published_runs(ecommerce: Ecommerce) -> dict[str, Any]:
    """Every run ecommerce stores, as its `--data` file holds it."""
    assert ecommerce.data_path is not None
    text = ecommerce.data_path.read_text()
    return json.loads(text) if text else {}


@pytest.mark.parametrize("policy", ["independent", "all_or_nothing"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_batch_killed_mid_way_is_applied_whole_once_sent_again(
    backend: str,
    policy: str,
    make_database: Callable[[str], FreshDatabase],
    ecommerce: Ecommerce,
    gateway_process: Callable[..., GatewayProcess],
) -> None:
    fresh = make_database(backend)
    server = gateway_process(
        server_env(
            fresh.url,
            ecommerce.url,
            event_lease_seconds=LEASE_SECONDS,
            ecommerce_budget_seconds=5,
            ecommerce_connect_timeout=1,
            ecommerce_read_timeout=2,
        )
    )
    url = server.start()
    events = [product_event(TAG, index, runs) for index, runs in enumerate(RUNS)]

    # One 500-event batch, from a thread; killed once ecommerce has published a few products.
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            outcome["response"] = _send_batch(url, fresh.api_key, events, policy)
        except httpx.TransportError as error:
            outcome["error"] = error

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    watched = run_keys(TAG, KILL_AT_PRODUCT)[0]
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while not ecommerce.products(watched):
        assert sender.is_alive(), (
            f"the batch was answered before ecommerce had {watched}: "
            f"{outcome.get('response', outcome.get('error'))!r}"
        )
        assert time.monotonic() < deadline, f"ecommerce never got {watched}\n{server.log_text()}"
        time.sleep(0.01)
    server.kill()
    killed = time.monotonic()
    sender.join(timeout=30)

    assert not sender.is_alive(), "the client still waits on a killed server"
    assert "response" not in outcome, (
        f"the client got an answer, not a reset: {outcome['response'].status_code}"
    )
    assert isinstance(outcome["error"], httpx.TransportError)
    # The kill landed mid-batch: the catalog transaction had committed, the publications had
    # begun and not ended.
    at_kill = record_statuses(fresh.database, fresh.source_id)
    left = Counter(at_kill.values())
    assert left["in_progress"] > 0, f"no event was in progress when killed: {dict(left)}"
    assert left["in_progress"] < BATCH, f"no event had finished when killed: {dict(left)}"
    stuck = {event_id for event_id, status in at_kill.items() if status == "in_progress"}

    # A new process on the same database, once the dead one's lease has passed.
    url = server.start()
    time.sleep(max(0.0, killed + LEASE_SECONDS + 0.5 - time.monotonic()))
    resent = _send_batch(url, fresh.api_key, events, policy)

    assert resent.status_code == 200, resent.text[:2000]
    answers = resent.json()["results"]
    assert [a["event_id"] for a in answers] == [e["event_id"] for e in events]
    statuses = tally(answers)
    # Every product was new: each event says it applied it, whichever attempt did the work.
    assert statuses == {"applied": BATCH}, statuses
    assert all(a["errors"] == [] for a in answers), statuses
    for answer in answers:
        course_step = next(s for s in answer["steps"] if s["name"] == "course.upsert")
        if answer["event_id"] in stuck:  # resumed: it reports what the killed attempt did
            assert answer["replayed"] is False, answer["event_id"]
            assert course_step["action"] == "created", course_step
            assert course_step["detail"] == (
                "created by attempt 1, which stopped before it was answered"
            ), course_step
        else:  # answered and stored before the kill: that answer again
            assert answer["replayed"] is True, answer["event_id"]
            assert course_step["action"] == "created", course_step

    # Every product whole, once; every event finished; ecommerce holds one set per run.
    assert row_counts(fresh.database, fresh.source_id) == expected_counts(RUNS)
    assert catalog_products(fresh.database, fresh.source_id) == expected_products(TAG, RUNS)
    assert set(run_statuses(fresh.database, fresh.source_id).values()) == {str(RunStatus.PUBLISHED)}
    # The log holds what the client was told, every event finished (none in_progress).
    records = record_statuses(fresh.database, fresh.source_id)
    assert records == {a["event_id"]: a["status"] for a in answers}, Counter(records.values())
    published = _published_runs(ecommerce)
    expected_runs = {key for index, runs in enumerate(RUNS) for key in run_keys(TAG, index)[:runs]}
    assert set(published) == expected_runs
    for index, runs in enumerate(RUNS):
        for run_key, price in zip(run_keys(TAG, index)[:runs], SEAT_PRICES, strict=False):
            products = sorted(
                (p["product_class"], p["certificate_type"], p["price"])
                for p in published[run_key]["products"]
            )
            assert products == [
                ("Course Entitlement", SEAT_TYPE, ENTITLEMENT_PRICE),
                ("Seat", SEAT_TYPE, price),
            ], run_key

    # A third send changes nothing: every answer comes from the event log.
    third = _send_batch(url, fresh.api_key, events, policy)

    assert third.status_code == 200, third.text[:2000]
    replayed = third.json()["results"]
    assert [a["replayed"] for a in replayed] == [True] * BATCH
    assert [a["status"] for a in replayed] == [a["status"] for a in answers]
    assert row_counts(fresh.database, fresh.source_id) == expected_counts(RUNS)
