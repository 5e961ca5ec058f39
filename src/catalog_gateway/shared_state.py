"""Redis, through which the server processes share state (rate-limit counters, the ecommerce
breaker, key revocations), and what each of those parts does while Redis fails.

Redis makes several processes behave as one; it must never be the reason a request fails.
Each part that uses it falls back to what its own process knows (its own counters, its own
breaker, its cache's time to live), logs one warning, and tries Redis again `RETRY_SECONDS`
later. An outage then costs each part of each process one failed Redis call per interval: no
error answered to a client, and no request waiting on a dead Redis's timeouts one after the
other.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import redis
import structlog
from redis.backoff import NoBackoff
from redis.retry import Retry

_log = structlog.get_logger(__name__)

REDIS_FAILURES: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
"""What a Redis call raises when Redis is down, unreachable or too slow."""

RETRY_SECONDS = 5.0
"""How long a part that saw Redis fail uses its own process's state before trying again."""


def client_options() -> dict[str, Any]:
    """Options of every Redis client of the gateway: short timeouts and a single retry (a
    pooled connection that Redis closed is reconnected once). Redis answers in well under a
    millisecond when it is up; when it is not, the caller falls back instead of waiting."""
    return {
        "socket_connect_timeout": 0.5,
        "socket_timeout": 0.5,
        "retry": Retry(NoBackoff(), 1),
    }


def redis_client(url: str, **options: Any) -> redis.Redis:
    """A client of the Redis at `url`, with `client_options()` (and `options` on top)."""
    return redis.Redis.from_url(url, **(client_options() | options))


class Outage:
    """Whether one part may use Redis now, and one log line when Redis fails or comes back.

    After a failure the part is told to use its own state for `retry_seconds`; the first call
    after that tries Redis again. Thread-safe: request threads share one instance per part.
    """

    def __init__(self, part: str, retry_seconds: float = RETRY_SECONDS) -> None:
        self.part = part
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._until = 0.0
        self._down = False

    @property
    def down(self) -> bool:
        """True from a failure until Redis answers again."""
        return self._down

    def redis_usable(self) -> bool:
        """False while the part should not even try Redis."""
        return time.monotonic() >= self._until

    def failed(self, error: BaseException) -> None:
        """Redis failed: use local state for a while; warn once per outage."""
        with self._lock:
            self._until = time.monotonic() + self.retry_seconds
            first = not self._down
            self._down = True
        if first:
            _log.warning(
                "shared_state_unavailable",
                part=self.part,
                error=str(error) or type(error).__name__,
                fallback="this process's own state",
                retry_seconds=self.retry_seconds,
            )

    def succeeded(self) -> None:
        """Redis answered: shared state again (said once, when it had failed)."""
        if not self._down:
            return
        with self._lock:
            was_down, self._down = self._down, False
        if was_down:
            _log.info("shared_state_restored", part=self.part)
