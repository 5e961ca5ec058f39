"""Per-client rate limits (the `limits` library), in process or shared through Redis.

A source has a rate (`50/second`) and a burst (`100`). `limits` counts requests in windows, so
a rate and a burst become one sliding window that holds `burst` requests and refills at the
rate: 50/second with a burst of 100 is 100 requests per 2 seconds. A burst smaller than one
second's worth of the rate cannot be expressed (windows are whole seconds) and has no effect.

Shared through Redis, a source's limit holds across every process. While Redis fails, each
process counts in its own memory (see `shared_state`): the limit then holds per process, and
no request is refused or failed because the counter could not be reached.

A refusal from Redis is remembered in the process for `window / requests` (the time the window
takes to free one request on average), at most `REFUSAL_MEMO_SECONDS`: a flood is refused from
memory, without two Redis round trips per request on the event loop. The limit is never
exceeded by it; for that short time, it may refuse a request Redis would have let through.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from catalog_gateway.shared_state import REDIS_FAILURES, Outage, client_options
from catalog_gateway.throttling.memory import InProcessStorage


@dataclass(frozen=True, slots=True)
class Quota:
    """How many requests a window holds, and how long the window is, in seconds."""

    requests: int
    window: int

    @property
    def item(self) -> RateLimitItem:
        """The `limits` item for this quota."""
        return _item(self.requests, self.window)


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request may go on, and what to tell the client about its quota."""

    allowed: bool
    quota: Quota
    remaining: int
    reset_after: int
    policy: str

    def headers(self) -> dict[str, str]:
        """`RateLimit-Policy` and `RateLimit` (IETF httpapi ratelimit-headers draft, structured
        fields), and `Retry-After` when refused."""
        headers = {
            "RateLimit-Policy": f'"{self.policy}";q={self.quota.requests};w={self.quota.window}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_after}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_after))
        return headers


@lru_cache(maxsize=1024)
def quota(rate: str, burst: int) -> Quota:
    """The window that allows `rate` on average and `burst` at once."""
    item = parse(rate)
    per_second = item.amount / item.get_expiry()
    window = max(1, math.ceil(burst / per_second))
    return Quota(requests=max(burst, round(per_second * window)), window=window)


REFUSAL_MEMO_SECONDS = 0.1
"""The longest a process answers a client's refusals from memory before asking Redis again."""
_MAX_REFUSALS = 10_000  # remembered at once; expired ones are dropped past it


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A refusal from the shared storage, answered again until `until` (monotonic seconds)."""

    until: float
    cost: int
    decision: Decision


class RateLimiter:
    """Counts requests per client in a storage shared by every process that uses it."""

    def __init__(
        self, storage_uri: str | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.storage_uri = storage_uri or "memory://"
        shared = not self.storage_uri.startswith("memory://")
        options = client_options() if self.storage_uri.startswith("redis") else {}
        self.storage = (
            storage_from_string(self.storage_uri, **options) if shared else InProcessStorage()
        )
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        # Counts of this process alone, used while the shared storage fails.
        self._local = SlidingWindowCounterRateLimiter(InProcessStorage()) if shared else None
        self.outage = Outage("rate limits")
        self._clock = clock
        self._refused: dict[tuple[str, str, Quota], _Refusal] = {}

    def hit(self, policy: str, client: str, allowance: Quota, cost: int = 1) -> Decision:
        """Count `cost` requests of `client` under `policy`, unless that would exceed it."""
        if self._local is None:
            return self._hit(self.strategy, policy, client, allowance, cost)
        key = (policy, client, allowance)
        refused = self._refused.get(key)
        if refused is not None and cost >= refused.cost and self._clock() < refused.until:
            return refused.decision
        if self.outage.redis_usable():
            try:
                decision = self._hit(self.strategy, policy, client, allowance, cost)
            except REDIS_FAILURES as error:
                self.outage.failed(error)
            else:
                self.outage.succeeded()
                self._remember(key, cost, decision)
                return decision
        return self._hit(self._local, policy, client, allowance, cost)

    def _remember(self, key: tuple[str, str, Quota], cost: int, decision: Decision) -> None:
        if decision.allowed:
            self._refused.pop(key, None)
            return
        now = self._clock()
        if len(self._refused) >= _MAX_REFUSALS:  # many clients refused once: forget the past
            for old, refusal in list(self._refused.items()):
                if refusal.until <= now:
                    self._refused.pop(old, None)
            if len(self._refused) >= _MAX_REFUSALS:  # all still fresh: Redis will be asked
                self._refused.clear()
        quota_ = decision.quota
        memo = min(REFUSAL_MEMO_SECONDS, quota_.window / quota_.requests)
        self._refused[key] = _Refusal(now + memo, cost, decision)

    @staticmethod
    def _hit(
        strategy: SlidingWindowCounterRateLimiter,
        policy: str,
        client: str,
        allowance: Quota,
        cost: int,
    ) -> Decision:
        item = allowance.item
        allowed = strategy.hit(item, policy, client, cost=cost)
        stats = strategy.get_window_stats(item, policy, client)
        reset_after = max(0, math.ceil(stats.reset_time - time.time()))
        return Decision(allowed, allowance, max(0, stats.remaining), reset_after, policy)

    def reset(self) -> None:
        """Forget every count (tests, and `sources update` needs no reset)."""
        self._refused.clear()
        self.storage.reset()
        if self._local is not None:
            self._local.storage.reset()


@lru_cache(maxsize=1024)
def _item(requests: int, window: int) -> RateLimitItem:
    return RateLimitItemPerSecond(requests, window)
