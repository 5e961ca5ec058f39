"""The ecommerce breaker's state in Redis: two `Breaker`s on one namespace (what two server
processes hold) open, answer `Retry-After` and close together; while Redis fails, each counts
and opens on its own, never raising, and says so once. Against the real test Redis (through a
proxy a test can cut), each test in a namespace of its own."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pybreaker
import pytest
from structlog.testing import capture_logs

from catalog_gateway.connectors.breaker import Breaker
from catalog_gateway.connectors.breaker_storage import FallbackBreakerStorage, namespace_for
from catalog_gateway.shared_state import Outage
from tests.scaleout.conftest import delete_keys
from tests.scaleout.redis_proxy import RedisProxy
from tests.servers import redis_client

FAILURES = 2
RESET_SECONDS = 30.0

BreakerFactory = Callable[..., Breaker]


class DownstreamError(Exception):
    pass


def failing() -> None:
    raise DownstreamError("ecommerce answered HTTP 500")


def trip(breaker: Breaker) -> None:
    """`FAILURES` failed calls through `breaker`."""
    for _ in range(FAILURES):
        with pytest.raises(DownstreamError):
            breaker.breaker.call(failing)


@pytest.fixture
def namespace(redis_url: str, tag: str) -> Iterator[str]:
    """A breaker namespace of this test's own, deleted afterwards."""
    name = f"test:breaker:{tag}"
    yield name
    delete_keys(f"{name}:*")


@pytest.fixture
def make_breaker(namespace: str) -> Iterator[BreakerFactory]:
    """Breakers whose state is in Redis at `url` (as each server process builds its own)."""
    made: list[Breaker] = []

    def make(url: str, retry_seconds: float = 5.0) -> Breaker:
        outage = Outage("ecommerce breaker", retry_seconds=retry_seconds)
        storage = FallbackBreakerStorage(url, namespace, outage)
        breaker = Breaker(
            "ecommerce", fail_max=FAILURES, reset_timeout=RESET_SECONDS, storage=storage
        )
        made.append(breaker)
        return breaker

    yield make
    for breaker in made:
        breaker.close()


def test_a_breaker_opened_by_one_process_is_open_in_the_other(
    redis_url: str, make_breaker: BreakerFactory
) -> None:
    first, second = make_breaker(redis_url), make_breaker(redis_url)
    assert (first.state, second.state) == ("closed", "closed")

    trip(first)

    assert second.state == "open"
    assert second.is_open()
    # Retry-After from the one `opened_at` in Redis (whole seconds): the same for both
    assert first.storage.opened_at == second.storage.opened_at is not None
    assert RESET_SECONDS - 2 <= first.retry_after() <= RESET_SECONDS
    assert RESET_SECONDS - 2 <= second.retry_after() <= RESET_SECONDS
    calls: list[str] = []
    with pytest.raises(pybreaker.CircuitBreakerError):
        second.breaker.call(lambda: calls.append("called"))
    assert calls == [], "the open breaker let a call through in the other process"


def test_failures_of_both_processes_add_up(redis_url: str, make_breaker: BreakerFactory) -> None:
    first, second = make_breaker(redis_url), make_breaker(redis_url)

    with pytest.raises(DownstreamError):
        first.breaker.call(failing)
    assert not first.is_open()
    with pytest.raises(DownstreamError):
        second.breaker.call(failing)

    assert first.is_open()
    assert second.is_open()


def test_the_probe_of_one_process_closes_the_breaker_for_both(
    redis_url: str, make_breaker: BreakerFactory, namespace: str
) -> None:
    first, second = make_breaker(redis_url), make_breaker(redis_url)
    trip(first)
    # The reset time passes (written, not waited: `opened_at` is what every process reads).
    client = redis_client()
    try:
        past = datetime.now(UTC) - timedelta(seconds=RESET_SECONDS + 1)
        client.set(f"{namespace}:pybreaker:opened_at", int(past.timestamp()))
    finally:
        client.close()
    assert first.retry_after() == second.retry_after() == 0
    assert not first.is_open()

    assert second.breaker.call(lambda: "published") == "published"  # the probe

    assert (first.state, second.state) == ("closed", "closed")


def test_without_redis_the_breaker_counts_and_opens_in_its_own_process(
    unreachable_redis_url: str, make_breaker: BreakerFactory
) -> None:
    with capture_logs() as logs:
        breaker = make_breaker(unreachable_redis_url)  # no error at start-up either

        trip(breaker)

        assert breaker.is_open()
        assert RESET_SECONDS - 1 <= breaker.retry_after() <= RESET_SECONDS
        with pytest.raises(pybreaker.CircuitBreakerError):
            breaker.breaker.call(failing)
    warnings = [line for line in logs if line["event"] == "shared_state_unavailable"]
    assert len(warnings) == 1, "one warning per outage, not one per call"
    assert warnings[0]["part"] == "ecommerce breaker"


def test_a_redis_outage_falls_back_to_local_state_and_recovers(
    proxy: RedisProxy,
    proxied_redis_url: str,
    redis_url: str,
    make_breaker: BreakerFactory,
) -> None:
    """A process cut off from Redis goes on with its own state (here: closed, while the
    others see the shared breaker open), then sees the shared state again once Redis answers
    (after its retry interval)."""
    cut_off = make_breaker(proxied_redis_url, retry_seconds=0.2)
    other = make_breaker(redis_url)
    trip(other)
    assert cut_off.is_open()

    with capture_logs() as logs:
        proxy.stop()
        assert cut_off.state == "closed"  # its own memory: nothing failed here
        assert not cut_off.is_open()
        assert cut_off.breaker.call(lambda: "published") == "published"
        assert other.is_open(), "the cut-off process changed the shared state"

        proxy.start()
        time.sleep(0.25)

        assert cut_off.is_open()
        assert cut_off.storage.opened_at == other.storage.opened_at
    assert [line["event"] for line in logs] == [
        "shared_state_unavailable",
        "shared_state_restored",
    ]


def test_the_namespace_is_the_downstreams() -> None:
    """Every gateway process calling one ecommerce system shares its breaker; another system
    (or a test's own reference server) has another; no URL is spelt out in Redis."""
    one = namespace_for("ecommerce", "https://ecommerce.example.org")
    assert namespace_for("ecommerce", "https://ecommerce.example.org/") == one
    assert namespace_for("ecommerce", "http://127.0.0.1:18130") != one
    assert one.startswith("catalog_gateway:breaker:ecommerce:")
    assert "example" not in one
