"""A refusal from the shared (Redis) rate limiter is answered again from the process's memory
until the window could allow one more request (`window / requests`, at most 0.1 s): a flood
costs no Redis round trip per refused request, and the limit is never exceeded by it.

Against the real test Redis; the storage calls are counted by a spy on the real storage, and
time is the limiter's injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from catalog_gateway.throttling.limiter import REFUSAL_MEMO_SECONDS, RateLimiter, quota
from tests.scaleout.conftest import delete_keys


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client_name(tag: str) -> Iterator[str]:
    name = f"memo-{tag}"
    yield name
    delete_keys(f"*{name}*")


def _counting(limiter: RateLimiter) -> list[str]:
    """Count the limiter's trips to Redis (each hit makes them through `acquire`)."""
    calls: list[str] = []
    storage: Any = limiter.strategy.storage
    real = storage.acquire_sliding_window_entry

    def acquire(*args: Any, **kwargs: Any) -> Any:
        calls.append("acquire")
        return real(*args, **kwargs)

    storage.acquire_sliding_window_entry = acquire
    return calls


def test_refusals_are_answered_from_memory_until_a_request_could_be_allowed(
    redis_url: str, client_name: str
) -> None:
    clock = Clock()
    limiter = RateLimiter(redis_url, clock=clock)
    allowance = quota("5/second", 5)  # one request frees every 0.2 s: remembered 0.1 s
    calls = _counting(limiter)

    allowed = [limiter.hit("events", client_name, allowance).allowed for _ in range(5)]
    refused = limiter.hit("events", client_name, allowance)
    assert allowed == [True] * 5
    assert not refused.allowed
    assert len(calls) == 6

    again = [limiter.hit("events", client_name, allowance) for _ in range(50)]

    assert [decision.allowed for decision in again] == [False] * 50
    assert again[0].headers() == refused.headers()
    assert len(calls) == 6  # not one more trip to Redis

    clock.now += REFUSAL_MEMO_SECONDS  # the memo is over: Redis is asked (and refuses again)
    assert not limiter.hit("events", client_name, allowance).allowed
    assert len(calls) == 7


def test_a_refused_batch_does_not_refuse_a_smaller_request_from_memory(
    redis_url: str, client_name: str
) -> None:
    clock = Clock()
    limiter = RateLimiter(redis_url, clock=clock)
    allowance = quota("10/second", 10)
    calls = _counting(limiter)

    assert not limiter.hit("events", client_name, allowance, cost=50).allowed
    single = limiter.hit("events", client_name, allowance)

    assert single.allowed  # the batch's refusal said nothing about one event
    assert len(calls) == 2


def test_the_memo_is_per_client_and_per_quota(redis_url: str, client_name: str) -> None:
    clock = Clock()
    limiter = RateLimiter(redis_url, clock=clock)
    small, large = quota("1/second", 1), quota("100/second", 100)

    assert limiter.hit("events", client_name, small).allowed
    assert not limiter.hit("events", client_name, small).allowed

    assert limiter.hit("events", f"{client_name}-other", small).allowed
    assert limiter.hit("events", client_name, large).allowed  # its quota was raised
