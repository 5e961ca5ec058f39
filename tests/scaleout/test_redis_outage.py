"""Redis down never fails a request: the rate limiter counts in its own process meanwhile and
shares again once Redis answers; a whole service whose Redis is unreachable answers events
and reads, and its ecommerce breaker still opens (in its own process)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from catalog_gateway.api.app import create_app
from catalog_gateway.db.engine import Database
from catalog_gateway.settings import Settings
from catalog_gateway.throttling.limiter import RateLimiter, quota
from tests.ecommerce.payloads import envelope, product_payload
from tests.factories import bearer, free_port, url_of
from tests.protection.conftest import instructor_event
from tests.scaleout.conftest import delete_keys
from tests.scaleout.redis_proxy import RedisProxy

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def client_name(tag: str) -> Iterator[str]:
    """A rate-limited client of this test's own; its counters deleted afterwards."""
    name = f"outage-{tag}"
    yield name
    delete_keys(f"*{name}*")


def test_the_limiter_counts_in_its_own_process_while_redis_is_down(
    proxy: RedisProxy, proxied_redis_url: str, redis_url: str, client_name: str
) -> None:
    allowance = quota("3/second", 3)
    cut_off = RateLimiter(proxied_redis_url)
    cut_off.outage.retry_seconds = 0.2
    other = RateLimiter(redis_url)  # another process, still reaching Redis

    assert cut_off.hit("events", client_name, allowance).allowed
    assert other.hit("events", client_name, allowance).remaining == 1  # one shared count

    with capture_logs() as logs:
        proxy.stop()
        # its own count starts from nothing: 3 more here, then refused, and no exception
        answers = [cut_off.hit("events", client_name, allowance) for _ in range(4)]
        assert [answer.allowed for answer in answers] == [True, True, True, False]
        assert answers[-1].headers()["Retry-After"]

        proxy.start()
        time.sleep(0.25)
        shared = cut_off.hit("events", client_name, allowance)
    # the shared count again: the other process's and its own first hit, plus this one
    assert shared.allowed
    assert shared.remaining == 0
    assert [line["event"] for line in logs] == [
        "shared_state_unavailable",
        "shared_state_restored",
    ]


@pytest.fixture
def service_without_redis(database: Database, unreachable_redis_url: str) -> Iterator[TestClient]:
    """The service with a Redis URL where nothing answers, and an ecommerce where nothing
    answers either (its breaker opens after 2 failed calls)."""
    settings = Settings(
        database_url=url_of(database),
        redis_url=unreachable_redis_url,
        ecommerce_url=f"http://127.0.0.1:{free_port()}",
        ecommerce_budget_seconds=2,
        ecommerce_connect_timeout=0.5,
        ecommerce_read_timeout=0.5,
        ecommerce_breaker_failures=2,
        ecommerce_breaker_reset_seconds=30,
    )
    with TestClient(create_app(settings, database)) as client:  # its lifespan runs
        yield client


def test_a_service_whose_redis_is_down_answers_events_and_reads(
    service_without_redis: TestClient, api_key: str
) -> None:
    client = service_without_redis

    event = client.post(
        "/api/v1/events", json=instructor_event("evt-1", "in-1"), headers=bearer(api_key)
    )
    assert event.status_code == 200, event.text
    assert event.json()["status"] == "applied"
    assert event.headers["RateLimit-Policy"]  # throttled all the same, in this process
    read = client.get("/api/v1/courses")
    assert read.status_code == 200, read.text

    # The ecommerce breaker opens in this process: first the event during which it opens...
    failed = client.post(
        "/api/v1/events", json=envelope("evt-2", product_payload()), headers=bearer(api_key)
    )
    assert failed.status_code == 502, failed.text
    assert failed.json()["errors"][0]["code"] == "ecommerce_unavailable"
    # ... then a publishing event is refused before anything changes, as without Redis.
    refused = client.post(
        "/api/v1/events",
        json=envelope("evt-3", product_payload(number="DS102", external_id="xe-7002")),
        headers=bearer(api_key),
    )
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM_JSON)
    assert refused.json()["code"] == "downstream_unavailable"
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
