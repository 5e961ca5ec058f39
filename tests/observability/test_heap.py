"""The garbage collector (`observability.heap`): every collection's pause is measured
(`catalog_gateway_gc_pause_seconds`), and a started app exempts what it built from later
collections (`gc.freeze`), so that they walk only what requests made."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.observability.heap import GcPauses
from tests.observability.conftest import ClientFactory, scrape
from tests.protection.conftest import settings_for

PAUSES = "catalog_gateway_gc_pause_seconds_count"


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The test process's heap is given back to the collector afterwards (the tests start many
    apps in one process: `CATALOG_GATEWAY_FREEZE_HEAP=false` for all but this one)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_each_collection_is_timed_by_generation(fresh_metrics: CollectorRegistry) -> None:
    """Noted by the callback, recorded by `drain` (never from inside a collection)."""
    pauses = GcPauses()
    gc.disable()  # only the collections the test asks for
    pauses.install()
    pauses.install()  # once only
    try:
        gc.collect(0)
        gc.collect(2)
    finally:
        pauses.remove()
        gc.enable()
    gc.collect(2)  # removed: not timed
    pauses.drain()

    assert fresh_metrics.get_sample_value(PAUSES, {"generation": "0"}) == 1.0
    assert fresh_metrics.get_sample_value(PAUSES, {"generation": "2"}) == 1.0
    assert pauses not in gc.callbacks


def test_a_started_app_exempts_what_it_built_and_exports_its_pauses(
    make_client: ClientFactory, unfrozen: None
) -> None:
    assert gc.get_freeze_count() == 0

    client = make_client(freeze_heap=True)

    assert gc.get_freeze_count() > 10_000  # modules, metadata, validators, transformers
    before = scrape(client)(PAUSES, generation="2")
    gc.collect(2)
    deadline = time.monotonic() + 5  # recorded on the loop-lag monitor's next tick (25 ms)
    while scrape(client)(PAUSES, generation="2") == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert scrape(client)(PAUSES, generation="2") > before


def test_the_tests_keep_the_heap_collectable(make_client: ClientFactory) -> None:
    make_client()

    assert gc.get_freeze_count() == 0


def test_a_pause_is_recorded_only_when_drained(fresh_metrics: CollectorRegistry) -> None:
    pauses = GcPauses()
    gc.disable()
    pauses.install()
    try:
        gc.collect(1)
        assert fresh_metrics.get_sample_value(PAUSES, {"generation": "1"}) is None
        pauses.drain()
        assert fresh_metrics.get_sample_value(PAUSES, {"generation": "1"}) == 1.0
    finally:
        pauses.remove()
        gc.enable()


def test_a_stopped_app_gives_its_heap_back_to_the_collector(
    database: Database, unfrozen: None
) -> None:
    with TestClient(create_app(settings_for(database, freeze_heap=True), database)):
        assert gc.get_freeze_count() > 10_000

    assert gc.get_freeze_count() == 0
