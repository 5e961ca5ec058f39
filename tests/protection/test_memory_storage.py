"""The in-process rate-limit storage (`throttling.memory`): no thread is started per hit, and
counters of clients that went quiet are still swept."""

from __future__ import annotations

import threading
import time

from catalog_gateway.throttling.limiter import RateLimiter, quota
from catalog_gateway.throttling.memory import InProcessStorage


def test_a_flood_of_hits_starts_no_thread() -> None:
    limiter = RateLimiter()
    allowance = quota("5/second", 5)
    limiter.hit("events", "warm-up", allowance)
    time.sleep(0.05)  # the storage's first timer (started by its constructor) has run
    started_before = threading.active_count()
    threads_seen = set()

    for n in range(300):
        limiter.hit("events", "flood", allowance)
        if n % 30 == 0:
            time.sleep(0.012)  # longer than limits' 10 ms timer: it would start again
        threads_seen.update(t.ident for t in threading.enumerate())

    assert isinstance(limiter.storage, InProcessStorage)
    assert threading.active_count() == started_before
    assert threads_seen == {t.ident for t in threading.enumerate()}


def test_the_counts_still_limit_and_expire() -> None:
    limiter = RateLimiter()
    allowance = quota("3/second", 3)

    decisions = [limiter.hit("events", "client", allowance).allowed for _ in range(4)]

    assert decisions == [True, True, True, False]


def test_quiet_clients_are_swept_inline() -> None:
    storage = InProcessStorage(sweep_seconds=0.05)
    storage.incr("quiet", expiry=0.01)
    assert "quiet" in storage.storage
    time.sleep(0.06)  # expired, and a sweep is due

    storage.incr("busy", expiry=10)

    assert "quiet" not in storage.storage
    assert storage.storage["busy"] == 1
