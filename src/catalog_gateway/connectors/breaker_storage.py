"""Where a circuit breaker keeps its state: in Redis, shared by every server process, and in the
process's own memory while Redis fails.

Shared, the breaker opens for every process at once: after `fail_max` failures counted across
all of them, no process keeps sending events to a dead downstream, and each answers the same
`Retry-After` (derived from the one `opened_at` in Redis, so hosts' clocks must agree, as NTP
makes them). The state itself is pybreaker's own `CircuitRedisStorage`, with its key layout.

That storage catches every Redis error itself, logs it with a traceback and answers as if the
breaker were closed with no failure counted: during an outage the breaker could then never
open. So its client here raises `SharedStateUnavailableError` (not a `RedisError`, which it
would swallow) and `FallbackBreakerStorage` answers from a `CircuitMemoryStorage` instead, as
the breaker did before it was shared. When Redis is back, the shared state applies again;
what the process counted alone meanwhile is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import pybreaker
import redis

from catalog_gateway.shared_state import REDIS_FAILURES, Outage, client_options

T = TypeVar("T")
_Storage = pybreaker.CircuitBreakerStorage


class SharedStateUnavailableError(Exception):
    """A Redis call failed; raised instead of the `RedisError` pybreaker would hide."""


class _UnhiddenRedis(redis.Redis):
    """A Redis client whose failures pybreaker's storage lets through (see the module)."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except REDIS_FAILURES as error:
            raise SharedStateUnavailableError(str(error)) from error

    def transaction(self, func: Any, *watches: Any, **kwargs: Any) -> Any:
        try:
            return super().transaction(func, *watches, **kwargs)
        except REDIS_FAILURES as error:
            raise SharedStateUnavailableError(str(error)) from error


def namespace_for(name: str, downstream_url: str) -> str:
    """The Redis namespace of the breaker guarding `downstream_url`.

    Keyed by the downstream, not by this deployment: every gateway process calling the same
    ecommerce system shares its breaker, and one calling another system (a staging gateway,
    a test's own reference server) never shares it. Hashed, so no URL is spelt out in Redis.
    """
    digest = hashlib.sha256(downstream_url.rstrip("/").encode()).hexdigest()[:16]
    return f"catalog_gateway:breaker:{name}:{digest}"


class FallbackBreakerStorage(_Storage):
    """pybreaker's Redis storage while Redis answers; this process's memory while it fails."""

    def __init__(self, redis_url: str, namespace: str, outage: Outage | None = None) -> None:
        super().__init__("redis")
        self.namespace = namespace
        self.outage = outage or Outage(f"breaker {namespace}")
        self._client = _UnhiddenRedis.from_url(redis_url, **client_options())
        self._shared: pybreaker.CircuitRedisStorage | None = None
        self.local = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)

    def close(self) -> None:
        """Close the Redis connections."""
        self._client.close()

    def _use(self, shared: Callable[[_Storage], T], local: Callable[[_Storage], T]) -> T:
        if self.outage.redis_usable():
            try:
                if self._shared is None:  # its constructor writes the initial state to Redis
                    self._shared = pybreaker.CircuitRedisStorage(
                        pybreaker.STATE_CLOSED, self._client, namespace=self.namespace
                    )
                result = shared(self._shared)
            except SharedStateUnavailableError as error:
                self.outage.failed(error)
            else:
                self.outage.succeeded()
                return result
        return local(self.local)

    def _do(self, action: Callable[[_Storage], None]) -> None:
        self._use(action, action)

    @property
    def state(self) -> str:
        return self._use(_state, _state)

    @state.setter
    def state(self, state: str) -> None:
        def assign(storage: _Storage) -> None:
            storage.state = state

        self._do(assign)

    def increment_counter(self) -> None:
        self._do(lambda storage: storage.increment_counter())

    def reset_counter(self) -> None:
        self._do(lambda storage: storage.reset_counter())

    def increment_success_counter(self) -> None:
        self._do(lambda storage: storage.increment_success_counter())

    def reset_success_counter(self) -> None:
        self._do(lambda storage: storage.reset_success_counter())

    @property
    def counter(self) -> int:
        return self._use(_counter, _counter)

    @property
    def success_counter(self) -> int:
        return self._use(_success_counter, _success_counter)

    @property
    def opened_at(self) -> datetime | None:
        return self._use(_opened_at, _opened_at)

    @opened_at.setter
    def opened_at(self, moment: datetime) -> None:
        def assign(storage: _Storage) -> None:
            storage.opened_at = moment

        self._do(assign)


def _state(storage: _Storage) -> str:
    return storage.state


def _counter(storage: _Storage) -> int:
    return storage.counter


def _success_counter(storage: _Storage) -> int:
    return storage.success_counter


def _opened_at(storage: _Storage) -> datetime | None:
    return storage.opened_at
